"""Speech recognition engines behind one interface: audio of one utterance in, text out.

- :class:`WhisperRecognizer` (faster-whisper, CTranslate2 int8 on CPU): English on the
  ``tiny.en`` model, Chinese on the multilingual ``base``; in ``auto`` mode the base model
  picks between the branch's languages only (a robotic or accented voice otherwise comes
  out as Thai or Japanese). Chinese output is converted to Simplified with OpenCC and
  biased towards banking words with a domain prompt.
- :class:`VoskRecognizer` (Kaldi): streaming partials and grammar-constrained recognition
  (yes/no, numbers) with any vosk model directory.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from .audio import RATE
from .models import vosk_model_dir, whisper_model_dir

LANGUAGES = ("zh", "en")

# Decoder prompts. A short generic Mandarin sentence steers base towards Simplified script
# and punctuation; a list of banking words made it copy the list into transcripts (worse CER
# on a dev set drawn from the intent seeds, not the test set).
DOMAIN_PROMPTS = {
    "zh": "以下是普通话的句子。",
    "en": "",
}

_SEP = r"[\s,，、。.?？!！]*"
# Three copies of a short unit, or two of a long one (a sentence said twice is a loop).
_LOOP = re.compile(rf"(.{{2,}}?)(?:{_SEP}\1){{2,}}|(.{{12,}}?)(?:{_SEP}\2)+")
_STUTTER = re.compile(r"(.)\1{4,}")


def _bare(text: str) -> str:
    return re.sub(r"[\s,，、。.?？!！：:]", "", text)


def trim_loops(text: str) -> str:
    """Whisper sometimes loops ("ATM? Where is the nearest ATM? Where…"): keep one pass."""
    text = _STUTTER.sub(r"\1\1", text)
    match = _LOOP.search(text)
    if not match:
        return text.strip()
    unit = match.group(1) or match.group(2)
    rest = text[match.end():].strip(" ,，、。.?？!！")
    if unit.strip(" ,，、。.?？!！").startswith(rest):
        rest = ""  # the loop was cut off mid-way by max_length
    return f"{text[:match.start()]}{unit} {rest}".strip()


@dataclass
class Transcription:
    text: str
    lang: str
    confidence: float
    engine: str
    audio_s: float
    compute_s: float

    def as_dict(self) -> dict:
        out = asdict(self)
        out["confidence"] = round(self.confidence, 3)
        out["audio_s"] = round(self.audio_s, 3)
        out["compute_s"] = round(self.compute_s, 3)
        return out


class Recognizer(Protocol):
    engine: str

    def transcribe(self, audio: np.ndarray, lang: str = "auto", hint: str = ""
                   ) -> Transcription:
        """One utterance of 16 kHz mono float32; ``lang`` is auto, en or zh; ``hint`` the
        conversation's language."""


_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}，。？！、])\s+(?=[{_CJK}])")


class ChineseText:
    """Whisper writes Chinese in Traditional characters with stray spaces: normalise."""

    def __init__(self) -> None:
        try:
            import opencc
        except ImportError:  # pragma: no cover - declared dependency
            opencc = None
        self._t2s = opencc.OpenCC("t2s") if opencc else None

    def __call__(self, text: str) -> str:
        text = text.strip()
        if self._t2s is not None:
            text = self._t2s.convert(text)
        return _SPACE_BETWEEN_CJK.sub("", text)


