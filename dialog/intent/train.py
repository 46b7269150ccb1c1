"""Train the intent model and write the run-time artifacts (``make train-intent``).

torch trains a small MLP on the hashed n-gram features (features.py, shared with run time);
the model is exported to ONNX, checked against torch, quantized to INT8 with
``onnxruntime.quantization.quantize_dynamic``, and calibrated on dev: a temperature for the
softmax and the confidence below which the answer is ``out_of_scope``. torch is needed here
only; the product runs the INT8 ONNX on onnxruntime.

    python -m dialog.intent.train    # writes dialog/intent/model/ (intent.int8.onnx, intent.json)
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from . import features
from .model import MODEL_DIR, OUT_OF_SCOPE

DATA = Path(__file__).resolve().parents[1] / "data" / "intents.jsonl"
LABELS_DOC = Path(__file__).resolve().parents[3] / "shared" / "intents.md"
HIDDEN = 128
SEED = 7


def load_rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    rows = load_rows()
    labels = sorted({r["label"] for r in rows})
    index = {label: i for i, label in enumerate(labels)}
    split = {name: [r for r in rows if r["split"] == name] for name in ("train", "dev", "test")}
    x = {k: torch.from_numpy(features.featurise_batch([r["text"] for r in v]))
         for k, v in split.items()}
    y = {k: torch.tensor([index[r["label"]] for r in v]) for k, v in split.items()}

    model = torch.nn.Sequential(torch.nn.Linear(features.DIM, HIDDEN), torch.nn.ReLU(),
                                torch.nn.Dropout(0.3), torch.nn.Linear(HIDDEN, len(labels)))
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    best, best_state, patience, epochs = -1.0, None, 0, 0
    for _ in range(60):
        epochs += 1
        model.train()
        order = torch.randperm(len(y["train"]))
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            optimiser.zero_grad()
            loss = loss_fn(model(x["train"][batch]), y["train"][batch])
            loss.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            dev_acc = (model(x["dev"]).argmax(1) == y["dev"]).float().mean().item()
        if dev_acc > best:
            best, patience = dev_acc, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            patience += 1
            if patience >= 8:
                break
    model.load_state_dict(best_state)
    model.eval()
    print(f"trained {epochs} epochs, best dev accuracy {best:.3f}")

    with torch.no_grad():
        dev_logits = model(x["dev"])
        test_logits = model(x["test"])
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
    # Out-of-scope threshold: the confidence cut that maximises dev accuracy.
    dev_probs = torch.softmax(dev_logits / temperature, 1)
    oos = index[OUT_OF_SCOPE]
    best_t, best_acc = 0.0, -1.0
    for threshold in np.arange(0.0, 0.9, 0.01):
        conf, pred = dev_probs.max(1)
        pred = torch.where(conf < threshold, torch.full_like(pred, oos), pred)
        acc = (pred == y["dev"]).float().mean().item()
        if acc > best_acc + 1e-9:
            best_t, best_acc = float(threshold), acc
    print(f"temperature {temperature:.3f}, out-of-scope threshold {best_t:.2f} "
          f"(dev accuracy {best_acc:.3f})")

    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "intent.onnx"
        torch.onnx.export(model, (x["test"][:1],), str(fp32), input_names=["features"],
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}})
        session = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
        onnx_logits = session.run(None, {"features": x["test"].numpy()})[0]
        drift = float(np.abs(onnx_logits - test_logits.numpy()).max())
        assert drift < 1e-3, f"ONNX export differs from torch by {drift}"
        quantize_dynamic(str(fp32), str(MODEL_DIR / "intent.int8.onnx"),
                         weight_type=QuantType.QInt8)
    int8 = ort.InferenceSession(str(MODEL_DIR / "intent.int8.onnx"),
                                providers=["CPUExecutionProvider"])
    int8_pred = int8.run(None, {"features": x["test"].numpy()})[0].argmax(1)
    torch_pred = test_logits.argmax(1).numpy()
    agreement = float((int8_pred == torch_pred).mean())
    metrics = {
        "test_accuracy_torch": round(float((torch_pred == y["test"].numpy()).mean()), 4),
        "test_accuracy_int8": round(float((int8_pred == y["test"].numpy()).mean()), 4),
        "int8_torch_agreement": round(agreement, 4),
        "dev_accuracy_with_threshold": round(best_acc, 4),
        "train_size": len(split["train"]), "dev_size": len(split["dev"]),
        "test_size": len(split["test"]),
    }
    print(json.dumps(metrics))
    meta = {"labels": labels, "dim": features.DIM, "feature_version": features.VERSION,
            "hidden": HIDDEN, "temperature": round(temperature, 4), "threshold": best_t,
            "metrics": metrics}
    (MODEL_DIR / "intent.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    # What torch predicted on test: the run-time INT8 model is checked against it in tests.
    (MODEL_DIR / "test_predictions.json").write_text(json.dumps(
        [{"text": r["text"], "torch": labels[p]} for r, p in zip(split["test"], torch_pred,
                                                                   strict=True)],
        ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
