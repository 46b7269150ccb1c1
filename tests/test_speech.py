"""Speech: audio input of every shape, VAD, whisper and vosk, voices, the listen and speak
nodes on the real in-process bus, barge-in with real audio, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lobbybot.contracts import msg
from lobbybot.node.host import NodeProcess
from lobbybot.node.params import ConfigError, RosArgs
from lobbybot.transport.inproc import InProcessBus, InProcessTransport
from speech.audio import RATE, AudioError, decode_chunk, encode_s16le, load_audio
from speech.testset import error_rate
from speech.tts import split_sentences
from speech.vad import Segmenter, VadConfig, make_vad
from speech.voices import speak

REPO = Path(__file__).resolve().parents[1]
EN = "I would like to open a savings account."


@pytest.fixture(scope="module")
def en_speech() -> np.ndarray:
    return speak(EN, "piper:en_US-joe-medium:1.0")


@pytest.fixture(scope="module")
def recognizer():
    from speech.asr import WhisperRecognizer

    r = WhisperRecognizer(threads=2)
    r.warm_up(("en",))
    return r


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


# --- audio in ------------------------------------------------------------------------------
@pytest.mark.parametrize("subtype,rate,channels", [
    ("PCM_16", 44100, 2), ("PCM_U8", 8000, 1), ("PCM_24", 48000, 1), ("PCM_32", 22050, 2),
    ("FLOAT", 32000, 1)])
def test_any_wav_becomes_16k_mono_of_the_same_length(tmp_path, en_speech, subtype, rate,
                                                     channels):
    import soxr

    audio = soxr.resample(en_speech, RATE, rate)
    data = np.stack([audio] * channels, axis=1) if channels > 1 else audio
    path = tmp_path / "in.wav"
    sf.write(path, data, rate, subtype=subtype)
    loaded = load_audio(path)
    assert loaded.dtype == np.float32 and loaded.ndim == 1
    assert abs(len(loaded) - len(en_speech)) < RATE * 0.01
    assert np.corrcoef(loaded[:len(en_speech)], en_speech[:len(loaded)])[0, 1] > 0.9


def test_flac_and_bytes_load(tmp_path, en_speech):
    sf.write(tmp_path / "a.flac", en_speech, RATE)
    assert len(load_audio(tmp_path / "a.flac")) == len(en_speech)
    assert len(load_audio((tmp_path / "a.flac").read_bytes())) == len(en_speech)


def test_bad_files_say_what_is_wrong(tmp_path, en_speech):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="0 bytes"):
        load_audio(empty)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(AudioError, match="not a readable audio file"):
        load_audio(text)
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "missing.wav")
    header_only = tmp_path / "header.wav"
    sf.write(tmp_path / "full.wav", en_speech, RATE, subtype="PCM_16")
    header_only.write_bytes((tmp_path / "full.wav").read_bytes()[:44])
    with pytest.raises(AudioError, match="no audio samples"):
        load_audio(header_only)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes((tmp_path / "full.wav").read_bytes()[:44 + 2 * RATE])
    assert abs(len(load_audio(truncated)) - RATE) < 10  # what is there is kept


def test_audio_chunks_decode_or_explain():
    pcm = encode_s16le(np.full(480, 0.5, np.float32))
    out = decode_chunk(pcm, "s16le", 48000, 1)
    assert len(out) == 160 and abs(float(out[80]) - 0.5) < 0.01
    stereo = np.full(200, 0.25, "<f4").tobytes()
    assert len(decode_chunk(stereo, "f32le", RATE, 2)) == 100
    with pytest.raises(AudioError, match="unknown audio encoding"):
        decode_chunk(pcm, "mp3", RATE, 1)
    with pytest.raises(AudioError, match="whole number"):
        decode_chunk(pcm[:-1], "s16le", RATE, 1)
    with pytest.raises(AudioError, match="sample rate"):
        decode_chunk(pcm, "s16le", 0, 1)


# --- VAD ------------------------------------------------------------------------------------
def test_vad_finds_one_utterance_with_preroll_and_ignores_silence(en_speech):
    seg = Segmenter(make_vad())
    assert seg.feed(_silence(3.0)) == []
    events = seg.feed(np.concatenate([en_speech, _silence(1.0)]))
    kinds = [e.kind for e in events]
    assert kinds[0] == "onset" and kinds[-1] == "utterance" and kinds.count("utterance") == 1
    utterance = events[-1]
    voiced = np.flatnonzero(np.abs(en_speech) > 0.02)
    assert utterance.start_s <= 3.0 + voiced[0] / RATE  # the first syllable is kept
    assert abs(utterance.end_s - (3.0 + voiced[-1] / RATE)) < 0.25


def test_endless_noise_keeps_memory_bounded():
    rng = np.random.default_rng(1)
    config = VadConfig(max_utterance_s=5.0)
    seg = Segmenter(make_vad(), config)
    longest = 0.0
    # Loud babble-like noise (amplitude-modulated) for 3 minutes, in 0.5 s blocks.
    for i in range(360):
        block = rng.normal(0, 0.3, RATE // 2).astype(np.float32) * (1 + np.sin(i))
        for event in seg.feed(block):
            if event.kind == "utterance":
                longest = max(longest, len(event.audio) / RATE)
        assert seg._speech is None or len(seg._speech) * 512 / RATE <= 5.0 + 0.05
    assert longest <= 5.0 + 0.05


# --- ASR ------------------------------------------------------------------------------------
def test_whisper_transcribes_english_from_the_package_model(recognizer, en_speech):
    result = recognizer.transcribe(en_speech, "en")
    assert result.lang == "en" and result.engine == "whisper"
    assert error_rate([EN], [result.text], "en") <= 0.15, result.text
    assert 0 < result.confidence <= 1
    assert recognizer.transcribe(en_speech, "auto").lang == "en"


def test_whisper_writes_chinese_in_simplified_characters(recognizer):
    result = recognizer.transcribe(speak("请问开户去哪个窗口？", "espeak-ng:cmn-latn-pinyin:150"),
                                   "zh")
    assert result.lang == "zh" and result.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result.text)
    import opencc

    assert opencc.OpenCC("t2s").convert(result.text) == result.text  # no Traditional left


def test_silence_gives_no_words(recognizer):
    assert recognizer.transcribe(_silence(2.0), "en").text == ""


def test_vosk_recognises_korean_with_and_without_a_grammar():
    from speech.asr import VoskRecognizer

    audio = speak("안녕하세요", "espeak-ng:ko:150")
    free = VoskRecognizer("ko")
    assert free.transcribe(audio).text  # something Korean comes out of the free decoder
    constrained = VoskRecognizer("ko", grammar=["네", "아니요", "안녕하세요"])
    result = constrained.transcribe(audio)
    assert result.text == "안녕하세요" and result.lang == "ko" and result.confidence > 0.5
    stream = constrained.stream()
    partials = [stream.accept(audio[i:i + 4000]) for i in range(0, len(audio), 4000)]
    assert any(partials) and stream.final()[0] == "안녕하세요"


def test_vosk_without_a_model_names_the_problem(tmp_path):
    from speech.asr import VoskRecognizer
    from speech.models import ModelMissing

    with pytest.raises(ModelMissing, match="not a vosk model directory"):
        VoskRecognizer(str(tmp_path))


# --- TTS ------------------------------------------------------------------------------------
def test_sentences_split_in_both_languages():
    assert split_sentences("Welcome. Please take a ticket. Counter 3 is free!") == [
        "Welcome.", "Please take a ticket.", "Counter 3 is free!"]
    assert split_sentences("OK. Go.") == ["OK. Go."]  # fragments join a neighbour
    assert split_sentences("欢迎光临。请拿好A012号票，到三号窗口。") == [
        "欢迎光临。", "请拿好A012号票，到三号窗口。"]
    assert split_sentences("The rate is 3.5 percent.") == ["The rate is 3.5 percent."]


def test_tts_command_writes_a_wav_for_each_language(tmp_path):
    for text, lang, voice in [("Please go to counter three.", "en", "piper:en_US-joe-medium"),
                              ("请到三号窗口办理。", "zh", "espeak-ng:cmn-latn-pinyin")]:
        out = tmp_path / f"{lang}.wav"
        done = subprocess.run([sys.executable, "-m", "lobbybot", "tts", text, "-o", str(out)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["lang"] == lang and report["voice"] == voice
        with wave.open(str(out)) as w:
            seconds = w.getnframes() / w.getframerate()
        assert 1.0 < seconds < 6.0 and abs(seconds - report["audio_s"]) < 0.05


def test_asr_command_json_and_bad_input(tmp_path, en_speech):
    good = tmp_path / "q.wav"
    sf.write(good, np.concatenate([_silence(0.5), en_speech, _silence(0.5)]), RATE)
    done = subprocess.run([sys.executable, "-m", "lobbybot", "asr", str(good), "--lang", "en"],
                          capture_output=True, text=True, timeout=120, check=False)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and set(report) >= {"text", "lang", "engine", "audio_s",
                                                    "compute_s"}
    assert report["lang"] == "en" and error_rate([EN], [report["text"]], "en") <= 0.15
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "lobbybot", "asr", str(empty)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "0 bytes" in json.loads(done.stdout)["error"]


def test_ten_minutes_of_noise_and_clipped_speech_through_the_asr_command(tmp_path, en_speech):
    rng = np.random.default_rng(7)
    noise = tmp_path / "noise.wav"
    sf.write(noise, rng.normal(0, 0.05, 600 * RATE).astype(np.float32), RATE, subtype="PCM_16")
    # Peak RSS from VmHWM (ru_maxrss would carry over the forking pytest's own peak).
    code = ("import json,re,sys;"
            "from lobbybot.cli import main;rc=main(['asr',sys.argv[1],'--lang','en']);"
            "hwm=re.search(r'VmHWM:\\s+(\\d+)',open('/proc/self/status').read()).group(1);"
            "print(json.dumps({'rss_mb':int(hwm)/1024}))")
    done = subprocess.run([sys.executable, "-c", code, str(noise)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report, rss = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert report["audio_s"] == 600.0 and report["text"] == ""
    assert rss["rss_mb"] < 600  # 10 min of audio is 38 MB as float32: nothing piles up
    clipped = tmp_path / "clipped.wav"
    sf.write(clipped, np.clip(en_speech * 8, -0.5, 0.5), RATE)
    done = subprocess.run([sys.executable, "-m", "lobbybot", "asr", str(clipped), "--lang",
                           "en"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and error_rate([EN], [json.loads(done.stdout)["text"]],
                                               "en") <= 0.3


# --- nodes on the in-process bus ------------------------------------------------------------
class _Graph:
    """listen + speak nodes and a 'world' transport that plays audio into /audio/in."""

    def __init__(self, **listen_params) -> None:
        from speech.node import ListenNode, SpeakNode

        self.bus = InProcessBus()
        self.listen = NodeProcess(ListenNode, InProcessTransport(self.bus, "listen"), RosArgs(
            overrides={"lang": "en", **listen_params}))
        self.speak = NodeProcess(SpeakNode, InProcessTransport(self.bus, "speak"), RosArgs(
            overrides={"output": "topic"}))
        world = InProcessTransport(self.bus, "world")
        self.transcripts: list[tuple[float, msg.Transcript]] = []
        self.statuses: list[tuple[float, msg.TtsStatus]] = []
        self.played: list[tuple[float, int]] = []
        world.create_subscription("/speech/transcript", msg.Transcript,
                                  lambda m: self.transcripts.append((time.monotonic(), m)))
        world.create_subscription("/speech/tts_status", msg.TtsStatus,
                                  lambda m: self.statuses.append((time.monotonic(), m)))
        world.create_subscription("/audio/out", msg.AudioChunk,
                                  lambda m: self.played.append((time.monotonic(), len(m.data))))
        self.mic = world.create_publisher("/audio/in", msg.AudioChunk)
        self.say = world.create_publisher("/speech/say", msg.Say)
        self.stop = threading.Event()
        self.spinner = threading.Thread(target=self.bus.spin, args=(self.stop,), daemon=True)
        self.spinner.start()

    def play_into_mic(self, audio: np.ndarray, block: int = 320, rate: int = RATE) -> float:
        """Publish audio in real time (20 ms chunks); returns the wall time it started."""
        started = time.monotonic()
        for i in range(0, len(audio), block):
            self.mic.publish(msg.AudioChunk(sample_rate=rate, channels=1, encoding="s16le",
                                            data=encode_s16le(audio[i:i + block]), source="sim"))
            wait = started + (i + block) / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        return started

    def wait(self, predicate, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self.stop.set()
        self.spinner.join(2)
        self.listen.close()
        self.speak.close()


@pytest.fixture
def graph():
    g = _Graph()
    yield g
    g.close()


def test_listen_node_publishes_onset_then_final_with_stamps(graph, en_speech):
    graph.play_into_mic(np.concatenate([_silence(0.5), en_speech, _silence(0.8)]))
    assert graph.wait(lambda: any(m.is_final for _, m in graph.transcripts))
    onset = graph.transcripts[0][1]
    final = next(m for _, m in graph.transcripts if m.is_final)
    assert not onset.is_final and onset.text == "" and onset.utterance_id == final.utterance_id
    assert final.language == "en" and final.engine == "whisper" and 0 < final.confidence <= 1
    assert error_rate([EN], [final.text], "en") <= 0.15
    length = (final.end.sec + final.end.nanosec / 1e9) - (
        final.start.sec + final.start.nanosec / 1e9)
    assert abs(length - len(en_speech) / RATE) < 0.6


def test_bad_audio_chunks_are_rejected_and_listening_goes_on(graph, en_speech):
    graph.mic.publish(msg.AudioChunk(sample_rate=0, channels=1, encoding="s16le", data=b"xx"))
    graph.mic.publish(msg.AudioChunk(sample_rate=RATE, channels=1, encoding="s16le",
                                     data=b"\x01"))
    # 48 kHz stereo float from a different microphone works too.
    import soxr

    loud = soxr.resample(np.concatenate([_silence(0.3), en_speech, _silence(0.8)]), RATE, 48000)
    stereo = np.repeat(loud[:, None], 2, axis=1).astype("<f4")
    started = time.monotonic()
    for i in range(0, len(stereo), 960):
        graph.mic.publish(msg.AudioChunk(sample_rate=48000, channels=2, encoding="f32le",
                                         data=stereo[i:i + 960].tobytes()))
        wait = started + (i + 960) / 48000 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    assert graph.wait(lambda: any(m.is_final for _, m in graph.transcripts))
    final = next(m for _, m in graph.transcripts if m.is_final)
    assert error_rate([EN], [final.text], "en") <= 0.15
    assert graph.listen.component.bad_chunks == 2
    assert graph.listen.component.health().level != 2  # not ERROR: it still hears


def test_the_robot_does_not_transcribe_its_own_voice(graph):
    """The robot's voice comes back into the mic at the echo level: no transcript of it."""
    graph.say.publish(msg.Say(say_id="s1", text="Welcome to the branch. Please take a "
                              "ticket and wait for your number.", language="en",
                              interruptible=True))
    assert graph.wait(lambda: graph.played, 10)
    echo = speak("Welcome to the branch. Please take a ticket and wait for your number.",
                 "piper:en_US-joe-medium:1.0", level_dbfs=-20 - 22)
    graph.play_into_mic(np.concatenate([echo, _silence(0.8)]))
    assert graph.wait(lambda: any(m.state == msg.TtsStatus.STATE_DONE
                                  for _, m in graph.statuses), 15)
    assert not any(m.is_final for _, m in graph.transcripts)
    assert graph.listen.component.listener.echo_rejected >= 1


