"""Run time: the fraud risk of an utterance, and of a conversation as it goes on.

The head is one linear layer with a softmax over "none" and the scam categories, read off
the features the intent model computed for the utterance anyway (its unit sentence vector
and hashed n-grams): the guard adds a few microseconds, not a second encoder. Its weights
and thresholds come from ``python -m dialog.fraud.train`` (``model/fraud.npz``,
``model/fraud.json``).

A conversation accumulates evidence: each turn's risk is the chance it belongs to a scam,
and the session's is the chance that any of its turns does (noisy-or), so "我要转账" /
"转八万" / "他说别告诉银行" adds up although no turn alone is certain. When the session asks
to move money, a caution becomes high: that is the moment the money would go.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..intent.model import ModelMissing

MODEL_DIR = Path(__file__).parent / "model"
LEVELS = ("none", "caution", "high")
REASON_MIN = 0.2  # a category this likely is named among the reasons
SESSION_TURNS = 8  # the turns a session's risk remembers
# Requests that move money out: a scam is about to succeed when one of these is asked.
MONEY_INTENTS = frozenset({"transfer", "cash_withdrawal", "wealth_management",
                           "foreign_exchange", "online_banking", "loan", "credit_card"})


class FraudModelMissing(ModelMissing):
    """The guard's weights are absent or do not fit the intent model."""


@dataclass(frozen=True)
class Risk:
    level: str  # none | caution | high
    score: float  # probability that this (utterance or conversation) is a scam
    reasons: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {"level": self.level, "score": round(self.score, 3),
                "reasons": list(self.reasons)}

    @property
    def alarming(self) -> bool:
        return self.level != "none"


NO_RISK = Risk("none", 0.0)


class FraudGuard:
    def __init__(self, model_dir: Path = MODEL_DIR):
        weights, meta = model_dir / "fraud.npz", model_dir / "fraud.json"
        if not weights.exists() or not meta.exists():
            raise FraudModelMissing(f"fraud guard model not found in {model_dir}: run "
                                    "`python -m dialog.fraud.train`")
        info = json.loads(meta.read_text(encoding="utf-8"))
        with np.load(weights) as z:
            self._w = z["weights"].astype(np.float32)
            self._b = z["bias"].astype(np.float32)
        self.labels: list[str] = info["labels"]
        self.sentence_scale = float(info["sentence_scale"])
        self.caution = float(info["thresholds"]["caution"])
        self.high = float(info["thresholds"]["high"])
        self._sentence_dim = int(info["sentence_dim"])
        if self._w.shape != (self._sentence_dim + int(info["ngram_dim"]), len(self.labels)):
            raise FraudModelMissing(f"{weights} does not match {meta}: retrain the guard")
        self._none = self.labels.index("none")

    def probabilities(self, sentence: np.ndarray, ngrams: np.ndarray) -> np.ndarray:
        """(batch, labels) probabilities from (batch, 512) vectors and (batch, dim) n-grams."""
        sentence, ngrams = np.atleast_2d(sentence), np.atleast_2d(ngrams)
        if sentence.shape[1] + ngrams.shape[1] != self._w.shape[0]:
            raise FraudModelMissing("the guard was trained on other intent-model features: "
                                    "run `python -m dialog.fraud.train`")
        z = (sentence * self.sentence_scale) @ self._w[:self._sentence_dim] \
            + ngrams @ self._w[self._sentence_dim:] + self._b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def level(self, score: float) -> str:
        return "high" if score >= self.high else "caution" if score >= self.caution else "none"

    def reasons(self, probs: np.ndarray) -> tuple[str, ...]:
        order = [i for i in np.argsort(-probs) if i != self._none]
        named = [self.labels[i] for i in order if probs[i] >= REASON_MIN]
        return tuple(named or [self.labels[order[0]]])

    def assess(self, sentence: np.ndarray | None, ngrams: np.ndarray | None) -> tuple[Risk,
                                                                                     np.ndarray]:
        """The utterance's own risk, and its probabilities for the session to accumulate."""
        if sentence is None or ngrams is None:
            probs = np.zeros(len(self.labels), dtype=np.float32)
            probs[self._none] = 1.0
            return NO_RISK, probs
        probs = self.probabilities(sentence, ngrams)[0]
        score = float(1.0 - probs[self._none])
        level = self.level(score)
        return Risk(level, score, self.reasons(probs) if level != "none" else ()), probs


@dataclass
class SessionRisk:
    """The evidence of one conversation: per-turn scam probabilities and the money asked."""

    guard: FraudGuard
    turns: list[np.ndarray] = field(default_factory=list)
    money: bool = False
    worst: str = "none"  # the highest level reached: it never falls back in a session

    def add(self, probs: np.ndarray, intent: str) -> Risk:
        self.turns = (self.turns + [probs])[-SESSION_TURNS:]
        self.money = self.money or intent in MONEY_INTENTS
        return self.current()

    def current(self) -> Risk:
        if not self.turns:
            return NO_RISK
        stack = np.stack(self.turns)
        none = self.guard.labels.index("none")
        score = float(1.0 - np.prod(stack[:, none]))
        level = self.guard.level(score)
        if level == "caution" and self.money:
            level = "high"
        if LEVELS.index(level) < LEVELS.index(self.worst):
            level = self.worst
        self.worst = level
        if level == "none":
            return Risk("none", score)
        return Risk(level, score, self.guard.reasons(stack.max(axis=0)))
