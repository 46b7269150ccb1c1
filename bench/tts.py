"""Speaking benchmark: time to first audio, real-time factor, and barge-in stop time (issue 5).

1. Time to first audio for two-sentence replies (what the dialog says), per language,
   voices warm: the Speaker renders sentence by sentence, so the first block goes out when
   the first sentence is ready (target p50 ≤ 250 ms). RTF = render time / audio length
   (target ≤ 0.2).
2. Barge-in: the speak and listen nodes on the in-process bus, the robot talking to
   ``/audio/out``, a synthesised customer starting to speak into ``/audio/in`` in real
   time; measured from the customer's first voiced sample to the robot's last audio block
   (target ≤ 150 ms).

    python bench/tts.py [--trials N]      (last line: JSON)
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from speech.playback import CallbackSink  # noqa: E402
from speech.speaker import SayRequest, SayState, Speaker  # noqa: E402
from speech.tts import VoiceBook, split_sentences  # noqa: E402

REPLIES = {
    "en": ["Good morning, welcome to the branch. How can I help you today?",
           "Your ticket is A012. Please wait at counter three, about five minutes.",
           "I can help with that. Please take a seat and a teller will call you.",
           "Sorry, I did not catch that. Could you say it again?",
           "Counter two handles foreign exchange. It is on your left."],
    "zh": ["您好，欢迎光临。请问您要办理什么业务？",
           "您的号码是A012。请到三号窗口等候，大约五分钟。",
           "好的，我来帮您。请先坐一下，柜员会叫您的号。",
           "不好意思，我没听清。您能再说一遍吗？",
           "外汇在二号窗口办理。就在您的左手边。"],
}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def first_audio(book: VoiceBook, rounds: int) -> dict:
    out: dict = {}
    for lang, replies in REPLIES.items():
        firsts: list[float] = []
        compute = audio_s = 0.0
        for _ in range(rounds):
            for text in replies:
                assert len(split_sentences(text)) == 2, text
                got = threading.Event()
                done = threading.Event()
                speaker = Speaker(book, CallbackSink(lambda b, r, g=got: g.set()),
                                  lambda _id, state, _d, d=done: d.set()
                                  if state >= SayState.DONE else None, realtime=False)
                started = time.perf_counter()
                speaker.say(SayRequest("b", text, lang))
                got.wait(10)
                firsts.append((time.perf_counter() - started) * 1000)
                done.wait(30)
                compute += time.perf_counter() - started
                audio_s += speaker.player.played_s
                speaker.close()
        out[f"{lang}_first_audio_ms_p50"] = round(pct(firsts, 50))
        out[f"{lang}_first_audio_ms_p95"] = round(pct(firsts, 95))
        out[f"{lang}_rtf"] = round(compute / audio_s, 3)
        out[f"{lang}_voice"] = book.voice(lang).name
        print(f"{lang} ({book.voice(lang).name}): first audio p50 {pct(firsts, 50):.0f} ms, "
              f"p95 {pct(firsts, 95):.0f} ms, RTF {compute / audio_s:.3f}")
    return out


def barge_in(trials: int) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    from test_speech import _Graph, _silence  # the same harness the test uses

    from lobbybot.contracts import msg
    from speech.audio import RATE
    from speech.voices import speak

    customer = speak("Excuse me, I need to open an account.", "piper:en_US-joe-medium:1.0")
    voiced = int(np.flatnonzero(np.abs(customer) > 0.02)[0])
    stops: list[float] = []
    graph = _Graph()
    try:
        for k in range(trials):
            graph.played.clear()
            graph.statuses.clear()
            graph.say.publish(msg.Say(say_id=f"b{k}", text="Our branch offers savings "
                                      "accounts, loans and foreign exchange. Please tell me "
                                      "what you need today.", language="en",
                                      interruptible=True))
            graph.wait(lambda: graph.played, 10)
            graph.play_into_mic(_silence(0.3 + 0.1 * (k % 4)))
            started = graph.play_into_mic(np.concatenate([customer, _silence(1.0)]))
            graph.wait(lambda k=k: any(m.say_id == f"b{k}" and m.state >= 2
                                       for _, m in graph.statuses), 5)
            stops.append((max(t for t, _ in graph.played) - (started + voiced / RATE)) * 1000)
            graph.play_into_mic(_silence(1.0))
    finally:
        graph.close()
    print(f"barge-in: playback stopped p50 {pct(stops, 50):.0f} ms, max {max(stops):.0f} ms "
          f"after the customer's first sound (n={len(stops)})")
    return {"barge_in_stop_ms_p50": round(pct(stops, 50)),
            "barge_in_stop_ms_max": round(max(stops))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the replies")
    parser.add_argument("--trials", type=int, default=10, help="barge-in trials")
    args = parser.parse_args()
    book = VoiceBook()
    for lang in REPLIES:  # warm: load the voices and run them once
        book.voice(lang).synthesize(REPLIES[lang][0])
    result: dict = {"bench": "tts"}
    result.update(first_audio(book, args.rounds))
    result.update(barge_in(args.trials))
    result["targets"] = {
        "first_audio": all(result[f"{lang}_first_audio_ms_p50"] <= 250 for lang in REPLIES),
        "rtf": all(result[f"{lang}_rtf"] <= 0.2 for lang in REPLIES),
        "barge_in": result["barge_in_stop_ms_max"] <= 150,
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
