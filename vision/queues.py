"""The queue pipeline of the lobby camera: people per counter zone, with dwell times.

A person belongs to the zone that contains the point they stand on (bottom centre of their
box, mapped to the floor when the zones are floor polygons). People are tracked so each has a
time-in-zone (dwell); counts are smoothed with a running median over ``window_s`` so one
missed or doubled detection does not move the routing, as in supervision's zone counting.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from routing.config import LobbyCamera

from .frames import to_bgr
from .people import PersonDetection, PersonDetector
from .tracking import IouTracker


@dataclass(frozen=True)
class Person:
    bbox: tuple[int, int, int, int]
    score: float
    zone: str  # "" outside every zone
    track_id: int = 0

    def as_json(self) -> dict:
        return {"bbox": list(self.bbox), "score": round(self.score, 3), "zone": self.zone or None}


@dataclass
class ZoneState:
    zone_id: str
    counter_id: str
    count: int
    mean_dwell_s: float
    max_dwell_s: float


@dataclass
class QueueFrame:
    people: list[Person]
    raw_counts: dict[str, int]
    zones: list[ZoneState] = field(default_factory=list)  # smoothed


class Zones:
    """Zone polygons, tested in image pixels or on the floor through the homography."""

    def __init__(self, camera: LobbyCamera, width: int, height: int):
        sx, sy = width / camera.width, height / camera.height  # frames may be resized
        self._to_floor = None
        if camera.zones_in == "floor":
            scale = np.diag([1 / sx, 1 / sy, 1.0])
            self._to_floor = np.array(camera.homography, dtype=np.float64) @ scale
            self.polygons = {z: np.array(p, np.float32) for z, p in camera.zones.items()}
        else:
            self.polygons = {z: np.array([(x * sx, y * sy) for x, y in p], np.float32)
                             for z, p in camera.zones.items()}

    def zone_of(self, point: tuple[float, float]) -> str:
        x, y = point
        if self._to_floor is not None:
            fx, fy, fw = self._to_floor @ np.array([x, y, 1.0])
            x, y = fx / fw, fy / fw
        for zone, polygon in self.polygons.items():
            if cv2.pointPolygonTest(polygon, (float(x), float(y)), False) >= 0:
                return zone
        return ""


class QueuePipeline:
    def __init__(self, detector: PersonDetector, camera: LobbyCamera,
                 counter_of_zone: dict[str, str], window_s: float = 2.0):
        self.detector = detector
        self.camera = camera
        self.counter_of_zone = counter_of_zone
        self.window_s = window_s
        self.tracker: IouTracker[PersonDetection] = IouTracker(
            iou_threshold=0.25, max_missed_s=1.5, confirm_hits=1)
        self._zones: Zones | None = None
        self._size: tuple[int, int] = (0, 0)
        self._counts: deque[tuple[float, dict[str, int]]] = deque()
        self._entered: dict[tuple[int, str], float] = {}  # (track, zone) → entry time

    def process(self, frame: np.ndarray, now: float) -> QueueFrame:
        bgr = to_bgr(frame)
        height, width = bgr.shape[:2]
        if self._zones is None or self._size != (width, height):
            self._zones, self._size = Zones(self.camera, width, height), (width, height)
        found = self.detector.detect(bgr)
        tracks = self.tracker.update([(p.x, p.y, p.w, p.h) for p in found], found, now)
        people, raw = [], {zone: 0 for zone in self.camera.zones}
        present: set[tuple[int, str]] = set()
        for track in tracks:
            p = track.detection
            zone = self._zones.zone_of(p.foot)
            people.append(Person((p.x, p.y, p.w, p.h), p.score, zone, track.id))
            if zone:
                raw[zone] += 1
                present.add((track.id, zone))
                self._entered.setdefault((track.id, zone), now)
        for key in [k for k in self._entered if k not in present and k[0] not in
                    self.tracker.tracks]:
            del self._entered[key]  # gone from view; a short occlusion keeps the dwell
        self._counts.append((now, raw))
        while self._counts and now - self._counts[0][0] > self.window_s:
            self._counts.popleft()
        return QueueFrame(people, raw, self._smoothed(now, present))

    def _smoothed(self, now: float, present: set[tuple[int, str]]) -> list[ZoneState]:
        states = []
        for zone in self.camera.zones:
            count = round(statistics.median(c[zone] for _, c in self._counts))
            dwells = [now - self._entered[key] for key in present if key[1] == zone]
            states.append(ZoneState(zone, self.counter_of_zone.get(zone, ""), int(count),
                                    float(np.mean(dwells)) if dwells else 0.0,
                                    float(max(dwells, default=0.0))))
        return states
