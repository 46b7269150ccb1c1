"""Vision nodes: ``faces`` (head camera → tracked faces) and ``queues`` (lobby camera → zones).

Frames come from the image topic (robot drivers, simulator) or, with the ``camera``
parameter, straight from OpenCV (device index, RTSP/HTTP URL, video file). Only the newest
frame is processed, at most ``max_fps`` a second, so a slow detector drops frames instead of
falling behind. A bad frame is counted and skipped; a camera that disappears is reopened with
backoff and reported in the heartbeat. No image is ever stored.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from lobbybot.contracts import msg, std
from lobbybot.node.component import ERROR, OK, WARN, Component, Health, Node
from lobbybot.node.params import ConfigError, Param
from lobbybot.transport import QoS
from routing.config import BranchConfigError, load_branch_config

from .camera import Camera
from .face_detectors import ModelMissing, make_face_detector
from .faces import CameraIntrinsics, FacePipeline
from .frames import FrameError, image_msg_to_bgr
from .people import make_person_detector
from .queues import QueuePipeline

REPO = Path(__file__).resolve().parents[1]


def _stamp_s(header: std.Header) -> float:
    return header.stamp.sec + header.stamp.nanosec * 1e-9


def _header(seconds: float, frame_id: str) -> std.Header:
    ns = int(seconds * 1e9)
    return std.Header(stamp=std.Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id=frame_id)


class _FrameNode(Component):
    """Newest frame from the topic or a camera, processed on a timer."""

    IMAGE_TOPIC = ""
    COMMON = (
        Param("camera", "", "OpenCV source (device index, URL, video file); '' = image topic."),
        Param("max_fps", 15.0, "Process at most this many frames a second."),
        Param("frame_id", "camera", "frame_id of what is published when reading a camera."),
    )

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        cv2.setNumThreads(1)
        self._pending: tuple[object, float, str] | None = None
        self.bad_frames = 0
        self.processed = 0
        self.last_error = ""
        self.camera: Camera | None = None
        if str(node.params["camera"]):
            self.camera = Camera(str(node.params["camera"]))
        else:
            node.subscribe(self.IMAGE_TOPIC, std.Image, self._on_image, QoS.SENSOR)
        max_fps = float(node.params["max_fps"])
        if max_fps <= 0:
            raise ConfigError("max_fps must be > 0")
        node.timer(1.0 / max_fps, self._tick)

    def _on_image(self, image: std.Image) -> None:
        self._pending = (image, _stamp_s(image.header) or self.node.now_ns() * 1e-9,
                         image.header.frame_id)

    def _tick(self) -> None:
        if self.camera is not None:
            frame = self.camera.read()
            if frame is None:
                return
            self._run(frame, self.node.now_ns() * 1e-9, str(self.node.params["frame_id"]))
            return
        pending, self._pending = self._pending, None
        if pending is None:
            return
        image, stamp, frame_id = pending
        try:
            frame = image_msg_to_bgr(image)
        except FrameError as exc:
            self.bad_frames += 1
            self.last_error = str(exc)
            self.node.transport.reject("bad_frame", str(exc), self.IMAGE_TOPIC)
            return
        self._run(frame, stamp, frame_id)

    def _run(self, frame, stamp: float, frame_id: str) -> None:
        raise NotImplementedError

    def health(self) -> Health:
        values = {"processed": self.processed, "bad_frames": self.bad_frames}
        if self.camera is not None:
            stats = self.camera.stats
            values.update(camera_connected=stats.connected, reopens=stats.reopens)
            if not stats.connected:
                return Health(ERROR, f"camera lost: {stats.last_error}", values)
        if self.last_error:
            return Health(WARN if self.processed else ERROR, self.last_error, values)
        return Health(OK, "ok", values)

    def close(self) -> None:
        if self.camera is not None:
            self.camera.close()


class FacesNode(_FrameNode):
    NAME = "faces"
    DESCRIPTION = "Head camera: faces detected, tracked, distance and engagement (no identity)."
    IMAGE_TOPIC = "/head_camera/image_raw"
    PARAMETERS = _FrameNode.COMMON + (
        Param("detector", "auto", "Face detector: auto, mtcnn, res10 or haar."),
        Param("engage_distance_m", 1.5, "A frontal face this close (and not leaving) is engaged."),
        Param("hfov_deg", 60.0, "Horizontal field of view of the head camera (intrinsics)."),
        Param("min_face_px", 40, "Smallest face side looked for, pixels (≈ 2.2 m at 60° FOV)."),
    )

    def __init__(self, node: Node) -> None:
        try:
            detector = make_face_detector(str(node.params["detector"]),
                                          int(node.params["min_face_px"]))
        except (ModelMissing, ValueError) as exc:
            raise ConfigError(str(exc)) from None
        self.hfov = float(node.params["hfov_deg"])
        self.pipeline = FacePipeline(detector, engage_distance_m=float(
            node.params["engage_distance_m"]), min_face_px=int(node.params["min_face_px"]))
        self._size = (0, 0)
        super().__init__(node)
        self._faces = node.publisher("/humans/faces/tracked_faces", msg.TrackedFaceArray)

    def _run(self, frame, stamp: float, frame_id: str) -> None:
        height, width = frame.shape[:2]
        if (width, height) != self._size:
            self._size = (width, height)
            self.pipeline.intrinsics = CameraIntrinsics.from_fov(width, height, self.hfov)
        faces = self.pipeline.process(frame, stamp)
        self.processed += 1
        self._faces.publish(msg.TrackedFaceArray(header=_header(stamp, frame_id), faces=[
            msg.TrackedFace(id=f.id, bbox=std.RegionOfInterest(
                x_offset=f.bbox[0], y_offset=f.bbox[1], width=f.bbox[2], height=f.bbox[3]),
                score=f.score, distance_m=f.distance_m, engaged=f.engaged,
                first_seen=_header(f.first_seen, "").stamp) for f in faces]))


class QueuesNode(_FrameNode):
    NAME = "queues"
    DESCRIPTION = "Lobby camera: people per counter queue zone with dwell, smoothed, 1-2 Hz."
    IMAGE_TOPIC = "/lobby_camera/image_raw"
    PARAMETERS = _FrameNode.COMMON + (
        Param("detector", "auto", "Person detector: auto, ssdlite or hog."),
        Param("branch_config", "config/branch.yaml", "Branch config with lobby_camera zones."),
        Param("publish_period_s", 0.5, "Period of /lobby/queues (smoothed counts)."),
        Param("window_s", 2.0, "Counts are the median over this window."),
        Param("tiles", 2, "ssdlite: also look at tiles×tiles tiles (distant people); 1 = off."),
    )

    def __init__(self, node: Node) -> None:
        path = Path(str(node.params["branch_config"])).expanduser()
        try:
            config = load_branch_config(path if path.is_absolute() else REPO / path)
            if config.lobby_camera is None:
                raise ConfigError(f"{path}: no lobby_camera section: no queue zones to count")
            detector = make_person_detector(str(node.params["detector"]),
                                            tiles=int(node.params["tiles"]))
        except (BranchConfigError, ModelMissing, ValueError) as exc:
            raise ConfigError(str(exc)) from None
        zones = {z: config.counter_of_zone(z) for z in config.lobby_camera.zones}
        self.pipeline = QueuePipeline(detector, config.lobby_camera, zones,
                                      float(node.params["window_s"]))
        self._latest = None
        self._latest_at = 0.0  # node time (s) of the newest processed frame
        self._latest_stamp = 0.0
        self._latest_frame_id = ""
        super().__init__(node)
        self._queues = node.publisher("/lobby/queues", msg.QueueState)
        node.timer(float(node.params["publish_period_s"]), self._publish)

    def _run(self, frame, stamp: float, frame_id: str) -> None:
        self._latest = self.pipeline.process(frame, stamp)
        self._latest_at = self.node.now_ns() / 1e9
        self._latest_stamp, self._latest_frame_id = stamp, frame_id
        self.processed += 1

    def _publish(self) -> None:
        # No frame for a while (camera lost): publish nothing rather than stale counts.
        stale = self.node.now_ns() / 1e9 - self._latest_at > 3 * self.pipeline.window_s
        if self._latest is None or stale:
            return
        self._queues.publish(msg.QueueState(
            header=_header(self._latest_stamp, self._latest_frame_id),
            zones=[msg.QueueZoneState(zone_id=z.zone_id, counter_id=z.counter_id,
                                      count=z.count, mean_dwell_s=z.mean_dwell_s,
                                      max_dwell_s=z.max_dwell_s)
                   for z in self._latest.zones]))


__all__ = ["FacesNode", "QueuesNode"]
