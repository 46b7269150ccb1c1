"""Intent model benchmark: accuracy on the held-out test split and latency per utterance.

The test split holds utterances built from cores the model never saw in training (split by
core, see dialog/data/DATASHEET.md). Reported: accuracy (all, per language, per kind of
variation), out-of-scope precision/recall, macro F1, and classification latency p50/p95 on
one thread (features + INT8 ONNX), the calibration error of the confidence (ECE), and the
English spelling repair on its own: of the words a typo variant changed, how many it
restores, and how many words of clean English text it changes (should be none).
Last line: JSON.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialog.intent.model import MODEL_DIR, OUT_OF_SCOPE, IntentModel  # noqa: E402
from dialog.intent.spelling import SpellingFixer  # noqa: E402
from dialog.intent.train import load_rows  # noqa: E402


def expected_calibration_error(confidence, correct, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by size."""
    total, n = 0.0, len(correct)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidence) if lo < c <= hi]
        if members:
            acc = sum(correct[i] for i in members) / len(members)
            conf = sum(float(confidence[i]) for i in members) / len(members)
            total += len(members) / n * abs(acc - conf)
    return total


def spelling_figures(rows: list[dict]) -> dict:
    """Typo words restored / left / changed into another word, and clean words changed."""
    fixer = SpellingFixer.from_file(MODEL_DIR / "domain_words.txt")
    restored = left = wrong = clean = changed = 0
    for row in rows:
        if row["lang"] != "en" or "{amt}" in row["core"]:
            continue
        core = set(re.findall(r"[a-z']+", row["core"].lower()))  # "i'd" is one word
        for word, fixed in zip(row["text"].split(), fixer.fix(row["text"]).split(),
                               strict=True):
            word, fixed = (re.sub(r"[^a-z']", "", w.lower()) for w in (word, fixed))
            if len(word) < 3:
                continue
            if row["kind"] != "typo":
                clean += 1
                changed += fixed != word
            elif word not in core:  # the word the typo changed
                restored += fixed in core
                left += fixed == word
                wrong += fixed not in core and fixed != word
    typos = max(1, restored + left + wrong)
    return {"typo_words": typos, "restored": round(restored / typos, 4),
            "left": round(left / typos, 4), "changed_wrongly": round(wrong / typos, 4),
            "clean_words": clean, "clean_changed": round(changed / max(1, clean), 4)}


def main() -> None:
    model = IntentModel()
    test = [r for r in load_rows() if r["split"] == "test"]
    latencies, hits = [], defaultdict(lambda: [0, 0])
    pairs = []
    for row in test:
        t0 = time.perf_counter()
        prediction = model.predict(row["text"])
        latencies.append((time.perf_counter() - t0) * 1000)
        ok = prediction.label == row["label"]
        pairs.append((row["label"], prediction.label))
        for key in ("all", f"lang:{row['lang']}", f"kind:{row['kind']}"):
            hits[key][0] += ok
            hits[key][1] += 1
    labels = sorted({g for g, _ in pairs})
    f1s = []
    for label in labels:
        tp = sum(1 for g, p in pairs if g == p == label)
        fp = sum(1 for g, p in pairs if p == label and g != label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        f1s.append(2 * tp / max(1, 2 * tp + fp + fn))
    in_scope = [(g, p) for g, p in pairs if g != OUT_OF_SCOPE]
    meta = json.loads((MODEL_DIR / "intent.json").read_text(encoding="utf-8"))["metrics"]
    oos_tp = sum(1 for g, p in pairs if g == p == OUT_OF_SCOPE)
    oos_pred = sum(1 for _, p in pairs if p == OUT_OF_SCOPE)
    oos_true = sum(1 for g, _ in pairs if g == OUT_OF_SCOPE)
    latencies.sort()
    probs = model.probabilities([r["text"] for r in test])
    result_ece = expected_calibration_error(
        probs.max(1), [model.labels[i] == r["label"] for i, r in zip(probs.argmax(1), test,
                                                                      strict=True)])
    result = {
        "bench": "nlu", "test_utterances": len(test),
        "accuracy": {k: round(a / n, 4) for k, (a, n) in sorted(hits.items())},
        "in_scope_accuracy": round(sum(g == p for g, p in in_scope) / len(in_scope), 4),
        "macro_f1": round(statistics.fmean(f1s), 4),
        # Everything the model reads: the INT8 network and its 4-bit piece table.
        "model_mb": round(sum((MODEL_DIR / name).stat().st_size for name in
                              ("intent.int8.onnx", "sentence_vocab.npz")) / 2**20, 2),
        "int8_minus_fp32_points": round(100 * (meta["test_accuracy_int8"] -
                                               meta["test_accuracy_torch"]), 2),
        "calibration_ece": round(result_ece, 4),
        "out_of_scope": {"precision": round(oos_tp / max(1, oos_pred), 4),
                         "recall": round(oos_tp / max(1, oos_true), 4)},
        "latency_ms": {"p50": round(statistics.median(latencies), 3),
                       "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 3)},
        "spelling": spelling_figures(test),
    }
    acc = result["accuracy"]
    print(f"intent accuracy {acc['all']:.3f} (zh {acc['lang:zh']:.3f}, en {acc['lang:en']:.3f}), "
          f"macro F1 {result['macro_f1']:.3f}, latency p50 {result['latency_ms']['p50']} ms "
          f"p95 {result['latency_ms']['p95']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
