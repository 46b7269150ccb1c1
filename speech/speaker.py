"""The robot's mouth: a queue of things to say, spoken in order, cut short by barge-in.

Transport-free: the speak node feeds it ``Say`` requests and publishes what it reports.
States match ``lobby_interfaces/msg/TtsStatus``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .playback import Player, Sink
from .tts import VoiceBook, render

log = logging.getLogger(__name__)


class SayState(IntEnum):
    QUEUED = 0
    SPEAKING = 1
    DONE = 2
    INTERRUPTED = 3
    FAILED = 4


@dataclass
class SayRequest:
    say_id: str
    text: str
    lang: str = "en"
    interruptible: bool = True
    session_id: str = ""


StatusCallback = Callable[[str, SayState, str], None]


class Speaker:
    """Speaks requests one after another on its own thread."""

    def __init__(self, book: VoiceBook, sink: Sink, on_status: StatusCallback,
                 realtime: bool = True) -> None:
        self.book = book
        self.player = Player(sink, realtime=realtime)
        self.on_status = on_status
        self._queue: queue.Queue[SayRequest | None] = queue.Queue()
        self._current: SayRequest | None = None
        self._lock = threading.Lock()
        self.level_dbfs = -120.0  # loudness of the block being played (echo reference)
        self.first_audio_s: list[float] = []  # Say received -> first block out, per Say
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()

    @property
    def speaking(self) -> SayRequest | None:
        return self._current

    def say(self, request: SayRequest) -> None:
        if not request.text.strip():
            self.on_status(request.say_id, SayState.FAILED, "empty text")
            return
        request_time = time.monotonic()
        self._queue.put(request)
        request._received = request_time  # type: ignore[attr-defined]
        self.on_status(request.say_id, SayState.QUEUED, "")

    def barge_in(self, detail: str = "customer speech") -> bool:
        """Stop an interruptible utterance and drop the queued ones (they answer stale turns).

        Returns False when nothing interruptible was playing (a safety notice goes on).
        """
        with self._lock:
            current = self._current
            if current is None or not current.interruptible:
                return False
            self.player.stop()
            dropped: list[SayRequest] = []
            keep: list[SayRequest] = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    keep.append(item)  # type: ignore[arg-type]
                elif item.interruptible:
                    dropped.append(item)
                else:
                    keep.append(item)
            for item in keep:
                self._queue.put(item)
        for item in dropped:
            self.on_status(item.say_id, SayState.INTERRUPTED, f"dropped: {detail}")
        self._interrupt_detail = detail
        return True

    def close(self, timeout: float = 2.0) -> None:
        self.player.stop()
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            request = self._queue.get()
            if request is None:
                return
            with self._lock:
                self._current = request
                self.player.reset()
                self._interrupt_detail = ""
            try:
                state, detail = self._speak(request)
            except Exception as exc:  # a broken voice fails this Say, not the speaker
                log.exception("speaking %s failed", request.say_id)
                state, detail = SayState.FAILED, f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._current = None
                self.level_dbfs = -120.0
            self.on_status(request.say_id, state, detail)

    def _speak(self, request: SayRequest) -> tuple[SayState, str]:
        started = False
        for piece in render(self.book, request.text, request.lang):
            if self.player.stopped:
                break
            if not started:
                started = True
                received = getattr(request, "_received", time.monotonic())
                self.first_audio_s.append(time.monotonic() - received)
                self.on_status(request.say_id, SayState.SPEAKING, piece.sentence)
            self.level_dbfs = _level(piece.audio)
            if not self.player.play(piece.audio, piece.rate):
                break
        if self.player.stopped:
            return SayState.INTERRUPTED, self._interrupt_detail or "stopped"
        return SayState.DONE, ""


def _level(audio: np.ndarray) -> float:
    from .audio import rms_dbfs

    voiced = audio[np.abs(audio) > 0.01]
    return rms_dbfs(voiced if voiced.size else audio)
