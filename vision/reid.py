"""Is a face that just appeared the one lost a moment ago? A short-lived appearance signature.

A tracker loses a face for a second when someone walks past or the customer looks down, and
finds it again as a new track; the customer who left and the next one stepping onto the same
spot look the same to position and time. Appearance tells them apart: a grid of uniform
local binary pattern histograms (Ahonen et al., 2006) of the equalised grey face, compared by
histogram intersection, with a hue/saturation histogram of the face and hair as a second,
colour cue. Signatures are small vectors held in memory for a few seconds and never written
anywhere; they identify nobody, only "the same face as a moment ago".
"""

from __future__ import annotations

import cv2
import numpy as np

SIDE = 50  # the grey face is compared at this size (48×48 LBP codes)
GRID = 4  # cells per side
UNIFORM_BINS = 59  # 58 uniform 8-bit patterns + one bin for all others
SAME_FACE = 0.63  # texture similarity above this: the same face (measured on LFW, see tests)
SAME_COLOUR = 0.5  # colour similarity below this: a different person whatever the texture


def _uniform_table() -> np.ndarray:
    table = np.full(256, UNIFORM_BINS - 1, np.uint8)
    index = 0
    for value in range(256):
        bits = [(value >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            table[value] = index
            index += 1
    return table


_UNIFORM = _uniform_table()
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def _lbp(grey: np.ndarray) -> np.ndarray:
    """Uniform 8-neighbour LBP codes of the interior pixels."""
    g = grey.astype(np.int16)
    centre = g[1:-1, 1:-1]
    height, width = g.shape
    code = np.zeros(centre.shape, np.uint8)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        code |= (g[1 + dy:height - 1 + dy, 1 + dx:width - 1 + dx] >= centre).astype(np.uint8) << bit
    return _UNIFORM[code]


class FaceSignature:
    """Texture and colour of one face box, as normalised histograms."""

    def __init__(self, texture: np.ndarray, colour: np.ndarray | None):
        self.texture = texture
        self.colour = colour

    @classmethod
    def of(cls, bgr: np.ndarray, box: tuple[float, float, float, float]) -> FaceSignature | None:
        """The signature of ``box`` in the frame; None when the box is off the frame."""
        x, y, w, h = (int(round(v)) for v in box)
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(bgr.shape[1], x + w), min(bgr.shape[0], y + h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        crop = bgr[y0:y1, x0:x1]
        grey = cv2.equalizeHist(cv2.resize(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), (SIDE, SIDE),
                                           interpolation=cv2.INTER_AREA))
        codes = _lbp(grey)
        cell = codes.shape[0] // GRID
        texture = np.concatenate([
            np.bincount(codes[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell].ravel(),
                        minlength=UNIFORM_BINS)
            for r in range(GRID) for c in range(GRID)]).astype(np.float32)
        texture /= texture.sum()
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
        saturated = hsv[..., 1] > 40  # grey pixels carry no hue
        colour = None
        if saturated.mean() > 0.2:
            colour = cv2.calcHist([hsv], [0, 1], saturated.astype(np.uint8), [12, 4],
                                  [0, 180, 40, 256]).ravel()
            colour /= colour.sum()
        return cls(texture, colour)

    def blend(self, newer: FaceSignature, weight: float = 0.3) -> FaceSignature:
        """A running average, so one blurred frame does not decide."""
        colour = newer.colour if self.colour is None else self.colour if newer.colour is None \
            else (1 - weight) * self.colour + weight * newer.colour
        return FaceSignature((1 - weight) * self.texture + weight * newer.texture, colour)

    def similarity(self, other: FaceSignature) -> float:
        """Histogram intersection of the textures, 0..1 (identical: 1)."""
        return float(np.minimum(self.texture, other.texture).sum())

    def same_face(self, other: FaceSignature) -> bool:
        if self.colour is not None and other.colour is not None and \
                float(np.minimum(self.colour, other.colour).sum()) < SAME_COLOUR:
            return False
        return self.similarity(other) >= SAME_FACE
