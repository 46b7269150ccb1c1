"""Voice activity: where an utterance starts and ends in an endless 16 kHz stream.

The detector is Silero VAD v6 on onnxruntime — the ONNX file faster-whisper ships in its
package, so no torch and no download — or WebRTC VAD (``webrtcvad-wheels``) when that file
is absent. :class:`Segmenter` turns per-frame speech probabilities into utterances with a
pre-roll (the first syllable is not clipped), an end-of-speech hangover, and a hard length
cap so an endless noise never grows memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .audio import RATE

FRAME = 512  # samples per VAD decision: 32 ms at 16 kHz
FRAME_S = FRAME / RATE


class ModelMissing(RuntimeError):
    """A speech model file is absent; the message names the package that ships it."""


class Vad(Protocol):
    name: str

    def probability(self, frame: np.ndarray) -> float:
        """Speech probability of one FRAME-sample float32 frame (stateful, in order)."""

    def reset(self) -> None: ...


def silero_model_path() -> Path:
    try:
        import faster_whisper
    except ImportError as exc:
        raise ModelMissing("Silero VAD ships in the faster-whisper package: "
                           "pip install faster-whisper") from exc
    path = Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"
    if not path.is_file():
        raise ModelMissing(f"{path} is missing: reinstall faster-whisper")
    return path


class SileroVad:
    """Streaming Silero v6: 512 new samples plus 64 of context, LSTM state carried over."""

    name = "silero"
    CONTEXT = 64

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(path or silero_model_path()), opts,
                                             providers=["CPUExecutionProvider"])
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(self.CONTEXT, np.float32)

    def probability(self, frame: np.ndarray) -> float:
        window = np.concatenate([self._context, frame]).reshape(1, -1).astype(np.float32)
        prob, self._h, self._c = self._session.run(
            None, {"input": window, "h": self._h, "c": self._c})
        self._context = frame[-self.CONTEXT:].copy()
        return float(np.asarray(prob).reshape(-1)[0])


class WebRtcVad:
    """WebRTC's GMM VAD as 0/1 per frame (3 sub-frames of 10 ms, majority)."""

    name = "webrtc"

    def __init__(self, aggressiveness: int = 2) -> None:
        try:
            import webrtcvad
        except ImportError as exc:
            raise ModelMissing("no VAD available: pip install faster-whisper "
                               "(Silero) or webrtcvad-wheels") from exc
        self._vad = webrtcvad.Vad(aggressiveness)

    def reset(self) -> None:
        pass

    def probability(self, frame: np.ndarray) -> float:
        pcm = (np.clip(frame, -1, 1) * 32767).astype("<i2")
        step = RATE // 100
        votes = [self._vad.is_speech(pcm[i:i + step].tobytes(), RATE)
                 for i in range(0, step * (len(pcm) // step), step)]
        return float(sum(votes) > len(votes) / 2)


def _level_db(frame: np.ndarray) -> float:
    return 10.0 * float(np.log10(float(np.mean(np.square(frame, dtype=np.float64))) + 1e-12))


def make_vad(name: str = "auto") -> Vad:
    """``silero``, ``webrtc`` or ``auto`` (Silero when its model is installed)."""
    if name in ("auto", "silero"):
        try:
            return SileroVad()
        except ModelMissing:
            if name == "silero":
                raise
    if name in ("auto", "webrtc"):
        return WebRtcVad()
    raise ValueError(f"unknown VAD {name!r} (auto, silero or webrtc)")


@dataclass(frozen=True)
class VadConfig:
    threshold: float = 0.5        # speech probability that counts as voice
    onset_ms: int = 64            # voiced time before an utterance starts (2 frames)
    barge_in_onset_ms: int = 32   # the same while the robot talks: stop it sooner
    preroll_ms: int = 320         # audio kept from before the onset
    hangover_ms: int = 480        # silence that ends an utterance
    min_speech_ms: int = 200      # shorter bursts (a cough, a click) are dropped
    max_utterance_s: float = 15.0  # an utterance is cut here: memory stays bounded
    pause_ms: int = 160           # silence after which a speculative final may start
    # Lobby babble is speech to a VAD: voice only counts this far above the background
    # (the 10th percentile of frame levels over the last 3 s), so an utterance
    # ends when the customer stops even if the room keeps talking. 0 disables.
    above_floor_db: float = 6.0
    floor_window_s: float = 3.0
    # A customer at the robot is louder than the room's talk: an utterance (and its onset)
    # must average this far above the background, else it is someone else's conversation.
    foreground_db: float = 9.0

    def frames(self, ms: float) -> int:
        return max(1, int(round(ms / 1000 / FRAME_S)))


@dataclass
class Event:
    """What the segmenter saw. Times are seconds since the stream started."""

    kind: str  # onset | pause | resume | utterance | dropped
    start_s: float
    end_s: float = 0.0
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    forced: bool = False  # the utterance hit max_utterance_s


class Segmenter:
    """Feeds any-sized blocks, emits :class:`Event`s; keeps at most one utterance of audio."""

    def __init__(self, vad: Vad, config: VadConfig | None = None) -> None:
        self.vad = vad
        self.config = config or VadConfig()
        c = self.config
        self._preroll: deque[np.ndarray] = deque(maxlen=c.frames(c.preroll_ms))
        self._pending = np.zeros(0, np.float32)
        self._frames_seen = 0
        self._voiced_run = 0
        self._silent_run = 0
        self._speech: list[np.ndarray] | None = None
        self._speech_frames = 0
        self._start_frame = 0
        self._paused = False
        self.last_probability = 0.0
        self.robot_speaking = False  # set by the listener: onsets count sooner (barge-in)
        self._levels: deque[float] = deque(maxlen=self.config.frames(
            self.config.floor_window_s * 1000))
        self.floor_db = -120.0
        self._onset_floor = -120.0
        self._run_levels: deque[float] = deque(maxlen=8)
        self._voiced_level_sum = 0.0

    @property
    def in_speech(self) -> bool:
        return self._speech is not None

    @property
    def time_s(self) -> float:
        return self._frames_seen * FRAME_S

    def reset(self) -> None:
        self.vad.reset()
        self._preroll.clear()
        self._speech = None
        self._voiced_run = self._silent_run = 0
        self._paused = False

    def feed(self, audio: np.ndarray) -> list[Event]:
        audio = np.concatenate([self._pending, np.asarray(audio, np.float32)])
        whole = len(audio) // FRAME * FRAME
        self._pending = audio[whole:].copy()
        events: list[Event] = []
        for i in range(0, whole, FRAME):
            events.extend(self._frame(audio[i:i + FRAME]))
        return events

    def flush(self) -> list[Event]:
        """End of stream: a running utterance ends here."""
        if self._speech is None:
            return []
        return self._end(forced=False)

    def _frame(self, frame: np.ndarray) -> list[Event]:
        c = self.config
        p = self.vad.probability(frame)
        self.last_probability = p
        self._frames_seen += 1
        level = _level_db(frame)
        self._levels.append(level)
        if self._frames_seen % 4 == 0 and len(self._levels) >= 8:
            self.floor_db = float(np.percentile(self._levels, 10))
        loud_enough = c.above_floor_db <= 0 or level >= self.floor_db + c.above_floor_db
        voiced = loud_enough and p >= (c.threshold if self._speech is None
                                       else c.threshold - 0.15)
        if self._speech is None:
            self._preroll.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if not voiced:
                self._run_levels.clear()
                return []
            self._run_levels.append(level)
            onset_ms = c.barge_in_onset_ms if self.robot_speaking else c.onset_ms
            if self._voiced_run < c.frames(onset_ms) or max(
                    self._run_levels) < self.floor_db + c.foreground_db:
                return []
            self._onset_floor = self.floor_db
            self._voiced_level_sum = sum(self._run_levels)
            self._run_levels.clear()
            self._speech = list(self._preroll)
            self._preroll.clear()
            self._start_frame = self._frames_seen - len(self._speech)
            self._speech_frames = self._voiced_run
            self._silent_run = 0
            return [Event("onset", self._start_frame * FRAME_S)]
        self._speech.append(frame)
        events: list[Event] = []
        if voiced:
            self._speech_frames += 1
            self._voiced_level_sum += level
            self._silent_run = 0
            if self._paused:
                self._paused = False
                events.append(Event("resume", self._start_frame * FRAME_S))
        else:
            self._silent_run += 1
            if self._silent_run == c.frames(c.pause_ms) and not self._paused:
                self._paused = True
                events.append(Event("pause", self._start_frame * FRAME_S,
                                    self._voiced_end_s(), self._voiced_audio()))
            if self._silent_run >= c.frames(c.hangover_ms):
                return events + self._end(forced=False)
        if len(self._speech) * FRAME_S >= c.max_utterance_s:
            events.extend(self._end(forced=True))
        return events

    def _voiced_end_s(self) -> float:
        return (self._frames_seen - self._silent_run) * FRAME_S

    def _voiced_audio(self) -> np.ndarray:
        assert self._speech is not None
        keep = len(self._speech) - max(0, self._silent_run - 3)  # ~100 ms of tail
        return np.concatenate(self._speech[:keep])

    def _end(self, forced: bool) -> list[Event]:
        c = self.config
        start_s, end_s = self._start_frame * FRAME_S, self._voiced_end_s()
        audio = self._voiced_audio()
        enough = self._speech_frames >= c.frames(c.min_speech_ms)
        mean_level = self._voiced_level_sum / max(self._speech_frames, 1)
        foreground = mean_level >= min(self._onset_floor, self.floor_db) + c.foreground_db
        self._speech = None
        self._voiced_run = self._silent_run = 0
        self._paused = False
        if not (enough and foreground):
            return [Event("dropped", start_s, end_s)]
        return [Event("utterance", start_s, end_s, audio, forced)]
