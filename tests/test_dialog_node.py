"""The dialog node in the real node graph (in-process transport) with the routing node."""

from __future__ import annotations

from pathlib import Path

from lobbybot.contracts import msg
from lobbybot.node.host import NodeProcess
from lobbybot.node.params import RosArgs
from lobbybot.transport.inproc import InProcessBus, InProcessTransport

REPO = Path(__file__).resolve().parents[1]


def test_engaged_customer_is_greeted_understood_and_ticketed(tmp_path):
    from dialog.node import DialogNode
    from routing.node import RoutingNode

    config = tmp_path / "branch.yaml"
    config.write_text((REPO / "config" / "branch.yaml").read_text(encoding="utf-8").replace(
        '"09:00-17:00"', '"00:00-23:59"').replace('["09:00-12:00", "13:00-17:00"]',
                                                  '"00:00-23:59"'), encoding="utf-8")
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
    faces.publish(msg.TrackedFaceArray(faces=[]))  # the customer leaves
    assert bus.spin_until(lambda: "face-f1" not in dialog.component.dm.sessions)
    dialog.close()
    routing.close()
