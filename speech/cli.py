"""``lobbybot asr`` and ``lobbybot tts``.

    lobbybot asr FILE [--lang auto|en|zh] [--engine whisper|vosk]
      {"text", "lang", "engine", "audio_s", "compute_s", "confidence", "utterances": [...]}
    lobbybot tts TEXT -o OUT.wav [--lang en|zh]
      {"path", "lang", "voice", "sentences", "audio_s", "compute_s", "first_audio_s"}

The recording is split by the VAD (so an hour of noise stays bounded) and each utterance
recognised; bad input exits 2 with ``{"error": ...}``.
"""

from __future__ import annotations

import argparse
import json
import time


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("asr", help="transcribe a recording (JSON)",
                       description="Transcribe FILE (WAV/FLAC/OGG, any rate, channels or "
                                   "sample format) on the device; prints one JSON object.")
    p.add_argument("file")
    p.add_argument("--lang", choices=("auto", "en", "zh"), default="auto")
    p.add_argument("--engine", choices=("whisper", "vosk"), default="whisper")
    p.add_argument("--model", default="",
                   help="whisper: model dir for --lang (default tiny.en / base); vosk: model "
                        "dir or 'ko' (default ko, the only vosk model shipped in a package)")
    p.add_argument("--grammar", default="",
                   help="vosk: comma-separated phrases the recogniser may only choose from")
    p.add_argument("--threads", type=int, default=2)

    p = sub.add_parser("tts", help="speak text into a WAV file (JSON)",
                       description="Synthesise TEXT with the on-device voice for --lang.")
    p.add_argument("text")
    p.add_argument("-o", "--output", required=True, help="WAV file to write")
    p.add_argument("--lang", choices=("en", "zh"), default="",
                   help="voice language (default: zh if the text has Chinese characters)")


def _error(message: str) -> int:
    print(json.dumps({"error": message}, ensure_ascii=False))
    return 2


def run_asr(args: argparse.Namespace) -> int:
    from .asr import VoskRecognizer, WhisperRecognizer
    from .audio import AudioError, load_audio
    from .listener import listen_to_array
    from .models import ModelMissing
    from .vad import Segmenter, make_vad

    try:
        audio = load_audio(args.file)
        if args.engine == "vosk":
            grammar = [g.strip() for g in args.grammar.split(",") if g.strip()] or None
            recognizer = VoskRecognizer(args.model or "ko", grammar=grammar)
        else:
            names = {}
            if args.model:
                names = {"en_model": args.model} if args.lang == "en" else {
                    "multilingual_model": args.model}
            recognizer = WhisperRecognizer(threads=args.threads, **names)
        started = time.perf_counter()
        heard = listen_to_array(recognizer, Segmenter(make_vad()), audio, args.lang)
    except (AudioError, ModelMissing, ValueError) as exc:
        return _error(str(exc))
    compute_s = time.perf_counter() - started
    said = [h for h in heard if h.text]
    joiner = "" if said and all(h.lang == "zh" for h in said) else " "
    langs = [h.lang for h in said]
    print(json.dumps({
        "text": joiner.join(h.text for h in said),
        "lang": max(set(langs), key=langs.count) if langs else (
            args.lang if args.lang != "auto" else ""),
        "engine": recognizer.engine,
        "audio_s": round(len(audio) / 16000, 3),
        "compute_s": round(compute_s, 3),
        "confidence": round(min((h.confidence for h in said), default=0.0), 3),
        "utterances": [{"text": h.text, "lang": h.lang, "start_s": round(h.start_s, 2),
                        "end_s": round(h.end_s, 2), "confidence": round(h.confidence, 3)}
                       for h in said],
    }, ensure_ascii=False))
    return 0


def run_tts(args: argparse.Namespace) -> int:
    from .models import ModelMissing
    from .playback import Player, WavSink
    from .tts import VoiceBook, render

    text = args.text.strip()
    if not text:
        return _error("nothing to say: TEXT is empty")
    lang = args.lang or ("zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en")
    book = VoiceBook()
    sink = WavSink(args.output)
    player = Player(sink, realtime=False)
    started = time.perf_counter()
    first = None
    sentences = 0
    try:
        for piece in render(book, text, lang):
            first = first if first is not None else time.perf_counter() - started
            sentences += 1
            player.play(piece.audio, piece.rate)
        sink.close()
    except (ModelMissing, RuntimeError, OSError) as exc:
        return _error(str(exc))
    voice = book.voice(lang)
    print(json.dumps({
        "path": args.output, "lang": lang, "voice": voice.name, "sentences": sentences,
        "audio_s": round(player.played_s, 3),
        "compute_s": round(time.perf_counter() - started, 3),
        "first_audio_s": round(first or 0.0, 3),
        "fallback": book.fallbacks.get(lang, ""),
    }, ensure_ascii=False))
    return 0
