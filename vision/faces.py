"""The face pipeline of the head camera: detect, track, estimate distance, decide engagement.

Detection only: boxes and scores, never an identity, and no face image leaves this function.
Distance comes from the pinhole model, ``d = fx · face_width_m / face_width_px`` (an adult
face box is ~0.16 m wide). A customer is *engaged* — the dialog greets them — when their
track is confirmed, the face is frontal, within ``engage_distance_m``, and not walking away
(distance not grown by more than 0.2 m over the last second). Engagement ends when the face
leaves (track lost), goes beyond ``engage_distance_m + release_margin_m`` or backs off more
than 0.5 m within a second (walking away; a small step back keeps the conversation).
A face lost for a moment and found again where it was, looking the same (:mod:`.reid`),
keeps its id and engagement, so the dialog goes on; the next customer gets a new id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .face_detectors import FaceDetection, FaceDetector
from .frames import to_bgr
from .reid import FaceSignature
from .tracking import IouTracker, Track, iou

FACE_WIDTH_M = 0.16
APPROACH_WINDOW_S = 1.0
RECEDING_M = 0.2  # grown this much within the window: walking away, not engaged
LEAVING_M = 0.5  # an engaged customer who backs off this far within the window has left
REFOUND_OVERLAP = 0.2  # a face found again is about where it was lost (IoU of the boxes)


@dataclass
class _LostFace:
    """A face the tracker lost moments ago, kept in memory in case it comes back."""

    id: str
    signature: FaceSignature
    box: tuple[float, float, float, float]
    lost_at: float
    first_seen: float
    engaged: bool


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
                 min_face_px: int = 40, confirm_hits: int = 2, refind_s: float = 3.0):
        self.detector = detector
        self.intrinsics = intrinsics or CameraIntrinsics()
        self.engage_distance_m = engage_distance_m
        self.release_margin_m = release_margin_m
        self.min_face_px = min_face_px
        # Two sightings before a face counts (one spurious box never gets greeted); a still
        # image is one sighting, so the CLI passes 1 for images.
        self.tracker: IouTracker[FaceDetection] = IouTracker(confirm_hits=confirm_hits)
        self._engaged: set[int] = set()
        # A face lost and found again within refind_s, where it was, looking the same, keeps
        # its id (and engagement): the dialog goes on instead of greeting it anew.
        self.refind_s = refind_s
        self._ids: dict[int, str] = {}  # tracker id → published id
        self._first_seen: dict[int, float] = {}  # tracker id → when the face was first seen
        self._signatures: dict[int, FaceSignature] = {}
        self._boxes: dict[int, tuple[float, float, float, float]] = {}  # where last reported
        self._lost: list[_LostFace] = []

    def distance(self, face_width_px: float) -> float:
        return self.intrinsics.fx * FACE_WIDTH_M / face_width_px if face_width_px > 0 else math.nan

    def process(self, frame: np.ndarray, now: float) -> list[TrackedFace]:
        """One frame (any layout :func:`to_bgr` accepts) at capture time ``now`` (seconds)."""
        bgr = to_bgr(frame)
        found = [d for d in self.detector.detect(bgr) if min(d.w, d.h) >= 0.8 * self.min_face_px]
        tracks = self.tracker.update([(d.x, d.y, d.w, d.h) for d in found], found, now)
        self._remember_lost(now)
        self._engaged &= set(self.tracker.tracks)  # a face that left is no longer engaged
        for track in tracks:  # the tracks seen in this frame
            self._update_signature(track, bgr)
            if track.id not in self._ids:
                self._name(track)
        return [self._describe(track, now) for track in tracks]

    def _update_signature(self, track: Track[FaceDetection], bgr: np.ndarray) -> None:
        signature = FaceSignature.of(bgr, track.last_box or track.box)
        if signature is not None:
            old = self._signatures.get(track.id)
            self._signatures[track.id] = signature if old is None else old.blend(signature)

    def _remember_lost(self, now: float) -> None:
        for track_id in [t for t in self._ids if t not in self.tracker.tracks]:
            signature = self._signatures.pop(track_id, None)
            box = self._boxes.pop(track_id, None)
            if signature is not None and box is not None:
                self._lost.append(_LostFace(self._ids[track_id], signature, box, now,
                                            self._first_seen[track_id],
                                            track_id in self._engaged))
            del self._ids[track_id]
            del self._first_seen[track_id]
        self._lost = [f for f in self._lost if now - f.lost_at <= self.refind_s]

    def _name(self, track: Track[FaceDetection]) -> None:
        """A newly confirmed track: the face lost a moment ago, found again, or someone new."""
        signature = self._signatures.get(track.id)
        match = None
        if signature is not None:
            candidates = [f for f in self._lost if iou(f.box, track.box) >= REFOUND_OVERLAP
                          and f.signature.same_face(signature)]
            match = max(candidates, key=lambda f: f.signature.similarity(signature),
                        default=None)
        if match is None:
            self._ids[track.id], self._first_seen[track.id] = str(track.id), track.first_seen
            return
        self._lost.remove(match)
        self._ids[track.id], self._first_seen[track.id] = match.id, match.first_seen
        if match.engaged:
            self._engaged.add(track.id)

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
        self._boxes[track.id] = track.box
        x, y, w, h = (int(round(v)) for v in track.box)
        return TrackedFace(self._ids[track.id], (x, y, w, h), track.detection.score, distance,
                           track.id in self._engaged, self._first_seen[track.id])
