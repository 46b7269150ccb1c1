"""The face pipeline of the head camera: detect, track, estimate distance, decide engagement.

Detection only: boxes and scores, never an identity, and no face image leaves this function.
Distance comes from the pinhole model, ``d = fx · face_width_m / face_width_px`` (an adult
face box is ~0.16 m wide). A customer is *engaged* — the dialog greets them — when their
track is confirmed, the face is frontal, within ``engage_distance_m``, and not walking away
(distance not grown by more than 0.2 m over the last second). Engagement ends when the face
leaves (track lost), goes beyond ``engage_distance_m + release_margin_m`` or backs off more
than 0.5 m within a second (walking away; a small step back keeps the conversation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .face_detectors import FaceDetection, FaceDetector
from .frames import to_bgr
from .tracking import IouTracker, Track

FACE_WIDTH_M = 0.16
APPROACH_WINDOW_S = 1.0
RECEDING_M = 0.2  # grown this much within the window: walking away, not engaged
LEAVING_M = 0.5  # an engaged customer who backs off this far within the window has left


@dataclass(frozen=True)
class CameraIntrinsics:
    fx: float = 554.0  # 640 px wide, 60° horizontal field of view
    fy: float = 554.0
    cx: float = 320.0
    cy: float = 240.0

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float) -> CameraIntrinsics:
        fx = width / 2 / math.tan(math.radians(hfov_deg) / 2)
        return cls(fx, fx, width / 2, height / 2)


@dataclass(frozen=True)
class TrackedFace:
    id: str
    bbox: tuple[int, int, int, int]
    score: float
    distance_m: float
    engaged: bool
    first_seen: float

    def as_json(self) -> dict:
        return {"id": self.id, "bbox": list(self.bbox), "score": round(self.score, 3),
                "distance_m": None if math.isnan(self.distance_m) else round(self.distance_m, 2),
                "engaged": self.engaged}


class FacePipeline:
    def __init__(self, detector: FaceDetector, intrinsics: CameraIntrinsics | None = None,
                 engage_distance_m: float = 1.5, release_margin_m: float = 0.5,
                 min_face_px: int = 40, confirm_hits: int = 2):
        self.detector = detector
        self.intrinsics = intrinsics or CameraIntrinsics()
        self.engage_distance_m = engage_distance_m
        self.release_margin_m = release_margin_m
        self.min_face_px = min_face_px
        # Two sightings before a face counts (one spurious box never gets greeted); a still
        # image is one sighting, so the CLI passes 1 for images.
        self.tracker: IouTracker[FaceDetection] = IouTracker(confirm_hits=confirm_hits)
        self._engaged: set[int] = set()

    def distance(self, face_width_px: float) -> float:
        return self.intrinsics.fx * FACE_WIDTH_M / face_width_px if face_width_px > 0 else math.nan

    def process(self, frame: np.ndarray, now: float) -> list[TrackedFace]:
        """One frame (any layout :func:`to_bgr` accepts) at capture time ``now`` (seconds)."""
        bgr = to_bgr(frame)
        found = [d for d in self.detector.detect(bgr) if min(d.w, d.h) >= 0.8 * self.min_face_px]
        tracks = self.tracker.update([(d.x, d.y, d.w, d.h) for d in found], found, now)
        self._engaged &= set(self.tracker.tracks)  # a face that left is no longer engaged
        return [self._describe(track, now) for track in tracks]

    def _describe(self, track: Track[FaceDetection], now: float) -> TrackedFace:
        distance = self.distance(track.box[2])
        track.history.append((now, distance))
        track.history[:] = [(t, d) for t, d in track.history if now - t <= APPROACH_WINDOW_S]
        backed_off = distance - min(d for _, d in track.history)
        receding = backed_off > RECEDING_M
        if track.id in self._engaged:
            if distance > self.engage_distance_m + self.release_margin_m or \
                    backed_off > LEAVING_M:
                self._engaged.discard(track.id)
        elif track.detection.frontal and distance <= self.engage_distance_m and not receding:
            self._engaged.add(track.id)
        x, y, w, h = (int(round(v)) for v in track.box)
        return TrackedFace(str(track.id), (x, y, w, h), track.detection.score, distance,
                           track.id in self._engaged, track.first_seen)
