"""The dialog node in the real node graph (in-process transport) with the routing node."""

from __future__ import annotations

from pathlib import Path

from conftest import requires_ros, run_cli

from lobbybot.contracts import msg, std
from lobbybot.node.host import NodeProcess
from lobbybot.node.params import RosArgs
from lobbybot.transport.inproc import InProcessBus, InProcessTransport

REPO = Path(__file__).resolve().parents[1]


def face(face_id: str) -> msg.TrackedFace:
    return msg.TrackedFace(id=face_id, engaged=True, distance_m=1.0, bbox=std.RegionOfInterest(
        x_offset=300, y_offset=100, width=90, height=110))


def seen(*tracked: msg.TrackedFace) -> msg.TrackedFaceArray:
    return msg.TrackedFaceArray(faces=list(tracked))


def test_engaged_customer_is_greeted_understood_and_ticketed(tmp_path, all_day_config):
    from dialog.node import DialogNode
    from routing.node import RoutingNode

    config = all_day_config
    bus = InProcessBus()
    routing = NodeProcess(RoutingNode, InProcessTransport(bus, "routing"), RosArgs(overrides={
        "branch_config": str(config), "db_path": str(tmp_path / "t.sqlite")}))
    dialog = NodeProcess(DialogNode, InProcessTransport(bus, "dialog"), RosArgs(overrides={
        "audit_path": str(tmp_path / "audit.jsonl")}))
    robot = InProcessTransport(bus, "robot")  # stands in for the vision and speech nodes
    says, intents, tickets = [], [], []
    robot.create_subscription("/speech/say", msg.Say, says.append)
    robot.create_subscription("/dialog/intent", msg.Intent, intents.append)
    robot.create_subscription("/lobby/tickets", msg.Ticket, tickets.append)
    faces = robot.create_publisher("/humans/faces/tracked_faces", msg.TrackedFaceArray)
    speech = robot.create_publisher("/speech/transcript", msg.Transcript)
    tts = robot.create_publisher("/speech/tts_status", msg.TtsStatus)

    def hear(text: str, n: int) -> None:
        speech.publish(msg.Transcript(utterance_id=f"u{n}", text=text, language="zh",
                                      confidence=0.9, is_final=True))

    faces.publish(msg.TrackedFaceArray(faces=[msg.TrackedFace(id="f1", engaged=True,
                                                              distance_m=1.2)]))
    assert bus.spin_until(lambda: says)
    assert says[0].reply_id == "greet" and says[0].session_id == "face-f1"
    speech.publish(msg.Transcript(utterance_id="p1", text="我的卡", is_final=False))  # partial
    hear("我的卡丢了", 1)
    assert bus.spin_until(lambda: len(says) == 2 and intents)
    assert says[1].text == "您是要挂失银行卡，对吗？" and intents[0].label == "card_lost"
    tts.publish(msg.TtsStatus(say_id=says[1].say_id, state=msg.TtsStatus.STATE_SPEAKING))
    hear("对", 2)  # said while the robot is still asking: answered at once
    assert bus.spin_until(lambda: len(says) == 3 and tickets)
    assert tickets[0].service == "personal" and tickets[0].number in says[2].text
    assert dialog.component.barge_ins == 1
    faces.publish(msg.TrackedFaceArray(faces=[]))  # the customer leaves (after reacquire_s)
    assert bus.spin_until(lambda: "face-f1" not in dialog.component.dm.sessions, 6)
    dialog.close()
    routing.close()


def test_face_lost_for_a_moment_keeps_the_conversation_and_a_new_face_is_greeted(
        tmp_path, all_day_config):
    """Vision keeps a face's id through a brief loss (it compares appearance): the same id
    back continues the conversation; a new id on the same spot moments later, while the
    robot still waits for the last customer's answer, is the next customer."""
    from dialog.node import DialogNode
    from routing.node import RoutingNode

    bus = InProcessBus()
    routing = NodeProcess(RoutingNode, InProcessTransport(bus, "routing"), RosArgs(overrides={
        "branch_config": str(all_day_config), "db_path": str(tmp_path / "t.sqlite")}))
    dialog = NodeProcess(DialogNode, InProcessTransport(bus, "dialog"), RosArgs())
    robot = InProcessTransport(bus, "robot")
    says = []
    robot.create_subscription("/speech/say", msg.Say, says.append)
    faces = robot.create_publisher("/humans/faces/tracked_faces", msg.TrackedFaceArray)
    speech = robot.create_publisher("/speech/transcript", msg.Transcript)

    faces.publish(seen(face("7")))
    speech.publish(msg.Transcript(utterance_id="u1", text="我想开个户", is_final=True))
    assert bus.spin_until(lambda: [s.reply_id for s in says] == ["greet", "confirm"])
    faces.publish(seen())  # someone walks past: the face is lost
    faces.publish(seen(face("7")))  # ... and found again
    speech.publish(msg.Transcript(utterance_id="u2", text="对", is_final=True))
    assert bus.spin_until(lambda: len(says) == 3)
    assert says[2].reply_id in ("ticket", "ticket_now") and says[2].session_id == "face-7"
    faces.publish(seen(face("8")))  # the next customer
    speech.publish(msg.Transcript(utterance_id="u3", text="我想开个户", is_final=True))
    assert bus.spin_until(lambda: [s.reply_id for s in says[3:]] == ["greet", "confirm"])
    faces.publish(seen())  # walks off without answering; the next one steps up at once
    faces.publish(seen(face("9")))
    assert bus.spin_until(lambda: len(says) == 6)
    assert says[5].reply_id == "greet" and says[5].session_id == "face-9", "a new customer"
    assert "face-8" not in dialog.component.dm.sessions
    dialog.close()
    routing.close()


