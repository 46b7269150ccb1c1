"""The robot's ears: an endless 16 kHz stream in, one transcript per customer utterance out.

Transport-free; the listen node, the CLI and the benchmarks drive it. VAD runs in the
caller's thread (well under a millisecond per 32 ms frame); recognition runs on one worker
thread so audio is never blocked. Two things beyond a plain VAD→ASR chain:

- **Speculative finals.** When the customer has been quiet for ``pause_ms`` the worker
  already transcribes what was said; if they stay quiet until the hangover ends, that
  result is the final, so the final lands almost as soon as the endpoint is decided.
- **Own voice.** While the robot speaks, speech onsets count only when the microphone is
  louder than the robot's expected echo (its playback level + ``echo_return_db``) by
  ``barge_in_margin_db``. Accepted onsets are barge-ins; anything else heard during
  playback is the robot itself and is never transcribed.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .asr import Recognizer, Transcription, VoskRecognizer
from .audio import RATE, rms_dbfs
from .vad import Event, Segmenter

log = logging.getLogger(__name__)


@dataclass
class Heard:
    """A transcript event. Partials have ``is_final`` False; an onset is a partial with no
    text (it is what barge-in listens for)."""

    utterance_id: str
    text: str
    lang: str
    confidence: float
    is_final: bool
    start_s: float
    end_s: float
    engine: str
    endpoint_latency_s: float = 0.0  # endpoint decided -> final ready (wall clock)
    compute_s: float = 0.0


@dataclass
class EchoGate:
    """Tells customer speech from the robot's own voice coming back into the mic."""

    echo_return_db: float = -20.0   # mic level of the robot's voice relative to playback
    barge_in_margin_db: float = 6.0

    def is_customer(self, mic_dbfs: float, playback_dbfs: float) -> bool:
        return mic_dbfs >= playback_dbfs + self.echo_return_db + self.barge_in_margin_db


