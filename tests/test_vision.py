"""Vision: frames, face detectors on real photos, tracking, engagement, queues, CLI, nodes."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, run_cli, wait_until

from lobbybot.contracts import msg, std
from routing.config import BranchConfigError, LobbyCamera, parse_branch_config
from vision.camera import Camera, SourceError, read_frames
from vision.face_detectors import make_face_detector
from vision.faces import FacePipeline
from vision.frames import FrameError, bgr_to_image_fields, image_msg_to_bgr, to_bgr
from vision.people import make_person_detector
from vision.queues import QueuePipeline
from vision.tracking import iou

PHOTOS = REPO / "vision" / "data" / "photos"
ASTRONAUT_FACE = (175, 55, 95, 122)  # labels.json


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def face_crop(astronaut) -> np.ndarray:
    x, y, w, h = ASTRONAUT_FACE
    return astronaut[y - 30:y + h + 20, x - 25:x + w + 25].copy()  # face with some context


def lobby_background(width: int = 640, height: int = 480) -> np.ndarray:
    rng = np.random.default_rng(1)
    frame = np.full((height, width, 3), (170, 160, 150), np.uint8)
    return cv2.GaussianBlur(np.clip(frame + rng.normal(0, 8, frame.shape), 0, 255)
                            .astype(np.uint8), (0, 0), 2)


def paste(frame: np.ndarray, crop: np.ndarray, x: int, y: int, height: int) -> tuple:
    scaled = cv2.resize(crop, (round(crop.shape[1] * height / crop.shape[0]), height))
    h, w = scaled.shape[:2]
    frame[y:y + h, x:x + w] = scaled
    return x, y, w, h


# -- frames ----------------------------------------------------------------------------------
def test_frames_are_normalised_or_refused_with_a_reason():
    grey = np.zeros((4, 6), np.uint8)
    assert to_bgr(grey).shape == (4, 6, 3)
    assert to_bgr(np.zeros((4, 6, 4), np.uint8)).shape == (4, 6, 3)
    assert to_bgr(np.full((2, 2, 3), 65535, np.uint16)).max() == 255
    for bad, reason in ((np.zeros((0, 0, 3), np.uint8), "empty"),
                        (np.zeros((4, 4, 2), np.uint8), "2 channels"),
                        (np.zeros((4, 4, 3), np.int64), "pixel type"),
                        ("not an image", "not an image array")):
        with pytest.raises(FrameError, match=reason):
            to_bgr(bad)


def test_image_messages_convert_without_cv_bridge(astronaut):
    small = astronaut[:50, :40]
    rgb = std.Image(**bgr_to_image_fields(small, "rgb8"))
    assert np.array_equal(image_msg_to_bgr(rgb), small)
    padded = std.Image(height=50, width=40, encoding="bgr8", step=128,
                       data=np.pad(small.reshape(50, 120), ((0, 0), (0, 8))).tobytes())
    assert np.array_equal(image_msg_to_bgr(padded), small)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    mono = std.Image(height=50, width=40, encoding="mono8", step=40, data=grey.tobytes())
    assert np.array_equal(image_msg_to_bgr(mono)[:, :, 0], grey)
    uyvy = cv2.cvtColor(small, cv2.COLOR_BGR2YUV)  # any bytes of the right size decode
    yuv = std.Image(height=50, width=40, encoding="yuv422", step=80,
                    data=uyvy[:, :, :2].tobytes())
    assert image_msg_to_bgr(yuv).shape == (50, 40, 3)
    with pytest.raises(FrameError, match="needs 6000"):
        image_msg_to_bgr(std.Image(height=50, width=40, encoding="bgr8", step=120,
                                   data=b"\0" * 100))
    with pytest.raises(FrameError, match="unsupported image encoding 'bayer_rggb8'"):
        image_msg_to_bgr(std.Image(height=1, width=1, encoding="bayer_rggb8", step=1,
                                   data=b"\0"))
    with pytest.raises(FrameError, match="empty image"):
        image_msg_to_bgr(std.Image(height=0, width=0, encoding="bgr8", step=0))


# -- face detectors on real photographs ------------------------------------------------------
@pytest.mark.parametrize("name", ["mtcnn", "res10", "haar"])
def test_every_face_detector_finds_the_astronaut_and_nothing_on_a_wall(name, astronaut):
    detector = make_face_detector(name)
    faces = detector.detect(astronaut)
    assert max(iou(ASTRONAUT_FACE, (f.x, f.y, f.w, f.h)) for f in faces) >= 0.5
    assert detector.detect(lobby_background()) == []


def test_mtcnn_tells_a_profile_from_a_frontal_face():
    photo = cv2.imread(str(PHOTOS / "basketball1.png"))
    detector = make_face_detector("mtcnn", min_face_px=24)
    faces = detector.detect(photo)
    frontal = [f for f in faces if iou((68, 86, 38, 50), (f.x, f.y, f.w, f.h)) >= 0.4]
    assert frontal and frontal[0].frontal and frontal[0].landmarks


def test_unknown_detector_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown face detector 'yunet'"):
        make_face_detector("yunet")


# -- tracking and engagement -----------------------------------------------------------------
def test_approaching_customer_keeps_one_id_and_becomes_engaged_then_leaves(face_crop):
    pipeline = FacePipeline(make_face_detector("mtcnn"))
    seen = []
    for step in range(12):  # walks in from ~3 m to ~1 m, drifting right
        frame = lobby_background()
        paste(frame, face_crop, 200 + 8 * step, 120, 70 + 14 * step)
        seen.append(pipeline.process(frame, step / 10))
    tracked = [faces[0] for faces in seen if faces]
    assert len(tracked) >= 9 and len({f.id for f in tracked}) == 1, "one customer, one id"
    assert tracked[0].distance_m > 2.0 and tracked[-1].distance_m < 1.2
    assert not tracked[0].engaged and tracked[-1].engaged
    first_engaged = next(f for f in tracked if f.engaged)
    assert first_engaged.distance_m <= 1.5
    for step in range(12, 22):  # gone
        assert pipeline.process(lobby_background(), step / 10) == []
    assert pipeline.tracker.tracks == {} and pipeline._engaged == set()


def test_customer_walking_away_is_released_and_not_engaged_again(face_crop):
    pipeline = FacePipeline(make_face_detector("mtcnn"), engage_distance_m=3.0)
    engaged = []
    for step in range(12):  # stands close, then walks away: the face shrinks
        frame = lobby_background()
        paste(frame, face_crop, 250, 100, 230 - 20 * max(0, step - 2))
        engaged += [f.engaged for f in pipeline.process(frame, step / 10)]
    assert engaged[:3] == [True] * 3, engaged  # confirmed on the 2nd frame, close, facing
    assert not any(engaged[8:]), engaged  # walked off (still well inside 3 m)


def test_two_faces_get_two_ids(face_crop):
    pipeline = FacePipeline(make_face_detector("mtcnn"))
    for step in range(3):
        frame = lobby_background()
        paste(frame, face_crop, 60, 100, 120)
        paste(frame, face_crop, 400, 100, 120)
        faces = pipeline.process(frame, step / 10)
    assert len({f.id for f in faces}) == 2


@pytest.fixture(scope="module")
def other_face_crop() -> np.ndarray:
    photo = cv2.imread(str(PHOTOS / "messi5.jpg"))
    x, y, w, h = 222, 88, 38, 46  # labels.json
    return photo[y - 12:y + h + 8, x - 10:x + w + 10].copy()


def _stand(pipeline: FacePipeline, crop, steps: range, height: int = 200) -> list:
    """A face standing ~0.8 m from the robot for these frames (10 fps); one list per frame."""
    seen = []
    for step in steps:
        frame = lobby_background()
        if crop is not None:
            paste(frame, crop, 240, 90, height)
        seen.append(pipeline.process(frame, step / 10))
    return seen


def test_face_lost_for_a_moment_keeps_its_id_and_engagement(face_crop):
    pipeline = FacePipeline(make_face_detector("mtcnn"))
    before = _stand(pipeline, face_crop, range(0, 5))[-1]
    assert len(before) == 1 and before[0].engaged
    assert _stand(pipeline, None, range(5, 15)) == [[]] * 10  # 1 s out of sight: track ended
    after = [f for faces in _stand(pipeline, face_crop, range(15, 18)) for f in faces]
    assert after and {f.id for f in after} == {before[0].id}, "the same face, the same id"
    assert all(f.engaged for f in after) and after[0].first_seen == before[0].first_seen


def test_next_face_on_the_same_spot_or_much_later_gets_a_new_id(face_crop, other_face_crop):
    pipeline = FacePipeline(make_face_detector("mtcnn"))
    first = _stand(pipeline, face_crop, range(0, 5))[-1][0]
    _stand(pipeline, None, range(5, 15))
    nxt = [f for faces in _stand(pipeline, other_face_crop, range(15, 18)) for f in faces]
    assert nxt and first.id not in {f.id for f in nxt}, "someone else stepped up"
    _stand(pipeline, None, range(18, 60))  # 4 s away
    back = [f for faces in _stand(pipeline, face_crop, range(60, 63)) for f in faces]
    assert back and first.id not in {f.id for f in back}, "gone longer than refind_s: new"


def test_face_signature_tells_faces_apart():
    """Measured on scikit-image's LFW subset (100 different people), each face rendered
    twice with small shifts, scale, gain and size changes as between two sightings."""
    from skimage import data

    from vision.reid import FaceSignature

    faces = (data.lfw_subset()[:100] * 255).astype(np.uint8)
    rng = np.random.default_rng(0)

    def sighting(face: np.ndarray) -> FaceSignature:
        big = cv2.resize(face, (100, 100), interpolation=cv2.INTER_CUBIC)
        scale, (dx, dy) = rng.uniform(0.93, 1.07), rng.integers(-4, 5, 2)
        warp = np.float32([[scale, 0, dx + 50 * (1 - scale)], [0, scale, dy + 50 * (1 - scale)]])
        out = cv2.warpAffine(big, warp, (100, 100), borderMode=cv2.BORDER_REPLICATE)
        out = np.clip(out * rng.uniform(0.9, 1.1), 0, 255).astype(np.uint8)
        size = int(rng.integers(45, 90))
        out = cv2.cvtColor(cv2.resize(out, (size, size)), cv2.COLOR_GRAY2BGR)
        return FaceSignature.of(out, (0, 0, size, size))

    same = np.mean([sighting(f).same_face(sighting(f)) for f in faces])
    different = np.mean([sighting(faces[i]).same_face(sighting(faces[j]))
                         for i in range(100) for j in range(i + 1, 100, 5)])
    assert same >= 0.97 and different <= 0.02, (same, different)


# -- queues ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def person_crop() -> np.ndarray:
    photo = cv2.imread(str(PHOTOS / "basketball1.png"))
    return photo[80:480, 25:170].copy()  # the man on the left, head to shoes


CAMERA = LobbyCamera(640, 480, {
    "z1": ((0.0, 250.0), (320.0, 250.0), (320.0, 480.0), (0.0, 480.0)),
    "z2": ((320.0, 250.0), (640.0, 250.0), (640.0, 480.0), (320.0, 480.0))})


def test_people_are_counted_per_zone_with_dwell_and_smoothing(person_crop):
    pipeline = QueuePipeline(make_person_detector("ssdlite"), CAMERA, {"z1": "c1", "z2": "c2"})
    positions = {"z1": [40, 170], "z2": [420]}

    def frame_with(people: dict[str, list[int]]) -> np.ndarray:
        frame = lobby_background()
        for xs in people.values():
            for x in xs:
                paste(frame, person_crop, x, 200, 270)  # feet at y≈470: inside the zones
        return frame

    for step in range(8):
        result = pipeline.process(frame_with(positions), step * 0.25)
    counts = {z.zone_id: z.count for z in result.zones}
    assert counts == {"z1": 2, "z2": 1}
    assert {z.zone_id: z.counter_id for z in result.zones} == {"z1": "c1", "z2": "c2"}
    z1 = next(z for z in result.zones if z.zone_id == "z1")
    assert 1.5 <= z1.max_dwell_s <= 1.8
    result = pipeline.process(lobby_background(), 2.0)  # one frame where nobody is found
    assert {z.zone_id: z.count for z in result.zones} == {"z1": 2, "z2": 1}, "smoothed"
    assert result.raw_counts == {"z1": 0, "z2": 0}


def test_floor_zones_through_a_homography():
    from vision.queues import Zones

    camera = LobbyCamera(640, 480, {"z1": ((0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0))},
                         "floor", ((0.01, 0.0, 0.0), (0.0, 0.01, 0.0), (0.0, 0.0, 1.0)))
    zones = Zones(camera, 1280, 960)  # frames twice the configured size
    assert zones.zone_of((300.0, 300.0)) == "z1"  # → (150, 150) px → (1.5, 1.5) m
    assert zones.zone_of((500.0, 300.0)) == ""


def test_lobby_camera_config_errors_name_file_and_line():
    text = (REPO / "config" / "branch.yaml").read_text(encoding="utf-8")
    bad = text.replace("    z5: [[9.2, 5.0]", "    z9: [[9.2, 5.0]")
    with pytest.raises(BranchConfigError, match=r"branch.yaml:\d+: lobby_camera.zones: "
                                                r"unknown key\(s\) z9"):
        parse_branch_config(bad, "branch.yaml")
    bad = text.replace("z1: [[1.2, 5.0], [2.8, 5.0], [2.8, 7.0], [1.2, 7.0]]", "z1: [[1.2, 5.0]]")
    with pytest.raises(BranchConfigError, match="at least three"):
        parse_branch_config(bad, "branch.yaml")


# -- CLI and bad input -----------------------------------------------------------------------
def test_cli_prints_one_json_line_per_frame_for_an_image_and_a_video(tmp_path, face_crop):
    result = run_cli("vision", str(PHOTOS / "basketball1.png"), "--min-face-px", "24")
    assert result.returncode == 0, result.stderr
    frame = json.loads(result.stdout)
    assert set(frame) == {"frame", "faces", "people", "zones"}
    assert len(frame["people"]) == 2 and frame["faces"][0]["bbox"][0] in range(60, 80)
    assert set(frame["zones"]) == {"z1", "z2", "z3", "z4", "z5"}
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for step in range(6):
        frame = lobby_background()
        paste(frame, face_crop, 250, 100, 100 + 20 * step)
        writer.write(frame)
    writer.release()
    result = run_cli("vision", str(video), "--mode", "faces")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["frame"] for f in lines] == list(range(6))
    ids = {face["id"] for f in lines for face in f["faces"]}
    assert len(ids) == 1 and lines[-1]["faces"][0]["engaged"]
    assert lines[0]["people"] == [] and lines[0]["zones"] == {}


@pytest.mark.parametrize("content, problem", [
    (b"", "empty file"),
    (b"\xff\xd8\xff\xe0 truncated jpeg", "cannot decode the image"),
])
def test_cli_bad_files_get_a_clear_error(tmp_path, content, problem):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    result = run_cli("vision", str(path))
    assert result.returncode == 2 and problem in result.stderr and result.stdout == ""


def test_cli_missing_file():
    result = run_cli("vision", "/no/such/frame.png")
    assert result.returncode == 2 and "no such file" in result.stderr


def test_camera_unplugged_mid_stream_is_reopened(tmp_path):
    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(3):
        writer.write(lobby_background(64, 48))
    writer.release()
    camera = Camera(str(video), backoff_s=0.05, max_backoff_s=0.2)
    assert all(camera.read() is not None for _ in range(3))
    shutil.move(video, tmp_path / "unplugged.avi")
    assert camera.read() is None and not camera.stats.connected  # end of stream: lost
    assert "stopped delivering" in camera.stats.last_error
    time.sleep(0.1)
    assert camera.read() is None and "cannot open" in camera.stats.last_error
    shutil.move(tmp_path / "unplugged.avi", video)  # plugged back in
    assert wait_until(lambda: camera.read() is not None, 3)
    assert camera.stats.connected and camera.stats.reopens >= 2
    camera.close()
    with pytest.raises(SourceError, match="cannot open as video"):
        list(read_frames(str(tmp_path)))  # a directory is no video


# -- nodes -----------------------------------------------------------------------------------
IMAGE_ZONES = """
lobby_camera:
  width: 640
  height: 480
  zones:
    z1: [[20, 200], [140, 200], [140, 470], [20, 470]]
    z2: [[140, 200], [260, 200], [260, 470], [140, 470]]