class WhisperRecognizer:
    """faster-whisper's CTranslate2 models, decoded on the utterance's own length.

    faster-whisper pads every input to whisper's 30 s window, so a 3 s question pays for 30 s
    of encoder. CTranslate2 accepts shorter mel inputs; like whisper.cpp's ``audio_ctx`` we
    encode the utterance plus ``context_pad_s`` of silence, at least ``min_context_s``: a
    10 s context is 3x faster on 2 cores than 30 s and transcribes our English test set
    better (WER 0.04 vs 0.07); much shorter contexts make whisper loop. The multilingual
    model's encoder output serves both language identification and decoding.
    """

    engine = "whisper"
    WINDOW_S = 30.0
    LEAD_S = 0.25
    HINT_PRIOR = 4.0  # odds given to the conversation's language in ``auto`` mode
    UNSURE_SCORE = -1.0  # mean token log-probability below which a second opinion is asked

    def __init__(self, en_model: str = "tiny.en", multilingual_model: str = "base",
                 threads: int = 2, beam_size: int = 1, context_pad_s: float = 2.0,
                 min_context_s: float = 10.0,
                 languages: tuple[str, ...] = LANGUAGES, lid_confident: float = 0.9) -> None:
        self._names = {"en": en_model, "multi": multilingual_model}
        self.threads = threads
        self.beam_size = beam_size
        self.context_pad_s = context_pad_s
        self.min_context_s = min_context_s
        self.languages = languages
        self.lid_confident = lid_confident
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()
        self._zh = ChineseText()

    def model(self, which: str):
        """``en`` or ``multi``; loads (and for base joins) the model the first time."""
        with self._lock:
            if which not in self._models:
                from faster_whisper import WhisperModel

                path = whisper_model_dir(self._names[which])
                self._models[which] = WhisperModel(str(path), device="cpu",
                                                   compute_type="int8",
                                                   cpu_threads=self.threads)
            return self._models[which]

    def warm_up(self, langs: tuple[str, ...] = LANGUAGES) -> None:
        """Load the models and run each once so the first customer does not wait."""
        noise = np.random.default_rng(0).normal(0, 0.01, RATE).astype(np.float32)
        for lang in langs:
            self.transcribe(noise, lang)

    def _encode(self, which: str, audio: np.ndarray):
        import ctranslate2

        wm = self.model(which)
        # A short lead of silence: clipped onsets ("yes") decode far more surely with it.
        audio = np.concatenate([np.zeros(int(self.LEAD_S * RATE), np.float32), audio])
        feats = wm.feature_extractor(audio)
        frames = min(max(feats.shape[1] + int(self.context_pad_s * 100),
                         int(self.min_context_s * 100)), int(self.WINDOW_S * 100))
        padded = np.zeros((1, feats.shape[0], frames), np.float32)
        used = min(frames, feats.shape[1])
        padded[0, :, :used] = feats[:, :used]
        return wm, wm.model.encode(ctranslate2.StorageView.from_array(padded), to_cpu=False)

    def _decode(self, wm, encoded, lang: str, audio_s: float,
                use_prompt: bool = True) -> tuple[str, float, float]:
        tok = wm.hf_tokenizer
        sot = ["<|startoftranscript|>"]
        if wm.model.is_multilingual:
            sot += [f"<|{lang}|>", "<|transcribe|>"]
        sot.append("<|notimestamps|>")
        ids = [tok.token_to_id(t) for t in sot]
        prompt = DOMAIN_PROMPTS.get(lang, "") if use_prompt else ""
        if prompt:
            context = tok.encode(" " + prompt, add_special_tokens=False).ids[-200:]
            ids = [tok.token_to_id("<|startofprev|>"), *context, *ids]
        result = wm.model.generate(
            encoded, [ids], beam_size=self.beam_size, return_scores=True,
            return_no_speech_prob=True, suppress_blank=True,
            max_length=len(ids) + int(8 * audio_s) + 12)[0]
        text = trim_loops(tok.decode([t for t in result.sequences_ids[0]
                                      if t < tok.token_to_id("<|endoftext|>")]))
        if prompt and _bare(text) and _bare(text) in _bare(prompt):
            # Unclear audio made whisper repeat its prompt: decode again without it.
            return self._decode(wm, encoded, lang, audio_s, use_prompt=False)
        return text, float(result.scores[0]), float(result.no_speech_prob)

    def _languages(self, wm, encoded) -> dict[str, float]:
        probs = dict(wm.model.detect_language(encoded)[0])
        allowed = {lang: probs.get(f"<|{lang}|>", 0.0) for lang in self.languages}
        total = sum(allowed.values()) or 1.0
        return {lang: p / total for lang, p in allowed.items()}

    def _one(self, audio: np.ndarray, lang: str, hint: str = "") -> tuple[str, str, float, float]:
        audio_s = len(audio) / RATE
        candidates = [lang]
        multi = None
        if lang == "auto":
            multi = self._encode("multi", audio)
            shares = self._languages(*multi)
            if hint in shares:  # the conversation's language is the likelier one
                shares[hint] *= self.HINT_PRIOR
                total = sum(shares.values())
                shares = {k: v / total for k, v in shares.items()}
            best = max(shares, key=shares.get)
            # An unsure identification (accents, a robotic voice) decodes both, keeps the surer.
            candidates = [best] if shares[best] >= self.lid_confident else sorted(
                shares, key=shares.get, reverse=True)
        outcomes = []
        for cand in candidates:
            if cand == "en" and self._names["en"]:
                wm, encoded = self._encode("en", audio)
            else:
                wm, encoded = multi if multi is not None else self._encode("multi", audio)
                multi = (wm, encoded)
            text, score, no_speech = self._decode(wm, encoded, cand, audio_s)
            outcomes.append((score, cand, text, no_speech))
            if cand == "en" and self._names["en"] and score < self.UNSURE_SCORE:
                # tiny.en unsure (short words, accents): ask the multilingual model too.
                wm, encoded = multi if multi is not None else self._encode("multi", audio)
                multi = (wm, encoded)
                text, score, no_speech = self._decode(wm, encoded, "en", audio_s)
                outcomes.append((score, "en", text, no_speech))
        score, chosen, text, no_speech = max(outcomes)
        return chosen, text, score, no_speech

    def transcribe(self, audio: np.ndarray, lang: str = "auto", hint: str = ""
                   ) -> Transcription:
        """``hint``: the language the conversation is in (``auto`` leans towards it)."""
        started = time.perf_counter()
        audio = np.asarray(audio, np.float32)
        if lang not in ("auto", "en", "zh"):
            raise ValueError(f"unsupported language {lang!r} (auto, en or zh)")
        piece = int((self.WINDOW_S - self.context_pad_s - 1) * RATE)
        texts, scores, chosen = [], [], lang
        for i in range(0, max(len(audio), 1), piece):
            chunk = audio[i:i + piece]
            if len(chunk) < RATE // 10 and i:
                break
            chosen, text, score, no_speech = self._one(
                chunk, lang if lang != "auto" or not i else chosen, hint)
            if no_speech > 0.6 and score < -0.7:
                continue  # whisper's "Thank you." on a cough or a door
            texts.append(text)
            scores.append(score)
        chosen = "en" if chosen == "auto" else chosen
        text = self._zh("".join(texts)) if chosen == "zh" else " ".join(texts).strip()
        confidence = math.exp(float(np.mean(scores))) if scores else 0.0
        return Transcription(text, chosen, min(1.0, confidence), self.engine,
                             len(audio) / RATE, time.perf_counter() - started)


