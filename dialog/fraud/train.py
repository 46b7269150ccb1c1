"""Train the fraud guard's head and choose its thresholds (``python -m dialog.fraud.train``).

Softmax regression (scipy's L-BFGS, L2) from the intent model's features to "none" or a
scam category. Weighting: scam utterances, hard negatives (``ordinary.tsv``) and ordinary
requests (the intent set's train split) each weigh as one block, so the ~18 000 requests do
not drown the scams. Thresholds come from out-of-fold scores (five folds over the training
scripts; whole scripts per fold): *caution* is the lowest score at which at most
``FALSE_ALARM_CAUTION`` of the intent dev split (ordinary requests, never trained on) and
``HARD_ALARM_CAUTION`` of the out-of-fold hard negatives raise an alarm; *high* the same
at the ``_HIGH`` rates. The shipped head is then
fitted on every training script. Test scripts and the intent test split stay unseen (bench/
fraud.py measures them). Needs the intent model with its ``sentence`` output; no torch.
"""

from __future__ import annotations

import json
import time
import zlib

import numpy as np
from scipy.optimize import minimize

from ..intent.model import IntentModel
from . import data
from .guard import MODEL_DIR

SENTENCE_SCALE = 2.0  # the unit sentence vector against the unit n-gram vector
L2 = 3e-4
BLOCK_WEIGHT = {"risky": 1.0, "ordinary": 0.6, "intent": 0.6}
FALSE_ALARM_CAUTION = 0.004
FALSE_ALARM_HIGH = 0.001
# The hard negatives are written to look like scams: a few percent of them alarm.
HARD_ALARM_CAUTION = 0.05
HARD_ALARM_HIGH = 0.02
FOLDS = 5
MAX_ITER = 400


def featurise(model: IntentModel, texts: list[str], batch: int = 64) -> np.ndarray:
    """[sentence vector · scale | hashed n-grams] for every text, as the run time sees them."""
    out = []
    for start in range(0, len(texts), batch):
        chunk = [t[:500] for t in texts[start:start + batch]]
        _, vectors, ngrams = model.encode(chunk)
        out.append(np.hstack([vectors * SENTENCE_SCALE, ngrams]).astype(np.float32))
    return np.vstack(out)


def weights_of(examples: list[data.Example]) -> np.ndarray:
    counts = {s: sum(e.source == s for e in examples) for s in BLOCK_WEIGHT}
    return np.array([BLOCK_WEIGHT[e.source] * len(examples) / (3 * counts[e.source])
                     for e in examples], dtype=np.float64)


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, classes: int) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """Weighted softmax regression; returns (weights (dim, classes), bias (classes,))."""
    dim = x.shape[1]
    onehot = np.eye(classes, dtype=np.float32)[y]
    w = (w / w.sum()).astype(np.float32)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weight = theta[:dim * classes].reshape(dim, classes).astype(np.float32)
        bias = theta[dim * classes:].astype(np.float32)
        z = x @ weight + bias
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -float((w[:, None] * onehot * logp).sum()) + L2 * float((weight ** 2).sum())
        delta = (np.exp(logp) - onehot) * w[:, None]
        grad_w = x.T @ delta + 2 * L2 * weight
        return value, np.concatenate([grad_w.ravel(), delta.sum(0)]).astype(np.float64)

    theta = np.zeros(dim * classes + classes)
    result = minimize(loss, theta, jac=True, method="L-BFGS-B",
                      options={"maxiter": MAX_ITER})
    return (result.x[:dim * classes].reshape(dim, classes).astype(np.float32),
            result.x[dim * classes:].astype(np.float32))


def risk_scores(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, none: int) -> np.ndarray:
    z = x @ weight + bias
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return 1.0 - p[:, none] / p.sum(axis=1)


def threshold_for(negative_scores: list[np.ndarray], rate: float) -> float:
    """The lowest threshold at which every negative set alarms at most ``rate``."""
    return float(max(np.quantile(s, 1.0 - rate) for s in negative_scores)) + 1e-6


def main() -> None:
    started = time.time()
    model = IntentModel(threads=2)
    labels = [data.NONE, *data.CATEGORIES]
    index = {label: i for i, label in enumerate(labels)}
    fraud = data.fraud_examples()
    intents = data.intent_examples()
    train = [e for e in fraud if e.split == "train"] + [e for e in intents
                                                        if e.split == "train"]
    dev = [e for e in intents if e.split == "dev"]
    x = featurise(model, [e.text for e in train])
    x_dev = featurise(model, [e.text for e in dev])
    y = np.array([index[e.label] for e in train])
    w = weights_of(train)
    print(f"features of {len(train)} + {len(dev)} utterances in {time.time() - started:.0f} s")

    # Out-of-fold scores of the training scripts (the intent rows train in every fold).
    fold = np.array([zlib.crc32(e.group.encode()) % FOLDS if e.source != "intent" else -1
                     for e in train])
    oof = np.full(len(train), np.nan)
    dev_scores = np.zeros(len(dev))
    for k in range(FOLDS):
        held = fold == k
        weight, bias = fit(x[~held], y[~held], w[~held], len(labels))
        oof[held] = risk_scores(x[held], weight, bias, 0)
        dev_scores += risk_scores(x_dev, weight, bias, 0) / FOLDS
        print(f"fold {k + 1}/{FOLDS} done ({time.time() - started:.0f} s)")
    sources = np.array([e.source for e in train])
    hard = oof[sources == "ordinary"]
    risky = oof[sources == "risky"]
    caution = max(threshold_for([dev_scores], FALSE_ALARM_CAUTION),
                  threshold_for([hard], HARD_ALARM_CAUTION))
    high = max(caution, threshold_for([dev_scores], FALSE_ALARM_HIGH),
               threshold_for([hard], HARD_ALARM_HIGH))
    cv = {"recall_caution": round(float((risky >= caution).mean()), 4),
          "recall_high": round(float((risky >= high).mean()), 4),
          "false_alarm_hard": round(float((hard >= caution).mean()), 4),
          "false_alarm_intent_dev": round(float((dev_scores >= caution).mean()), 4)}
    print(f"thresholds caution {caution:.3f} high {high:.3f}; out of fold {cv}")

    weight, bias = fit(x, y, w, len(labels))
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(MODEL_DIR / "fraud.npz", weights=weight.astype(np.float16),
                        bias=bias)
    meta = {"labels": labels, "sentence_scale": SENTENCE_SCALE,
            "sentence_dim": int(x.shape[1] - model.encode(["x"])[2].shape[1]),
            "ngram_dim": int(model.encode(["x"])[2].shape[1]),
            "thresholds": {"caution": round(caution, 4), "high": round(high, 4)},
            "cross_validation": cv, "train_size": len(train),
            "train_scripts": len({e.group for e in train if e.source != "intent"})}
    (MODEL_DIR / "fraud.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(meta["thresholds"] | cv))


if __name__ == "__main__":
    main()
