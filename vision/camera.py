"""Camera input: still images, video files, devices and network streams through OpenCV.

:class:`Camera` keeps a live source going: a device that disappears (unplugged, stream
dropped) is reported once and reopened with exponential backoff; empty or undecodable frames
are skipped and counted, never passed on. :func:`read_frames` serves the CLI and benchmarks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .frames import FrameError, to_bgr

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}
log = logging.getLogger("lobbybot/vision/camera")


class SourceError(OSError):
    """The source cannot be opened or read at all (missing file, not an image or video)."""


def _spec(source: str) -> int | str:
    return int(source) if source.isdigit() else source


def read_frames(source: str) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, timestamp_s, BGR frame) from an image file or a video; errors name the file."""
    path = Path(source)
    if not source.isdigit() and "://" not in source:
        if not path.exists():
            raise SourceError(f"{source}: no such file")
        if path.stat().st_size == 0:
            raise SourceError(f"{source}: empty file")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        frame = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if frame is None:
            raise SourceError(f"{source}: cannot decode the image (corrupt or not an image)")
        yield 0, 0.0, to_bgr(frame)
        return
    capture = cv2.VideoCapture(_spec(source))
    if not capture.isOpened():
        raise SourceError(f"{source}: cannot open as video or camera")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    fps = fps if 1.0 <= fps <= 240.0 else 30.0
    index, bad = 0, 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            try:
                yield index, index / fps, to_bgr(frame)
            except FrameError:
                bad += 1
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise SourceError(f"{source}: no decodable frame")


@dataclass
class CameraStats:
    frames: int = 0
    bad_frames: int = 0
    reopens: int = 0
    connected: bool = False
    last_error: str = ""
    errors: list[str] = field(default_factory=list)


class Camera:
    """A live source that survives disconnection: ``read()`` returns a frame or ``None``."""

    def __init__(self, source: str, backoff_s: float = 0.5, max_backoff_s: float = 10.0,
                 opener: Callable[[int | str], cv2.VideoCapture] = cv2.VideoCapture,
                 clock: Callable[[], float] = time.monotonic):
        self.source = source
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.opener = opener
        self.clock = clock
        self.stats = CameraStats()
        self._capture: cv2.VideoCapture | None = None
        self._retry_at = 0.0
        self._delay = backoff_s

    def _open(self) -> bool:
        if self.clock() < self._retry_at:
            return False
        capture = self.opener(_spec(self.source))
        if capture is not None and capture.isOpened():
            if self.stats.reopens or self.stats.last_error:
                log.info("camera %s is back", self.source)
            self._capture, self._delay = capture, self.backoff_s
            self.stats.connected = True
            return True
        self._lost(f"cannot open camera {self.source}")
        return False

    def _lost(self, why: str) -> None:
        if self.stats.connected or not self.stats.last_error:
            log.warning("%s; retrying every ≤ %.0f s", why, self.max_backoff_s)
        self.stats.connected = False
        self.stats.last_error = why
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        self.stats.reopens += 1
        self._retry_at = self.clock() + self._delay
        self._delay = min(self.max_backoff_s, self._delay * 2)

    def read(self) -> np.ndarray | None:
        if self._capture is None and not self._open():
            return None
        ok, frame = self._capture.read()
        if not ok:
            self._lost(f"camera {self.source} stopped delivering frames")
            return None
        try:
            bgr = to_bgr(frame)
        except FrameError as exc:
            self.stats.bad_frames += 1
            self.stats.last_error = str(exc)
            return None
        self.stats.frames += 1
        return bgr

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
