"""Customers' voices for ``speech: audio`` scenarios: the lobby's microphone signal.

The simulator streams the robot's microphone continuously, a tick at a time: the room's
background (near silence, or lobby babble during a ``noisy_audio`` fault, at the fault's
SNR relative to a customer's voice) with the customers' words mixed in when they speak.
Each customer keeps one voice: the scenario's ``voice``, else one of the language's test
voices chosen by the seed.
"""

from __future__ import annotations

import random
import zlib
from collections import deque

import numpy as np

from speech.audio import RATE
from speech.voices import VOICES, babble, set_level, speak

from .scenario import Customer

VOICE_DBFS = -20.0  # a customer at the robot, as its microphone hears them
ROOM_DBFS = -65.0   # a quiet branch: ventilation hum
# Background talk for the babble: other customers' requests, in both languages.
BABBLE_LINES = ("I would like to check my balance please.", "我想问一下理财产品。",
                "Can I change some money here?", "请问取款在哪个窗口？",
                "How long is the wait today?", "我要办一张新卡。")


class CustomerVoices:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self._rng = np.random.default_rng(seed)
        self._babble: np.ndarray | None = None
        self._babble_pos = 0
        self._pending: deque[np.ndarray] = deque()

    def voice_of(self, customer: Customer) -> str:
        if customer.voice:
            return customer.voice
        voices = VOICES[customer.lang]
        pick = random.Random(self.seed * 7919 + zlib.crc32(customer.id.encode()))
        return voices[pick.randrange(len(voices))]

    def say(self, customer: Customer, text: str) -> float:
        """Queue the customer's words on the microphone; returns their length in seconds."""
        key = (self.voice_of(customer), text)
        if key not in self._cache:
            self._cache[key] = speak(text, key[0], level_dbfs=VOICE_DBFS)
        words = self._cache[key]
        self._pending.append(words)
        return len(words) / RATE

    @property
    def speaking(self) -> bool:
        return bool(self._pending)

    def next_block(self, samples: int, snr_db: float | None) -> np.ndarray:
        """The next ``samples`` of the microphone signal."""
        out = self._background(samples, snr_db)
        filled = 0
        while self._pending and filled < samples:
            words = self._pending[0]
            take = min(samples - filled, len(words))
            out[filled:filled + take] += words[:take]
            filled += take
            if take == len(words):
                self._pending.popleft()
            else:
                self._pending[0] = words[take:]
        peak = float(np.max(np.abs(out))) if out.size else 0.0
        return out / peak * 0.98 if peak > 0.98 else out

    def _background(self, samples: int, snr_db: float | None) -> np.ndarray:
        room = self._rng.normal(0, 10 ** (ROOM_DBFS / 20), samples).astype(np.float32)
        if snr_db is None:
            return room
        track = self._babble_track()
        idx = (self._babble_pos + np.arange(samples)) % len(track)
        self._babble_pos = int((self._babble_pos + samples) % len(track))
        return room + track[idx] * 10 ** (-snr_db / 20)

    def _babble_track(self) -> np.ndarray:
        """20 s of five-voice babble at the customer's level (scaled by the SNR on use)."""
        if self._babble is None:
            pieces = [speak(line, VOICES["zh" if ord(line[0]) > 127 else "en"][k % 3])
                      for k, line in enumerate(BABBLE_LINES)]
            track = babble(pieces, 20 * RATE, np.random.default_rng(self.seed))
            self._babble = set_level(track, VOICE_DBFS)
        return self._babble
