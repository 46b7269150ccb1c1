"""Text → hashed n-gram feature vector. The one featuriser of training and run time.

Chinese has no spaces and the ASR confuses homophones, English has typos: character
n-grams (1-3 for CJK runs, 3-5 inside Latin words) carry most of the signal and survive both;
word unigrams and bigrams add the English phrasing. Features are hashed (crc32) into a
fixed vector, log-scaled and L2-normalised, so no vocabulary file can drift out of sync.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

import numpy as np

DIM = 1 << 13
VERSION = 2
_CJK = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z0-9$]+")


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), lower case, one space between tokens."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"\s+", " ", text).strip()


def tokens(text: str) -> list[str]:
    text = normalise(text)
    out: list[str] = []
    for run in _CJK.findall(text):
        for n in (1, 2, 3):
            out += [f"c{n}:{run[i:i + n]}" for i in range(len(run) - n + 1)]
    words = _WORD.findall(text)
    out += [f"w:{w}" for w in words]
    out += [f"b:{a}_{b}" for a, b in zip(words, words[1:], strict=False)]
    for w in words:
        padded = f"<{w}>"
        for n in (3, 4, 5):
            out += [f"g{n}:{padded[i:i + n]}" for i in range(len(padded) - n + 1)]
    return out


def featurise(text: str) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    for token in tokens(text):
        vector[zlib.crc32(token.encode("utf-8")) & (DIM - 1)] += 1.0
    np.log1p(vector, out=vector)
    norm = float(np.linalg.norm(vector))
    if norm > 0:
        vector /= norm
    return vector


def featurise_batch(texts: list[str]) -> np.ndarray:
    return np.stack([featurise(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)