def test_barge_in_stops_playback_within_150_ms_of_speech_onset(graph, en_speech):
    """Customer speech (real audio, at a normal level) while the robot talks: playback stops,
    the Say is reported interrupted, and what the customer said is transcribed."""
    graph.say.publish(msg.Say(say_id="long", text="Our branch offers savings accounts, loans, "
                              "foreign exchange and wealth management. Please tell me what you "
                              "need today and I will find the right counter for you.",
                              language="en", interruptible=True))
    assert graph.wait(lambda: graph.played, 10)
    graph.play_into_mic(_silence(0.6))
    voiced = int(np.flatnonzero(np.abs(en_speech) > 0.02)[0])
    started = graph.play_into_mic(np.concatenate([en_speech, _silence(0.8)]))
    onset = started + voiced / RATE
    assert graph.wait(lambda: any(m.state == msg.TtsStatus.STATE_INTERRUPTED
                                  for _, m in graph.statuses), 5)
    last_block = max(t for t, _ in graph.played)
    stop_ms = (last_block - onset) * 1000
    assert stop_ms <= 150, f"playback went on {stop_ms:.0f} ms after the customer spoke"
    assert graph.wait(lambda: any(m.is_final for _, m in graph.transcripts))
    final = next(m for _, m in graph.transcripts if m.is_final)
    assert error_rate([EN], [final.text], "en") <= 0.2
    assert graph.speak.component.barge_ins == 1


