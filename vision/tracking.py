"""Tracks with persistent ids across frames: greedy IoU association, gaps bridged briefly.

Used for faces (head camera) and people (lobby camera). A detection that matches no track
starts one; a track is *confirmed* after ``confirm_hits`` matches (so one spurious detection
never becomes a customer) and ends after ``max_missed_s`` unseen. Times are the frames'
capture times, so simulated time works the same as the wall clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Box = tuple[float, float, float, float]  # x, y, w, h
T = TypeVar("T")


def iou(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track(Generic[T]):
    id: int
    box: Box
    detection: T
    first_seen: float
    last_seen: float
    hits: int = 1
    last_box: Box | None = None  # the latest detection, unsmoothed: what association uses
    history: list[tuple[float, float]] = field(default_factory=list)  # (t, value) per tracker

    def age(self, now: float) -> float:
        return now - self.first_seen


class IouTracker(Generic[T]):
    def __init__(self, iou_threshold: float = 0.3, max_missed_s: float = 0.7,
                 confirm_hits: int = 2, smoothing: float = 0.5):
        self.iou_threshold = iou_threshold
        self.max_missed_s = max_missed_s
        self.confirm_hits = confirm_hits
        self.smoothing = smoothing  # weight of the new box in the smoothed box
        self.tracks: dict[int, Track[T]] = {}
        self._ids = itertools.count(1)

    def update(self, boxes: Sequence[Box], detections: Sequence[T], now: float) -> list[Track[T]]:
        """Associate this frame's detections; returns the confirmed tracks seen in it."""
        # Match against the last detected box, not the smoothed one: a customer walking up
        # grows fast, and the smoothed box lags behind.
        pairs = sorted(((iou(track.last_box or track.box, box), track_id, index)
                        for track_id, track in self.tracks.items()
                        for index, box in enumerate(boxes)), reverse=True)
        used_tracks: set[int] = set()
        used_detections: set[int] = set()
        for overlap, track_id, index in pairs:
            if overlap < self.iou_threshold:
                break
            if track_id in used_tracks or index in used_detections:
                continue
            used_tracks.add(track_id)
            used_detections.add(index)
            track = self.tracks[track_id]
            a = self.smoothing
            track.box = tuple(a * n + (1 - a) * o for n, o in zip(boxes[index], track.box,
                                                                   strict=True))
            track.detection = detections[index]
            track.last_box = tuple(boxes[index])
            track.last_seen = now
            track.hits += 1
        for index, box in enumerate(boxes):
            if index not in used_detections:
                track_id = next(self._ids)
                self.tracks[track_id] = Track(track_id, tuple(box), detections[index], now, now)
                used_tracks.add(track_id)
        for track_id in [t for t, track in self.tracks.items()
                         if now - track.last_seen > self.max_missed_s]:
            del self.tracks[track_id]
        return [self.tracks[t] for t in sorted(used_tracks)
                if t in self.tracks and self.tracks[t].hits >= self.confirm_hits]
