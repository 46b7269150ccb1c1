"""Synthetic customers' voices: speech for the benchmark test set and the simulator.

A voice spec is ``piper:VOICE[:LENGTH_SCALE]`` or ``espeak-ng:VOICE[:WPM]``; the result is
16 kHz mono float32, what a microphone would hand the listener. :func:`mix_at_snr` adds
babble or noise at a chosen signal-to-noise ratio.
"""

from __future__ import annotations

import functools

import numpy as np

from .audio import to_mono_16k
from .tts import EspeakVoice, PiperVoice

VOICES = {
    "en": ("piper:en_US-joe-medium:1.0", "piper:en_US-joe-medium:0.85",
           "piper:en_US-joe-medium:1.2", "espeak-ng:en-us:160", "espeak-ng:en-gb+f3:150",
           "espeak-ng:en-us+m3:185"),
    "zh": ("espeak-ng:cmn-latn-pinyin:150", "espeak-ng:cmn-latn-pinyin+f2:170",
           "espeak-ng:cmn-latn-pinyin+m3:135", "espeak-ng:cmn-latn-pinyin+f4:185"),
}


@functools.lru_cache(maxsize=16)
def _voice(spec: str):
    engine, name, *rest = spec.split(":")
    if engine == "piper":
        return PiperVoice(name, length_scale=float(rest[0]) if rest else None)
    if engine == "espeak-ng":
        return EspeakVoice(name, words_per_minute=int(rest[0]) if rest else 165)
    raise ValueError(f"unknown voice spec {spec!r} (piper:VOICE[:SCALE] or espeak-ng:VOICE[:WPM])")


def speak(text: str, spec: str, level_dbfs: float = -20.0) -> np.ndarray:
    """``text`` in voice ``spec`` as 16 kHz mono, normalised to ``level_dbfs`` RMS."""
    voice = _voice(spec)
    audio = to_mono_16k(voice.synthesize(text), voice.rate)
    return set_level(audio, level_dbfs)


def set_level(audio: np.ndarray, level_dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(audio)))) if audio.size else 0.0
    if rms < 1e-6:
        return audio
    return (audio * (10 ** (level_dbfs / 20) / rms)).astype(np.float32)


def babble(pieces: list[np.ndarray], length: int, rng: np.random.Generator) -> np.ndarray:
    """Several voices talking at once (a lobby), looped and offset to ``length`` samples."""
    out = np.zeros(length, np.float32)
    for piece in pieces:
        if not piece.size:
            continue
        reps = int(np.ceil((length + piece.size) / piece.size))
        looped = np.tile(piece, reps)
        start = int(rng.integers(0, piece.size))
        out += looped[start:start + length]
    return out


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Speech plus noise scaled so speech power / noise power is ``snr_db``."""
    noise = noise[:len(speech)]
    p_speech = float(np.mean(np.square(speech)))
    p_noise = float(np.mean(np.square(noise))) or 1e-12
    gain = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    mixed = speech + gain * noise
    peak = float(np.max(np.abs(mixed))) if mixed.size else 0.0
    return (mixed / peak * 0.98).astype(np.float32) if peak > 0.98 else mixed.astype(np.float32)