class Listener:
    def __init__(self, recognizer: Recognizer, segmenter: Segmenter,
                 on_heard: Callable[[Heard], None], lang: str = "auto",
                 echo_gate: EchoGate | None = None, speculative: bool = True,
                 id_prefix: str = "utt", max_pending: int = 8) -> None:
        self.recognizer = recognizer
        self.segmenter = segmenter
        self.on_heard = on_heard
        self.lang = lang
        self.echo_gate = echo_gate or EchoGate()
        self.speculative = speculative and not isinstance(recognizer, VoskRecognizer)
        self._ids = itertools.count(1)
        self._prefix = id_prefix
        self._jobs: queue.Queue = queue.Queue(maxsize=max_pending)
        self._current: str | None = None      # utterance id being spoken
        self._echo = False                      # current onset judged to be the robot
        self._generation = 0                    # bumps when speech resumes after a pause
        self._speculated: dict[str, tuple[int, Transcription]] = {}
        self._recent = deque(maxlen=4)          # last frames' levels, for the echo gate
        self._robot_dbfs: float | None = None   # robot playback level while it speaks
        self.language_hint = ""                 # the conversation's language, if known
        self.dropped_jobs = 0
        self.echo_rejected = 0
        self._worker = threading.Thread(target=self._work, name="asr", daemon=True)
        self._worker.start()

    @property
    def busy(self) -> bool:
        """Recognition queued or running (the simulator holds its clock meanwhile)."""
        return self._jobs.unfinished_tasks > 0

    # --- robot state ---------------------------------------------------------------
    def set_robot_speaking(self, level_dbfs: float | None) -> None:
        """Playback level of the robot's voice while it talks, None when it is quiet."""
        self._robot_dbfs = level_dbfs
        self.segmenter.robot_speaking = level_dbfs is not None

    # --- audio in --------------------------------------------------------------------
    def feed(self, audio: np.ndarray) -> None:
        audio = np.asarray(audio, np.float32)
        self._recent.append(rms_dbfs(audio))
        for event in self.segmenter.feed(audio):
            self._on_event(event)
        if self._current and not self._echo and isinstance(self.recognizer, VoskRecognizer):
            self._submit(("chunk", self._current, audio))

    def flush(self) -> None:
        """End of the stream: finish the utterance in progress."""
        for event in self.segmenter.flush():
            self._on_event(event)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every submitted utterance has been transcribed."""
        done = threading.Event()
        self._jobs.put(("mark", "", done))
        done.wait(timeout)

    def close(self) -> None:
        self._jobs.put(None)
        self._worker.join(5.0)

    def _on_event(self, event: Event) -> None:
        if event.kind == "onset":
            self._current = f"{self._prefix}-{next(self._ids)}"
            mic = max(self._recent) if self._recent else -120.0
            robot = self._robot_dbfs
            self._echo = robot is not None and not self.echo_gate.is_customer(mic, robot)
            if self._echo:
                self.echo_rejected += 1
                return
            self.on_heard(Heard(self._current, "", "", 0.0, False, event.start_s,
                                event.start_s, self.recognizer.engine))
            if isinstance(self.recognizer, VoskRecognizer):
                self._submit(("open", self._current, None))
            return
        utterance, echo = self._current, self._echo
        if utterance is None:
            return
        if event.kind in ("utterance", "dropped"):
            self._current, self._echo = None, False
        if echo:
            return
        if event.kind == "resume":
            self._generation += 1
        elif event.kind == "pause" and self.speculative:
            self._submit(("speculate", utterance, (self._generation, event)), block=False)
        elif event.kind == "utterance":
            self._submit(("final", utterance, (self._generation, event, time.monotonic())))
        elif event.kind == "dropped":
            self._submit(("cancel", utterance, event))

    def _submit(self, job: tuple, block: bool = True) -> None:
        try:
            self._jobs.put(job, block=block, timeout=10.0)
        except queue.Full:
            self.dropped_jobs += 1  # only speculation is dropped; finals wait for room
            if job[0] == "final":
                self._jobs.put(job)

    # --- recognition ---------------------------------------------------------------
    def _work(self) -> None:
        streams: dict[str, object] = {}
        while True:
            job = self._jobs.get()
            if job is None:
                self._jobs.task_done()
                return
            try:
                self._run_job(job, streams)
            finally:
                self._jobs.task_done()

    def _run_job(self, job: tuple, streams: dict) -> None:
        kind, utterance, payload = job
        try:
            if kind == "mark":
                payload.set()
            elif kind == "speculate":
                generation, event = payload
                if generation == self._generation:
                    result = self.recognizer.transcribe(event.audio, self.lang,
                                                        self.language_hint)
                    self._speculated[utterance] = (len(event.audio), result)
            elif kind == "final":
                self._final(utterance, payload, streams)
            elif kind == "open":
                streams[utterance] = self.recognizer.stream()  # type: ignore[attr-defined]
            elif kind == "chunk" and utterance in streams:
                text = streams[utterance].accept(payload)
                if text:
                    self.on_heard(Heard(utterance, text, self.recognizer.lang, 0.0,
                                        False, 0.0, 0.0, self.recognizer.engine))
            elif kind == "cancel":
                streams.pop(utterance, None)
                self._speculated.pop(utterance, None)
        except Exception:  # one bad utterance must not stop the ears
            log.exception("recognition of %s failed", utterance)
            if kind == "final":
                self.on_heard(Heard(utterance, "", "", 0.0, True, 0.0, 0.0,
                                    self.recognizer.engine))

    def _final(self, utterance: str, payload: tuple, streams: dict) -> None:
        generation, event, endpoint_at = payload
        speculated = self._speculated.pop(utterance, None)
        if utterance in streams:
            text, confidence = streams.pop(utterance).final()
            result = Transcription(text, self.recognizer.lang, confidence, "vosk",
                                   event.end_s - event.start_s, 0.0)
        elif speculated and speculated[0] == len(event.audio):
            result = speculated[1]
        else:
            result = self.recognizer.transcribe(event.audio, self.lang, self.language_hint)
        self.on_heard(Heard(utterance, result.text, result.lang, result.confidence, True,
                            event.start_s, event.end_s, result.engine,
                            time.monotonic() - endpoint_at, result.compute_s))


def listen_to_array(recognizer: Recognizer, segmenter: Segmenter, audio: np.ndarray,
                    lang: str = "auto", hint: str = "") -> list[Heard]:
    """Finals of a whole recording (the ``asr`` command, push-to-talk): VAD-split, so hours
    stay bounded. ``hint``: the conversation's language."""
    finals: list[Heard] = []
    listener = Listener(recognizer, segmenter, lambda h: finals.append(h) if h.is_final
                        else None, lang=lang, speculative=False)
    listener.language_hint = hint
    block = RATE // 2
    for i in range(0, len(audio), block):
        listener.feed(audio[i:i + block])
    listener.flush()
    listener.drain(timeout=600.0)
    listener.close()
    return finals
