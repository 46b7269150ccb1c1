"""Audio in the one shape the speech stack uses: float32 mono at 16 kHz, in memory.

Files (WAV/FLAC/OGG via libsndfile), ``AudioChunk`` messages (s16le/f32le, any rate and
channel count) and raw arrays (int8/16/32, float) all land here; soxr resamples. Anything
that is not audio gets an :class:`AudioError` that says what is wrong with it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

RATE = 16000


class AudioError(ValueError):
    """Input that cannot be turned into audio (empty, corrupt, unknown encoding)."""


def to_float(samples: np.ndarray) -> np.ndarray:
    """Any integer or float PCM as float32 in [-1, 1] (8-bit WAV is unsigned)."""
    samples = np.asarray(samples)
    if samples.dtype == np.uint8:
        return (samples.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(samples.dtype, np.integer):
        scale = float(2 ** (8 * samples.dtype.itemsize - 1))
        return (samples.astype(np.float64) / scale).astype(np.float32)
    if np.issubdtype(samples.dtype, np.floating):
        out = samples.astype(np.float32, copy=False)
        if not np.all(np.isfinite(out)):
            raise AudioError("audio contains NaN or infinite samples")
        return out
    raise AudioError(f"unsupported sample type {samples.dtype}")


def to_mono_16k(samples: np.ndarray, rate: int, channels: int | None = None) -> np.ndarray:
    """Down-mix and resample to the ASR's 16 kHz mono float32.

    ``samples`` is (frames,) or (frames, channels); a flat interleaved array needs
    ``channels``.
    """
    if rate <= 0:
        raise AudioError(f"invalid sample rate {rate}")
    audio = to_float(samples)
    if audio.ndim == 1 and channels and channels > 1:
        if audio.size % channels:
            raise AudioError(f"{audio.size} samples do not split into {channels} channels")
        audio = audio.reshape(-1, channels)
    if audio.ndim == 2:
        audio = audio.mean(axis=1, dtype=np.float32)
    if rate != RATE and audio.size:
        import soxr

        audio = soxr.resample(audio, rate, RATE).astype(np.float32, copy=False)
    return np.ascontiguousarray(audio, dtype=np.float32)


def load_audio(source: str | Path | bytes) -> np.ndarray:
    """A WAV/FLAC/OGG file (or its bytes) as 16 kHz mono float32.

    A truncated file yields the samples that are there; a file with none is an error.
    """
    import soundfile as sf

    name = "<bytes>" if isinstance(source, bytes) else str(source)
    if not isinstance(source, bytes):
        path = Path(source)
        if not path.is_file():
            raise AudioError(f"{name}: no such file")
        if path.stat().st_size == 0:
            raise AudioError(f"{name}: empty file (0 bytes)")
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else str(source)
        data, rate = sf.read(handle, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{name}: not a readable audio file ({exc})") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{name}: the file holds no audio samples (truncated?)")
    return to_mono_16k(data, int(rate))


def decode_chunk(data: bytes, encoding: str, rate: int, channels: int) -> np.ndarray:
    """The samples of an ``AudioChunk`` message as 16 kHz mono float32."""
    dtypes = {"s16le": "<i2", "f32le": "<f4"}
    if encoding not in dtypes:
        raise AudioError(f"unknown audio encoding {encoding!r} (expected s16le or f32le)")
    if channels < 1:
        raise AudioError(f"invalid channel count {channels}")
    width = np.dtype(dtypes[encoding]).itemsize
    if len(data) % (width * channels):
        raise AudioError(f"{len(data)} bytes is not a whole number of {encoding} "
                         f"frames of {channels} channel(s)")
    samples = np.frombuffer(bytes(data), dtype=dtypes[encoding])
    return to_mono_16k(samples, rate, channels)


def encode_s16le(audio: np.ndarray) -> bytes:
    """Float audio as little-endian 16-bit PCM bytes (clipped, not wrapped)."""
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def write_wav(path: str | Path, audio: np.ndarray, rate: int) -> None:
    """16-bit PCM WAV: what players and the ``tts`` command's users expect."""
    import soundfile as sf

    sf.write(str(path), np.clip(audio, -1.0, 1.0), rate, subtype="PCM_16")


def rms_dbfs(audio: np.ndarray) -> float:
    """Loudness of a block in dB relative to full scale (-120 for silence)."""
    if audio.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 20.0 * np.log10(max(rms, 1e-6))
