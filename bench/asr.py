"""Speech recognition benchmark: accuracy, speed and end-of-speech latency (issue 5).

Test set: ``bench/data/asr_sentences.tsv`` (62 en + 64 zh banking utterances), synthesised
by :mod:`speech.testset` with several voices and speeds (piper joe at three speeds and
three espeak-ng English voices; four espeak-ng Mandarin voices), clean and in lobby babble
at 10 dB SNR. Measured with the default engine (faster-whisper: tiny.en for English,
multilingual base for Chinese, int8, 2 threads):

- en WER clean / babble (targets ≤ 10 % / ≤ 20 %), zh CER clean / babble (target ≤ 15 %);
- language identification in ``auto`` mode on the clean set;
- RTF (compute / audio, target ≤ 0.3);
- the anchor: faster-whisper's stock ``transcribe`` (what Home Assistant's Wyoming
  faster-whisper runs after the endpoint) vs ours, per utterance on the same models;
- end of speech → final transcript: each clean utterance streams through the real
  :class:`speech.listener.Listener` (VAD + speculative finals) with the trailing silence
  paced in real time. ``endpoint_ms`` is VAD endpoint → final (target p50 ≤ 500, p95 ≤ 900);
  ``speech_end_ms`` adds the VAD hangover (time from the customer's last sound).

    python bench/asr.py [--limit N] [--no-latency]      (last line: JSON)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from speech.asr import WhisperRecognizer  # noqa: E402
from speech.audio import RATE  # noqa: E402
from speech.listener import Listener  # noqa: E402
from speech.testset import build, error_rate  # noqa: E402
from speech.vad import FRAME, Segmenter, make_vad  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def accuracy(recognizer: WhisperRecognizer, items, limit: int) -> dict:
    out: dict = {}
    for lang in ("en", "zh"):
        for condition in ("clean", "babble10"):
            chosen = [i for i in items if i.lang == lang and i.condition == condition][:limit]
            refs, hyps, compute, audio_s = [], [], 0.0, 0.0
            for item in chosen:
                result = recognizer.transcribe(item.audio(), lang)
                refs.append(item.text)
                hyps.append(result.text)
                compute += result.compute_s
                audio_s += result.audio_s
            rate = error_rate(refs, hyps, lang)
            key = f"{lang}_{'wer' if lang == 'en' else 'cer'}_{condition}"
            out[key] = round(rate, 3)
            out[f"{lang}_rtf_{condition}"] = round(compute / max(audio_s, 1e-9), 3)
            worst = sorted(zip(refs, hyps, strict=True),
                           key=lambda rh: -error_rate([rh[0]], [rh[1]], lang))[:3]
            print(f"{key}: {rate:.3f} over {len(chosen)}  RTF {compute / audio_s:.3f}  "
                  f"worst: {worst}")
    return out


def language_id(recognizer: WhisperRecognizer, items, limit: int) -> dict:
    right = total = 0
    for lang in ("en", "zh"):
        for item in [i for i in items if i.lang == lang and i.condition == "clean"][:limit]:
            total += 1
            right += recognizer.transcribe(item.audio(), "auto").lang == lang
    print(f"language id (auto): {right}/{total}")
    return {"lid_accuracy": round(right / max(total, 1), 3)}


def latency(recognizer: WhisperRecognizer, items, limit: int) -> dict:
    out: dict = {}
    for lang in ("en", "zh"):
        endpoint, speech_end = [], []
        for item in [i for i in items if i.lang == lang and i.condition == "clean"][:limit]:
            finals = []
            listener = Listener(recognizer, Segmenter(make_vad()),
                                lambda h, f=finals: f.append((h, time.monotonic()))
                                if h.is_final else None, lang=lang)
            speech = item.audio()
            last_sound = int(np.flatnonzero(np.abs(speech) > 0.01)[-1]) + RATE // 50
            audio = np.concatenate([np.zeros(int(0.3 * RATE), np.float32), speech[:last_sound]])
            listener.feed(audio)  # the customer speaking (as fast as the VAD goes)
            spoke_until = time.monotonic()
            silence = np.zeros(FRAME, np.float32)
            for k in range(int(1.5 * RATE / FRAME)):  # then silence, in real time
                listener.feed(silence)
                wait = spoke_until + (k + 1) * FRAME / RATE - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if finals:
                    break
            listener.drain()
            listener.close()
            if finals:
                heard, at = finals[0]
                endpoint.append(heard.endpoint_latency_s * 1000)
                speech_end.append((at - spoke_until) * 1000)
        out[f"{lang}_endpoint_ms_p50"] = round(pct(endpoint, 50))
        out[f"{lang}_endpoint_ms_p95"] = round(pct(endpoint, 95))
        out[f"{lang}_speech_end_ms_p50"] = round(pct(speech_end, 50))
        out[f"{lang}_speech_end_ms_p95"] = round(pct(speech_end, 95))
        print(f"{lang} endpoint→final p50 {pct(endpoint, 50):.0f} ms p95 {pct(endpoint, 95):.0f}"
              f" ms; last sound→final p50 {pct(speech_end, 50):.0f} ms "
              f"(hangover {Segmenter(make_vad()).config.hangover_ms} ms), n={len(endpoint)}")
    return out


def stock_baseline(recognizer: WhisperRecognizer, items, limit: int) -> dict:
    """What Home Assistant's wyoming-faster-whisper does with an utterance: faster-whisper's
    own ``transcribe`` (30 s window, beam 1) after the endpoint, on the same models."""
    out: dict = {}
    for lang in ("en", "zh"):
        model = recognizer.model("en" if lang == "en" else "multi")
        ours, stock = [], []
        for item in [i for i in items if i.lang == lang and i.condition == "clean"][:limit]:
            audio = item.audio()
            started = time.perf_counter()
            segments, _ = model.transcribe(audio, language=lang, beam_size=1)
            list(segments)  # decoding is lazy: run it
            stock.append((time.perf_counter() - started) * 1000)
            ours.append(recognizer.transcribe(audio, lang).compute_s * 1000)
        out[f"{lang}_stock_faster_whisper_ms_p50"] = round(pct(stock, 50))
        out[f"{lang}_ours_ms_p50"] = round(pct(ours, 50))
        print(f"{lang}: faster-whisper transcribe() p50 {pct(stock, 50):.0f} ms vs ours "
              f"{pct(ours, 50):.0f} ms per utterance (n={len(ours)})")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=1000, help="utterances per language/condition")
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    items = build()
    recognizer = WhisperRecognizer(threads=2)
    recognizer.warm_up()
    result: dict = {"bench": "asr", "engine": "whisper", "threads": 2,
                    "utterances": {lang: sum(1 for i in items if i.lang == lang
                                             and i.condition == "clean") for lang in ("en", "zh")}}
    result.update(accuracy(recognizer, items, args.limit))
    result.update(language_id(recognizer, items, min(args.limit, 30)))
    result.update(stock_baseline(recognizer, items, min(args.limit, 20)))
    if not args.no_latency:
        result.update(latency(recognizer, items, args.limit))
    result["rtf_max"] = max(v for k, v in result.items() if "_rtf_" in k)
    result["targets"] = {
        "en_wer_clean": result["en_wer_clean"] <= 0.10,
        "en_wer_babble10": result["en_wer_babble10"] <= 0.20,
        "zh_cer_clean": result["zh_cer_clean"] <= 0.15,
        "rtf": result["rtf_max"] <= 0.3,
    }
    if "en_endpoint_ms_p50" in result:
        result["targets"]["endpoint_latency"] = all(
            result[f"{lang}_endpoint_ms_p50"] <= 500 and result[f"{lang}_endpoint_ms_p95"] <= 900
            for lang in ("en", "zh"))
    result["bench_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