"""


def image_zone_config(tmp_path) -> Path:
    text = (REPO / "config" / "branch.yaml").read_text(encoding="utf-8")
    path = tmp_path / "branch.yaml"
    path.write_text(text.split("\nlobby_camera:")[0] + IMAGE_ZONES, encoding="utf-8")
    return path


def test_faces_and_queue_nodes_on_the_in_process_graph(face_crop, person_crop, tmp_path):
    from lobbybot.node.host import NodeProcess
    from lobbybot.node.params import RosArgs
    from lobbybot.transport.inproc import InProcessBus, InProcessTransport
    from vision.node import FacesNode, QueuesNode

    bus = InProcessBus()
    faces_node = NodeProcess(FacesNode, InProcessTransport(bus, "faces"), RosArgs(
        overrides={"max_fps": 100.0}))
    queues_node = NodeProcess(QueuesNode, InProcessTransport(bus, "queues"), RosArgs(
        overrides={"max_fps": 100.0, "publish_period_s": 0.05,
                   "branch_config": str(image_zone_config(tmp_path))}))
    sim = InProcessTransport(bus, "camera_driver")
    head = sim.create_publisher("/head_camera/image_raw", std.Image)
    lobby = sim.create_publisher("/lobby_camera/image_raw", std.Image)
    tracked: list = []
    queues: list = []
    sim.create_subscription("/humans/faces/tracked_faces", msg.TrackedFaceArray, tracked.append)
    sim.create_subscription("/lobby/queues", msg.QueueState, queues.append)
    for step in range(8):
        frame = lobby_background()
        paste(frame, face_crop, 250, 80, 150 + 10 * step)
        image = std.Image(**bgr_to_image_fields(frame, "rgb8"))
        image.header.stamp.sec, image.header.frame_id = step, "head_camera"
        head.publish(image)
        assert bus.spin_until(lambda n=step: faces_node.component.processed > n, 5)
    assert tracked[-1].faces and tracked[-1].faces[0].engaged
    assert tracked[-1].header.frame_id == "head_camera"
    assert not math.isnan(tracked[-1].faces[0].distance_m)
    head.publish(std.Image(height=10, width=10, encoding="rgb8", step=30, data=b"short"))
    assert bus.spin_until(lambda: faces_node.component.bad_frames == 1, 5)
    frame = lobby_background()
    paste(frame, person_crop, 40, 200, 270)  # feet in image zone z1
    lobby.publish(std.Image(**bgr_to_image_fields(frame)))
    assert bus.spin_until(lambda: queues and any(z.count for z in queues[-1].zones), 5)
    z1 = next(z for z in queues[-1].zones if z.zone_id == "z1")
    assert z1.count == 1 and z1.counter_id == "c1"
    faces_node.close()
    queues_node.close()


def test_queue_node_needs_zones(tmp_path):
    from lobbybot.node.host import NodeProcess
    from lobbybot.node.params import ConfigError, RosArgs
    from lobbybot.transport.inproc import InProcessBus, InProcessTransport
    from vision.node import QueuesNode

    text = (REPO / "config" / "branch.yaml").read_text(encoding="utf-8")
    config = tmp_path / "b.yaml"
    config.write_text(text.split("\nlobby_camera:")[0], encoding="utf-8")
    with pytest.raises(ConfigError, match="no lobby_camera section"):
        NodeProcess(QueuesNode, InProcessTransport(InProcessBus(), "queues"),
                    RosArgs(overrides={"branch_config": str(config)}))



def test_launched_vision_nodes_over_zmq_feed_the_dialog(spawn, zmq_port, tmp_path, face_crop,
                                                        all_day_config):
    """The launched lobby graph: a camera frame in → faces node → engaged → dialog greets →
    speak node says it (audio out); the customer's voice in → listen → dialog understands."""
    import threading

    from lobbybot.transport.zmq_endpoints import ZmqEndpoints
    from lobbybot.transport.zmq_transport import ZmqTransport
    from speech.audio import encode_s16le
    from speech.voices import speak

    endpoints = ZmqEndpoints(port=zmq_port)
    launch = spawn("launch", "launch/lobby.launch.yaml", "--transport", "zmq",
                   f"branch_config:={all_day_config}", f"db_path:={tmp_path / 't.sqlite'}",
                   "audio_source:=topic", "audio_output:=topic", env=endpoints.as_env())
    for node in ("faces", "queues", "dialog", "listen", "speak"):
        launch.wait_for(f"/{node} started on", 30)
    camera = ZmqTransport("camera_driver", endpoints=endpoints)
    says: list = []
    camera.create_subscription("/speech/say", msg.Say, says.append)
    statuses: list = []
    camera.create_subscription("/speech/tts_status", msg.TtsStatus, statuses.append)
    played: list = []
    camera.create_subscription("/audio/out", msg.AudioChunk, played.append)
    intents: list = []
    camera.create_subscription("/dialog/intent", msg.Intent, intents.append)
    mic = camera.create_publisher("/audio/in", msg.AudioChunk)
    stop = threading.Event()
    spinner = threading.Thread(target=camera.spin, args=(stop,), daemon=True)
    spinner.start()
    head = camera.create_publisher("/head_camera/image_raw", std.Image)
    frame = lobby_background()
    paste(frame, face_crop, 250, 60, 260)  # close, facing the robot
    image = std.Image(**bgr_to_image_fields(frame, "rgb8"))
    try:
        assert wait_until(lambda: says or head.publish(image) or time.sleep(0.1), 20)
        assert says[0].reply_id == "greet" and says[0].session_id.startswith("face-")
        # The greeting is spoken: speaking → done, with audio on /audio/out.
        assert wait_until(lambda: any(s.say_id == says[0].say_id and s.state == 2
                                      for s in statuses), 30)
        assert played and played[0].sample_rate > 0
        # The customer answers by voice.
        voice = np.concatenate([speak("I lost my bank card.", "piper:en_US-joe-medium:1.0"),
                                np.zeros(16000, np.float32)])
        started = time.monotonic()
        for i in range(0, len(voice), 320):
            mic.publish(msg.AudioChunk(sample_rate=16000, channels=1, encoding="s16le",
                                       data=encode_s16le(voice[i:i + 320]), source="sim"))
            time.sleep(max(0.0, started + (i + 320) / 16000 - time.monotonic()))
        assert wait_until(lambda: intents, 20)
        assert intents[0].label == "card_lost", intents[0]
    finally:
        stop.set()
        spinner.join(2)
        camera.close()
    assert launch.interrupt() == 0
