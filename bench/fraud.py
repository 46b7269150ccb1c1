"""Fraud guard benchmark: held-out scam stories, ordinary requests, conversations, latency.

Recall on the scam scripts held out of training (whole stories, both languages); false
alarms on the intent test split (ordinary requests) and on the held-out hard negatives
(ordinary customers whose words look like scams); multi-turn conversations through the
real dialog manager; the guard's own time per utterance (p50, features already computed).
Last line JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialog.fraud import data  # noqa: E402
from dialog.manager import DialogManager, TicketResult  # noqa: E402
from dialog.nlu import NLU  # noqa: E402


def main() -> None:
    nlu = NLU()
    fraud = data.fraud_examples()
    ordinary = [e for e in data.intent_examples() if e.split == "test"]
    held = [e for e in fraud if e.split == "test"]
    result: dict = {}
    for name, rows in (("scam", [e for e in held if e.source == "risky"]),
                       ("hard_negative", [e for e in held if e.source == "ordinary"]),
                       ("intent_test", ordinary)):
        alarms = {"zh": [], "en": []}
        for e in rows:
            alarms[e.lang].append(nlu.understand(e.text).risk.alarming)
        every = alarms["zh"] + alarms["en"]
        key = "recall" if name == "scam" else "false_alarms"
        result[name] = {key: round(sum(every) / len(every), 4), "n": len(every),
                        **{f"{key}_{lang}": round(sum(a) / len(a), 4)
                           for lang, a in alarms.items() if a}}
    alerted = {True: [], False: []}
    for conversation in data.conversations():
        alerts: list = []
        dm = DialogManager(nlu, lambda *a, **k: TicketResult(True, "A001", "c1", 60.0, ""),
                           on_alert=alerts.append)
        for turn in conversation["turns"]:
            dm.on_utterance("s", turn)
        alerted[bool(conversation["risky"])].append(bool(alerts))
    result["conversations"] = {
        "risky_alerted": f"{sum(alerted[True])}/{len(alerted[True])}",
        "ordinary_alerted": f"{sum(alerted[False])}/{len(alerted[False])}"}
    guard, timings = nlu.guard, []
    for e in ordinary[:500]:
        prediction = nlu.model.predict(e.text)
        started = time.perf_counter()
        guard.assess(prediction.sentence, prediction.ngrams)
        timings.append((time.perf_counter() - started) * 1000)
    result["guard_ms_p50"] = round(statistics.median(timings), 3)
    result["targets"] = {"recall": 0.90, "false_alarms": 0.01, "guard_ms_p50": 1.0}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