def test_safety_notices_are_not_interrupted(graph, en_speech):
    graph.say.publish(msg.Say(say_id="safety", text="Attention please. The lobby will close "
                              "in five minutes.", language="en", interruptible=False))
    assert graph.wait(lambda: graph.played, 10)
    graph.play_into_mic(np.concatenate([en_speech, _silence(0.5)]))
    assert graph.wait(lambda: any(m.say_id == "safety" and m.state == msg.TtsStatus.STATE_DONE
                                  for _, m in graph.statuses), 15)
    assert not any(m.state == msg.TtsStatus.STATE_INTERRUPTED for _, m in graph.statuses)


def test_missing_models_and_bad_parameters_stop_the_node_with_a_reason(tmp_path):
    from speech.node import ListenNode, SpeakNode

    bus = InProcessBus()
    with pytest.raises(ConfigError, match="not a vosk model directory"):
        NodeProcess(ListenNode, InProcessTransport(bus, "l1"), RosArgs(
            overrides={"engine": "vosk", "vosk_model": str(tmp_path)}))
    with pytest.raises(ConfigError, match="engine must be"):
        NodeProcess(ListenNode, InProcessTransport(bus, "l2"), RosArgs(
            overrides={"engine": "kaldi", "warm_up": False}))
    with pytest.raises(ConfigError, match="output must be"):
        NodeProcess(SpeakNode, InProcessTransport(bus, "s1"), RosArgs(
            overrides={"output": "speakers"}))
