"""The fraud guard's data: project-written scam and ordinary utterances, plus the intent set.

``dialog/data/fraud/risky.tsv`` holds scam utterances grouped by *script* (one victim's
story); ``ordinary.tsv`` holds hard negatives in the same form. Whole scripts are held out
for the test split, so the benchmark asks about stories the guard never saw. Every intent
utterance is an ordinary request: its train split trains, its dev split sets the
thresholds, its test split measures false alarms.
"""

from __future__ import annotations

import csv
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "fraud"
INTENTS = Path(__file__).resolve().parents[1] / "data" / "intents.jsonl"
NONE = "none"
CATEGORIES = ("safe_account", "impersonation", "investment", "task_scam", "refund",
              "loan_fee", "romance", "secrecy", "on_phone", "remote_app", "urgent_stranger",
              "victim_report")
TEST_SHARE = 30  # percent of scripts held out


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # a category, or "none"
    lang: str
    split: str  # train | dev | test
    source: str  # risky | ordinary | intent
    group: str  # script (fraud files) or core (intent set)


def script_split(script: str) -> str:
    """Stable split of a script by its id: the same on every machine and run."""
    return "test" if zlib.crc32(script.encode("utf-8")) % 100 < TEST_SHARE else "train"


def _tsv(path: Path, source: str) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    out = []
    for line, row in enumerate(rows, start=2):
        label = row["category"] if source == "risky" else NONE
        if source == "risky" and label not in CATEGORIES:
            raise ValueError(f"{path}:{line}: unknown category {label!r}")
        out.append(Example(row["text"].strip(), label, row["lang"], script_split(row["script"]),
                           source, row["script"]))
    return out


def fraud_examples() -> list[Example]:
    return _tsv(DATA_DIR / "risky.tsv", "risky") + _tsv(DATA_DIR / "ordinary.tsv", "ordinary")


def intent_examples() -> list[Example]:
    rows = [json.loads(line) for line in INTENTS.read_text(encoding="utf-8").splitlines()
            if line]
    return [Example(r["text"], NONE, r["lang"], r["split"], "intent", r["core"]) for r in rows]


def conversations() -> list[dict]:
    import yaml

    return yaml.safe_load((DATA_DIR / "conversations.yaml").read_text(encoding="utf-8"))