class VoskRecognizer:
    """Kaldi via vosk: whole utterances, or a :meth:`stream` with partial results."""

    engine = "vosk"

    def __init__(self, model: str = "ko", lang: str = "", grammar: list[str] | None = None
                 ) -> None:
        try:
            import vosk
        except ImportError as exc:
            from .models import ModelMissing

            raise ModelMissing("the vosk engine is not installed: pip install vosk") from exc
        vosk.SetLogLevel(-1)
        self._vosk = vosk
        path = vosk_model_dir(model)
        self.model = vosk.Model(str(path))
        self.lang = lang or ("ko" if model == "ko" else "")
        self.grammar = grammar

    def stream(self, grammar: list[str] | None = None) -> VoskStream:
        return VoskStream(self, grammar if grammar is not None else self.grammar)

    def transcribe(self, audio: np.ndarray, lang: str = "auto", hint: str = ""
                   ) -> Transcription:
        started = time.perf_counter()
        stream = self.stream()
        stream.accept(audio)
        text, confidence = stream.final()
        return Transcription(text, self.lang, confidence, self.engine, len(audio) / RATE,
                             time.perf_counter() - started)


class VoskStream:
    """One utterance fed block by block; ``accept`` returns the running partial text."""

    def __init__(self, recognizer: VoskRecognizer, grammar: list[str] | None) -> None:
        vosk = recognizer._vosk
        if grammar:
            self._rec = vosk.KaldiRecognizer(recognizer.model, RATE, json.dumps(
                list(grammar), ensure_ascii=False))
        else:
            self._rec = vosk.KaldiRecognizer(recognizer.model, RATE)
        self._rec.SetWords(True)
        self._done: list[dict] = []

    def accept(self, audio: np.ndarray) -> str:
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
        if self._rec.AcceptWaveform(pcm):
            self._done.append(json.loads(self._rec.Result()))
            return self._joined()
        partial = json.loads(self._rec.PartialResult()).get("partial", "")
        return " ".join(x for x in (self._joined(), partial) if x)

    def final(self) -> tuple[str, float]:
        self._done.append(json.loads(self._rec.FinalResult()))
        words = [w for r in self._done for w in r.get("result", []) if w.get("word") != "[unk]"]
        confidence = float(np.mean([w.get("conf", 0.0) for w in words])) if words else 0.0
        return self._joined(), confidence

    def _joined(self) -> str:
        texts = [r.get("text", "") for r in self._done]
        return " ".join(t for t in texts if t and t != "[unk]").replace("[unk]", "").strip()


def make_recognizer(engine: str = "whisper", **options) -> Recognizer:
    if engine == "whisper":
        return WhisperRecognizer(**options)
    if engine == "vosk":
        return VoskRecognizer(**options)
    raise ValueError(f"unknown ASR engine {engine!r} (whisper or vosk)")
