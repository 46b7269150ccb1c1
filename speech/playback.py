"""Where the robot's voice goes: the sound card, a WAV file, or an audio topic.

Audio is written in short blocks so a stop request (barge-in) takes effect within one
block; sinks that are not a real device are paced to real time by the player, so the
simulator hears the robot for as long as a customer would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

BLOCK_S = 0.02


class Sink(Protocol):
    paced: bool  # True when writing blocks by itself (a sound card) like real time

    def write(self, block: np.ndarray, rate: int) -> None: ...

    def close(self) -> None: ...


class SoundDeviceSink:
    """PortAudio output through ``sounddevice`` (blocking writes pace the player)."""

    paced = True

    def __init__(self, device: str | int | None = None) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise RuntimeError("no sound output: install sounddevice and the PortAudio "
                               f"library (apt-get install libportaudio2): {exc}") from exc
        self._sd = sounddevice
        self.device = device
        self._stream = None
        self._rate = 0

    def write(self, block: np.ndarray, rate: int) -> None:
        if self._stream is None or rate != self._rate:
            self.close()
            self._stream = self._sd.OutputStream(samplerate=rate, channels=1, dtype="float32",
                                                 device=self.device)
            self._stream.start()
            self._rate = rate
        self._stream.write(np.ascontiguousarray(block, np.float32).reshape(-1, 1))

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


class WavSink:
    """Everything said, appended to one WAV file (the ``tts`` command; debugging)."""

    paced = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._blocks: list[np.ndarray] = []
        self.rate = 0

    def write(self, block: np.ndarray, rate: int) -> None:
        if self.rate and rate != self.rate:
            import soxr

            block = soxr.resample(block, rate, self.rate).astype(np.float32)
        self.rate = self.rate or rate
        self._blocks.append(block.copy())

    def close(self) -> None:
        from .audio import write_wav

        audio = np.concatenate(self._blocks) if self._blocks else np.zeros(0, np.float32)
        write_wav(self.path, audio, self.rate or 22050)


class CallbackSink:
    """Blocks handed to a function: the audio topic publisher, or a test's recorder."""

    def __init__(self, callback: Callable[[np.ndarray, int], None], paced: bool = False) -> None:
        self.callback = callback
        self.paced = paced

    def write(self, block: np.ndarray, rate: int) -> None:
        self.callback(block, rate)

    def close(self) -> None:
        pass


class Player:
    """Plays arrays block by block until done or stopped; one utterance at a time."""

    def __init__(self, sink: Sink, realtime: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sink = sink
        self.realtime = realtime and not sink.paced
        self.clock = clock
        self._stop = threading.Event()
        self.played_s = 0.0

    def stop(self) -> None:
        self._stop.set()

    def reset(self) -> None:
        self._stop.clear()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def play(self, audio: np.ndarray, rate: int) -> bool:
        """False when stopped part way. Blocks of BLOCK_S keep a stop within ~20 ms."""
        step = max(1, int(rate * BLOCK_S))
        started = self.clock()
        for i in range(0, len(audio), step):
            if self._stop.is_set():
                return False
            self.sink.write(audio[i:i + step], rate)
            self.played_s += min(step, len(audio) - i) / rate
            if self.realtime:
                ahead = (i + step) / rate - (self.clock() - started)
                if ahead > BLOCK_S:  # keep about one block queued, like a sound card
                    self._stop.wait(ahead - BLOCK_S)
        return not self._stop.is_set()