def test_dialog_node_process_over_zmq_with_routing(spawn, zmq_port, tmp_path, all_day_config):
    """The launched graph (routing + dialog) answers a spoken request with a ticket."""
    import threading
    import time

    from lobbybot.transport.zmq_endpoints import ZmqEndpoints
    from lobbybot.transport.zmq_transport import ZmqTransport

    config = all_day_config
    endpoints = ZmqEndpoints(port=zmq_port)
    launch = spawn("launch", "launch/lobby.launch.yaml", "--transport", "zmq",
                   "with_vision:=false", "with_speech:=false",
                   f"branch_config:={config}", f"db_path:={tmp_path / 't.sqlite'}",
                   env=endpoints.as_env())
    launch.wait_for("/dialog started on")
    launch.wait_for("/routing started on")
    robot = ZmqTransport("robot_test", endpoints=endpoints)
    says: list = []
    robot.create_subscription("/speech/say", msg.Say, says.append)
    stop = threading.Event()
    spinner = threading.Thread(target=robot.spin, args=(stop,), daemon=True)
    spinner.start()
    speech = robot.create_publisher("/speech/transcript", msg.Transcript)
    try:
        deadline = time.monotonic() + 15
        while not says and time.monotonic() < deadline:  # until the subscription is live
            speech.publish(msg.Transcript(utterance_id="u0", text="你好", is_final=True))
            time.sleep(0.3)
        assert says, launch.output()[-2000:]
        for text in ("I'd like to open a savings account", "yes"):
            count = len(says)
            speech.publish(msg.Transcript(utterance_id=text, text=text, is_final=True))
            deadline = time.monotonic() + 10
            while len(says) == count and time.monotonic() < deadline:
                time.sleep(0.05)
        assert says[-2].reply_id == "confirm"
        assert says[-1].reply_id in ("ticket", "ticket_now") and "B0" in says[-1].text
        assert says[-1].language == "en"
    finally:
        stop.set()
        spinner.join(2)
        robot.close()
    assert launch.interrupt() == 0


@requires_ros
def test_dialog_node_process_over_ros_with_routing(spawn, ros_domain, tmp_path, all_day_config):
    """The same graph on ROS 2: transcripts in with `lobbybot topic pub`, Say out on echo.

    Discovery takes a variable time on a loaded machine, so each utterance is re-sent until
    its answer shows (a repeated request is answered again, never ticketed twice)."""
    import json
    import time

    env = {"ROS_DOMAIN_ID": ros_domain}
    launch = spawn("launch", "launch/lobby.launch.yaml", "--transport", "ros",
                   "with_vision:=false", "with_speech:=false", f"branch_config:={all_day_config}",
                   f"db_path:={tmp_path / 't.sqlite'}", env=env)
    launch.wait_for("/dialog started on")
    launch.wait_for("/routing started on")
    echo = spawn("topic", "echo", "/speech/say", "lobby_interfaces/msg/Say", "--transport",
                 "ros", env=env)

    def says() -> list[dict]:
        return [json.loads(line)["msg"] for line in list(echo.lines) if line.startswith("{")]

    for text, wanted in (("我想开个户", {"confirm"}), ("对", {"ticket", "ticket_now"})):
        deadline = time.monotonic() + 40
        while not any(s["reply_id"] in wanted for s in says()):
            assert time.monotonic() < deadline, f"no {wanted} reply; got {says()}"
            result = run_cli("topic", "pub", "/speech/transcript",
                             "lobby_interfaces/msg/Transcript",
                             json.dumps({"text": text, "is_final": True, "utterance_id": text},
                                        ensure_ascii=False), "--transport", "ros", env=env)
            assert result.returncode == 0, result.stderr
            time.sleep(1.0)
    ticket = next(s for s in says() if s["reply_id"] in ("ticket", "ticket_now"))
    assert "B001" in ticket["text"] and ticket["language"] == "zh", launch.output()
    assert launch.interrupt() == 0
