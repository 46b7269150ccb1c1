"""Vision benchmark: face recall/precision on real photographs, and pipeline speed.

1. Faces. Real photographs that ship inside packages, labelled by hand
   (``vision/data/photos/labels.json``: astronaut from scikit-image; messi5, basketball1/2
   from Debian opencv-doc), plus scikit-image's ``lfw_subset`` — 100 real face crops and
   100 non-face crops — upscaled to 40–120 px and laid out on 640×480 sheets (12 a sheet,
   seeded, boxes known by construction). A detection matches a frontal face ≥ 40 px at
   IoU ≥ 0.4; unmatched detections count as false positives unless they fall in a labelled
   ignore area (profile faces, blurred crowds) or are smaller than 32 px. Target: recall
   ≥ 90 % at precision ≥ 90 % (issue 6). Every available detector is measured.
2. Speed at 640×480 on one thread (cv2.setNumThreads(1), onnxruntime 1 thread): the face
   pipeline (detect + track + engage) ≥ 15 fps and the queue pipeline (person detection on
   the frame and 2×2 tiles + zones + tracking) ≥ 5 fps.

    python bench/vision.py [--detectors mtcnn,res10,haar]      (last line: JSON)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from routing.config import load_branch_config  # noqa: E402
from vision.face_detectors import DETECTORS, ModelMissing, make_face_detector  # noqa: E402
from vision.faces import FacePipeline  # noqa: E402
from vision.people import make_person_detector  # noqa: E402
from vision.queues import QueuePipeline  # noqa: E402
from vision.tracking import iou  # noqa: E402

PHOTOS = REPO / "vision" / "data" / "photos"
MIN_FACE_PX = 40
MATCH_IOU = 0.4


def labelled_photos() -> list[tuple[str, np.ndarray, list, list]]:
    labels = json.loads((PHOTOS / "labels.json").read_text())["images"]
    out = []
    for name, label in labels.items():
        if name == "astronaut":
            from skimage import data

            image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
        else:
            image = cv2.imread(str(PHOTOS / name))
        out.append((name, image, label["faces"], label["ignore"]))
    return out


def lfw_sheets(seed: int = 6) -> list[tuple[str, np.ndarray, list, list]]:
    """lfw_subset crops on 640×480 sheets: faces with their boxes, non-faces with none."""
    from skimage import data

    crops = (data.lfw_subset() * 255).astype(np.uint8)  # 100 faces, then 100 non-faces
    rng = random.Random(seed)
    sheets = []
    for kind, start in (("faces", 0), ("nonfaces", 100)):
        for sheet in range(9):
            canvas = np.full((480, 640), 128, np.uint8)
            canvas = cv2.GaussianBlur(np.clip(canvas + np.random.default_rng(sheet).normal(
                0, 20, canvas.shape), 0, 255).astype(np.uint8), (0, 0), 3)
            boxes = []
            for cell in range(12):
                index = start + sheet * 12 + cell
                if index >= start + 100:
                    break
                size = rng.randint(40, 120)
                x = (cell % 4) * 160 + rng.randint(0, 160 - size)
                y = (cell // 4) * 160 + rng.randint(0, 160 - size)
                canvas[y:y + size, x:x + size] = cv2.resize(crops[index], (size, size),
                                                            interpolation=cv2.INTER_CUBIC)
                boxes.append([x, y, size, size])
            sheets.append((f"lfw-{kind}-{sheet}", cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR),
                           boxes if kind == "faces" else [], []))
    return sheets


def evaluate(detector, images) -> dict:
    hits = misses = false = 0
    for _, image, faces, ignore in images:
        required = [f for f in faces if min(f[2], f[3]) >= MIN_FACE_PX]
        optional = [f for f in faces if min(f[2], f[3]) < MIN_FACE_PX] + ignore
        found = [(d.x, d.y, d.w, d.h) for d in detector.detect(image)]
        matched: set[int] = set()
        for face in required:
            best = max(range(len(found)), key=lambda i: iou(face, found[i]), default=None)
            if best is not None and best not in matched and iou(face, found[best]) >= MATCH_IOU:
                matched.add(best)
                hits += 1
            else:
                misses += 1
        for i, box in enumerate(found):
            if i in matched or min(box[2], box[3]) < 32:
                continue
            cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
            if any(o[0] <= cx <= o[0] + o[2] and o[1] <= cy <= o[1] + o[3] for o in optional):
                continue
            false += 1
    recall = hits / max(1, hits + misses)
    precision = hits / max(1, hits + false)
    return {"faces": hits + misses, "found": hits, "false_positives": false,
            "recall": round(recall, 3), "precision": round(precision, 3)}


def frames_640() -> list[np.ndarray]:
    return [cv2.resize(image, (640, 480)) for _, image, _, _ in labelled_photos()]


def fps(process, frames: list[np.ndarray], seconds: float = 4.0) -> float:
    process(frames[0], 0.0)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        process(frames[count % len(frames)], count / 30)
        count += 1
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    images = labelled_photos() + lfw_sheets()
    frames = frames_640()
    results: dict[str, dict] = {}
    for name in args.detectors.split(","):
        try:
            detector = make_face_detector(name)
        except ModelMissing as exc:
            results[name] = {"missing": str(exc)}
            continue
        accuracy = evaluate(detector, images)
        times = []
        for frame in frames * 3:
            started = time.perf_counter()
            detector.detect(frame)
            times.append(time.perf_counter() - started)
        pipeline = FacePipeline(detector)
        accuracy["detect_ms_p50"] = round(statistics.median(times) * 1000, 1)
        accuracy["pipeline_fps"] = round(fps(pipeline.process, frames), 1)
        results[name] = accuracy
        print(f"{name:6} recall {accuracy['recall']:.3f} precision {accuracy['precision']:.3f}"
              f" ({accuracy['found']}/{accuracy['faces']} faces, "
              f"{accuracy['false_positives']} false)  detect p50 {accuracy['detect_ms_p50']} ms"
              f"  pipeline {accuracy['pipeline_fps']} fps")
    config = load_branch_config(REPO / "config" / "branch.yaml")
    zones = {z: config.counter_of_zone(z) for z in config.lobby_camera.zones}
    queue_fps = {}
    for name in ("ssdlite", "hog"):
        try:
            pipeline = QueuePipeline(make_person_detector(name), config.lobby_camera, zones)
        except ModelMissing as exc:
            queue_fps[name] = str(exc)
            continue
        queue_fps[name] = round(fps(pipeline.process, frames), 1)
        print(f"queue pipeline ({name}) {queue_fps[name]} fps")
    best = max((r for r in results.values() if "recall" in r),
               key=lambda r: (r["recall"] >= 0.9 and r["precision"] >= 0.9, r["recall"]),
               default={})
    default_face = next((n for n in DETECTORS if "recall" in results.get(n, {})), "")
    print(json.dumps({"bench": "vision", "faces": results, "default_face_detector": default_face,
                      "face_target_met": bool(best) and best["recall"] >= 0.9
                      and best["precision"] >= 0.9,
                      "face_pipeline_fps": results.get(default_face, {}).get("pipeline_fps"),
                      "queue_pipeline_fps": queue_fps}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
