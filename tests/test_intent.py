"""The intent model: its labels, its data, INT8 fidelity, calibration and the nlu command."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from dialog.data.build_dataset import normalise, read_seeds
from dialog.intent.model import MODEL_DIR, IntentModel, ModelMissing
from dialog.intent.train import load_rows

REPO = Path(__file__).resolve().parents[1]
SHARED_INTENTS = REPO.parent / "shared" / "intents.md"
ROWS = load_rows()


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return IntentModel()


def test_labels_are_exactly_the_shared_taxonomy(model):
    if not SHARED_INTENTS.exists():
        pytest.skip("shared/intents.md not next to this checkout")
    table = re.findall(r"^\| ([a-z_]+) \|", SHARED_INTENTS.read_text(encoding="utf-8"), re.M)
    shared = {label for label in table if label != "label"}
    assert set(model.labels) == shared
    assert {r["label"] for r in ROWS} == shared


def test_dataset_has_150_distinct_utterances_per_label_in_both_languages():
    by_label: dict[str, set[str]] = defaultdict(set)
    langs: dict[str, set[str]] = defaultdict(set)
    for row in ROWS:
        by_label[row["label"]].add(normalise(row["text"]))
        langs[row["label"]].add(row["lang"])
    assert len(by_label) == 26
    assert min(len(v) for v in by_label.values()) >= 150
    assert all(v == {"zh", "en"} for v in langs.values())
    kinds = Counter(r["kind"] for r in ROWS)
    for kind in ("polite", "elderly", "code_mixed", "asr_homophone", "typo"):
        assert kinds[kind] >= 100, kind


def test_no_utterance_or_core_crosses_splits():
    split_of_text: dict[str, str] = {}
    split_of_core: dict[str, str] = {}
    for row in ROWS:
        key = normalise(row["text"])
        assert split_of_text.setdefault(key, row["split"]) == row["split"], row["text"]
        assert split_of_core.setdefault(row["core"], row["split"]) == row["split"], row["core"]
    assert Counter(split_of_core.values())["test"] > 100


def test_public_corpus_only_teaches_out_of_scope_and_stays_out_of_dev_and_test():
    """The ChatterBot chit-chat lines are out-of-scope training data: none may be a banking
    request, and none may leak a dev/test wording (dev and test measure unseen wording)."""
    corpus = [r for r in ROWS if r["kind"] == "corpus"]
    assert len(corpus) > 300 and {r["lang"] for r in corpus} == {"zh", "en"}
    assert all(r["split"] == "train" and r["label"] == "out_of_scope" for r in corpus)
    held_out = {normalise(r["text"]) for r in ROWS if r["split"] != "train"}
    assert not any(normalise(r["text"]) in held_out for r in corpus)
    assert not any(re.search(r"bank|card|loan|银行|卡|贷", r["text"].lower()) for r in corpus)


def test_cores_written_after_the_split_froze_teach_from_train_only():
    """seeds_train.tsv widens the training wording without touching dev and test: every
    variant of its cores is in train, and none repeats a held-out utterance or holds one
    as a large part of itself (held-out figures must stay about unseen wording)."""
    extra = {core for _, _, core in read_seeds("seeds_train.tsv")} - {
        core for _, _, core in read_seeds()}
    rows = [r for r in ROWS if r["core"] in extra]
    assert len({r["core"] for r in rows}) > 200 and len(rows) > 1000
    assert all(r["split"] == "train" for r in rows)
    held_out = {normalise(r["text"]) for r in ROWS if r["split"] != "train"}
    for row in rows:
        key = normalise(row["text"])
        assert key not in held_out, row["text"]
        leaked = [k for k in held_out if k in key and 3 * len(k) >= len(key)]
        assert not leaked, (row["text"], leaked)


def test_int8_model_agrees_with_the_training_framework(model):
    recorded = json.loads((MODEL_DIR / "test_predictions.json").read_text(encoding="utf-8"))
    test = [r["text"] for r in ROWS if r["split"] == "test"]
    assert [r["text"] for r in recorded] == test, "model and dataset are out of step"
    logits = model.logits(test)
    agree = np.mean([model.labels[i] == r["torch"] for i, r in zip(logits.argmax(1), recorded,
                                                                    strict=True)])
    assert agree >= 0.99


def test_confidence_is_calibrated_on_unseen_wording(model):
    test = [r for r in ROWS if r["split"] == "test"]
    probs = model.probabilities([r["text"] for r in test])
    confidence = probs.max(1)
    correct = np.array([model.labels[i] == r["label"] for i, r in zip(probs.argmax(1), test,
                                                                       strict=True)])
    ece = 0.0
    for lo in np.arange(0, 1, 0.1):
        members = (confidence > lo) & (confidence <= lo + 0.1)
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    assert ece <= 0.1
    assert correct.mean() >= 0.7  # held-out wording: a floor, the benchmark reports the figure


@pytest.mark.parametrize("text, label", [
    ("我的卡丢了", "card_lost"), ("can I take out 3000 dollars", "cash_withdrawal"),
    ("今天天气怎么样", "out_of_scope"), ("还要等多久", "queue_status"),
    ("I want to file a complaint", "complaint"), ("对", "affirm"),
])
def test_examples_from_the_taxonomy(model, text, label):
    assert model.predict(text).label == label


def test_missing_model_names_the_fix(tmp_path):
    with pytest.raises(ModelMissing, match="make train-intent"):
        IntentModel(tmp_path)


def test_missing_piece_table_names_the_fix(tmp_path):
    import shutil

    for name in ("intent.int8.onnx", "intent.json", "domain_words.txt"):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    with pytest.raises(ModelMissing, match="sentence_vocab.npz.*make train-intent"):
        IntentModel(tmp_path)


@pytest.mark.parametrize("text, label", [
    # Typed with slips: the spelling repair hands the encoder the words meant.
    ("I'd like to aply for a morgage", "loan"), ("my debti card was stolne", "card_lost"),
    ("wher is the restrom", "branch_info"), ("I forgot my passwrod for the app", "online_banking"),
    # Wording the seeds never use, in both languages.
    ("could somebody from the staff come and help me", "human_agent"),
    ("我想把闲钱拿去买点稳妥的产品", "wealth_management"),
    ("gibberish like flurb wozzle prang", "out_of_scope"),
    # Currencies a branch is asked for now and then (the training gazetteer knows ~35).
    ("下周去越南，要换点越南盾", "foreign_exchange"), ("do you exchange Indonesian rupiah",
                                                        "foreign_exchange"),
    ("我有一些迪拉姆想换回人民币", "foreign_exchange"),
])
def test_unseen_wording_and_typos(model, text, label):
    assert model.predict(text).label == label


def test_spelling_repair_prefers_branch_words():
    from dialog.intent.spelling import SpellingFixer

    fixer = SpellingFixer({"card": 40, "debit": 12, "loan": 30})
    assert fixer.fix("my deit cadr") == "my debit card"
    assert fixer.fix("a laon for 3000 yuan, 谢谢") == "a loan for 3000 yuan, 谢谢"
    assert fixer.fix("ATM wechat alipay") == "ATM wechat alipay"  # unknown but not a typo


def test_spelling_repair_catches_typos_that_spell_a_rare_word():
    """A dropped letter often leaves a real but rare word: "ned", "hone". Those go back to
    the branch word; common words, contractions and acronyms stay as typed."""
    from dialog.intent.spelling import SpellingFixer

    fixer = SpellingFixer({"need": 40, "phone": 12, "card": 30, "that": 20, "are": 9,
                           "have": 15, "sign": 3})
    assert fixer.fix("I ned a new hone card") == "I need a new phone card"
    assert fixer.fix("I hae lost it") == "I have lost it"
    assert fixer.fix("can I chat with someone") == "can I chat with someone"  # chat: common
    assert fixer.fix("they aren't open, I sing") == "they aren't open, I sing"
    assert fixer.fix("the CEO said") == "the CEO said"


def test_spelling_repair_weighs_the_kind_of_slip():
    """Of the branch words one edit away, the one a typist more likely meant wins, even
    against a more frequent one: a left-out letter or a neighbouring key, not a far key."""
    from dialog.intent.spelling import SpellingFixer

    fixer = SpellingFixer({"that": 40, "thank": 10, "the": 90, "take": 12, "loan": 8,
                           "lion": 30})
    assert fixer.fix("thak you") == "thank you"  # n left out; "that" would be k for t
    assert fixer.fix("how long does it tke") == "how long does it take"  # not "the"
    assert fixer.fix("a laon") == "a loan"  # two letters swapped; "lion" is i for a


def test_nlu_command_prints_intent_and_slots():
    result = run_cli("nlu", "我要取五万", "what's the euro rate today")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["intent"] == "cash_withdrawal" and lines[0]["language"] == "zh"
    assert {"name": "amount", "value": "50000", "normalized": "50000"} in lines[0]["slots"]
    assert lines[1]["intent"] == "foreign_exchange"
    assert 0 < lines[1]["confidence"] <= 1 and len(lines[1]["top"]) == 3


def test_nlu_reads_stdin_and_survives_bad_input():
    import subprocess
    import sys

    bad = ("\n".join(["", "   ", "😀😀😀", "\x00\x07\x1b[31m", "取钱" * 5000, "我的卡丢了"])
           .encode("utf-8") + b"\n\xff\xfe not utf-8\n")
    result = subprocess.run([sys.executable, "-m", "lobbybot", "nlu"], input=bad,
                            capture_output=True, timeout=60, cwd=REPO)
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [line.get("intent") for line in lines[:4]] == ["out_of_scope"] * 4
    assert lines[4]["intent"] == "cash_withdrawal"  # 10 kB of text: still an answer
    assert lines[5]["intent"] == "card_lost"
    assert lines[6] == {"line": 7, "error": "not valid UTF-8"}
    assert result.returncode == 1 and b"Traceback" not in result.stderr


def test_out_of_scope_threshold_keeps_the_products_operating_point():
    """Dev's best-accuracy cut may turn too few out-of-scope requests away; the chosen cut
    must reach the recall goal while in-scope accuracy holds, and fall back when it cannot."""
    from dialog.intent import operating_point

    oos = 2
    # 40 in-scope answers (90 % confident, right) and 10 out-of-scope requests the model
    # wrongly puts in scope with 40-60 % confidence.
    probs = np.zeros((50, 3), dtype=np.float32)
    probs[:40, 0], probs[:40, 1] = 0.9, 0.1
    confidence = np.linspace(0.4, 0.6, 10)
    probs[40:, 1], probs[40:, 0] = confidence, 1 - confidence - 0.01
    probs[40:, 2] = 0.01
    gold = np.array([0] * 40 + [oos] * 10)
    point = operating_point.choose(probs, gold, oos)
    assert point.meets_goal and point.out_of_scope_recall >= operating_point.RECALL_GOAL
    assert point.in_scope_accuracy == 1.0 and 0.55 <= point.threshold <= 0.9
    # In-scope answers at 50 % confidence: catching out-of-scope requests would cost them,
    # so no cut meets the goal and the best accuracy wins.
    probs[:40, 0], probs[:40, 1] = 0.5, 0.49
    fallback = operating_point.choose(probs, gold, oos)
    assert not fallback.meets_goal
    assert fallback.accuracy == max(operating_point.measure(probs, gold, oos, t).accuracy
                                    for t in operating_point.CANDIDATES)


def test_training_stops_and_picks_the_fewest_epochs_dev_cannot_tell_apart():
    """A dev curve that creeps up by less than its own noise must not keep the fit going
    (a 15-epoch fit chosen that way was more confident and worse held out); a real gain
    must."""
    from dialog.intent.train import chosen_epochs, stalled

    n_dev = 2000  # one standard error at 94 % is 0.53 points
    creeping = [0.916, 0.929, 0.933, 0.937, 0.938, 0.940, 0.939, 0.942, 0.942]
    stop = next(i for i in range(1, len(creeping) + 1) if stalled(creeping[:i], n_dev))
    assert stop == 8
    assert chosen_epochs(creeping[:stop], n_dev) == 4  # 0.937 is within 0.53 of 0.942
    rising = [0.90, 0.91, 0.92, 0.93, 0.94, 0.95]
    assert not any(stalled(rising[:i], n_dev) for i in range(1, 7))
    assert chosen_epochs(rising, n_dev) == 6
