"""The contracts: parsed from the .msg files, validated strictly, carried intact by the codec."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from lobbybot.contracts import MessageError, from_wire, msg, registry, srv, std, to_wire, validate
from lobbybot.contracts.docs import render
from lobbybot.contracts.samples import sample

REPO = Path(__file__).resolve().parents[1]
IFACE = REPO / "robot_ws" / "src" / "lobby_interfaces"
VENDORED = REPO / "lobbybot" / "contracts" / "interfaces"


def test_every_interface_file_is_built_and_loaded():
    listed = set(re.findall(r'"((?:msg|srv)/\w+\.(?:msg|srv))"',
                            (IFACE / "CMakeLists.txt").read_text()))
    on_disk = {str(p.relative_to(IFACE)) for p in [*IFACE.glob("msg/*.msg"),
                                                   *IFACE.glob("srv/*.srv")]}
    assert listed == on_disk, "CMakeLists.txt and msg/ srv/ disagree"
    reg = registry()
    for path in on_disk:
        kind, name = path.split("/")
        full = f"lobby_interfaces/{kind}/{name.split('.')[0]}"
        assert full in (reg.services if kind == "srv" else reg.messages)


def test_issue_required_contracts_exist():
    face = msg.TrackedFace()
    assert {"id", "bbox", "distance_m", "engaged"} <= set(vars(face))
    assert {"count", "mean_dwell_s"} <= set(vars(msg.QueueZoneState()))
    assert {"is_final", "language", "confidence", "utterance_id", "start", "end"} <= set(
        vars(msg.Transcript()))
    assert {"label", "confidence", "slots"} <= set(vars(msg.Intent()))
    assert {"text", "language", "interruptible"} <= set(vars(msg.Say()))
    assert {"number", "service", "counter_id", "eta_s", "priority"} <= set(vars(msg.Ticket()))
    assert srv.IssueTicket.Request and srv.CallNext.Response


@pytest.mark.parametrize("path", sorted(p for p in VENDORED.glob("*/msg/*.msg")
                                         if p.parts[-3] != "lobby_interfaces"),
                         ids=lambda p: p.stem)
def test_vendored_standard_types_match_ros(path):
    import importlib.util
    spec = importlib.util.find_spec("rclpy")
    if spec is None:
        pytest.skip("ROS 2 wheels not installed")
    share = Path(spec.origin).parents[4] / "share"
    upstream = share / path.parent.parent.name / "msg" / path.name
    assert upstream.exists(), f"{upstream} missing from the ROS 2 wheels"
    assert path.read_text() == upstream.read_text()


@pytest.mark.parametrize("name", sorted(registry().messages))
def test_every_type_round_trips_the_wire_codec(name):
    cls = registry().messages[name]
    message = sample(cls)
    validate(message)
    data, blobs = to_wire(message)
    assert from_wire(cls, data, blobs) == message
    assert message != cls(), "sample must differ from defaults to prove anything"


def _ticket_data(**changes):
    data, _ = to_wire(msg.Ticket(number="A001", service="cash"))
    data.update(changes)
    return data


@pytest.mark.parametrize("changes, problem", [
    ({"number": 5}, "number: expected string"),
    ({"position": -1}, "position: -1 out of range for uint32"),
    ({"priority": 9}, "priority: 9 is not one of PRIORITY_NORMAL=0"),
    ({"priority": True}, "priority: expected uint8 integer, got bool"),
    ({"eta_s": "soon"}, "eta_s: expected float32"),
    ({"eta_s": 1e39}, "out of range for float32"),
    ({"issued_at": {"sec": 1}}, "issued_at: missing field(s) nanosec"),
    ({"colour": "red"}, "unknown field(s) colour"),
])
def test_decoding_rejects_malformed_fields_naming_them(changes, problem):
    with pytest.raises(MessageError) as info:
        from_wire(msg.Ticket, _ticket_data(**changes))
    assert problem in str(info.value)


def test_missing_field_and_bad_binary_reference_are_rejected():
    data = _ticket_data()
    del data["service"]
    with pytest.raises(MessageError, match="missing field.*service"):
        from_wire(msg.Ticket, data)
    image, blobs = to_wire(std.Image(height=1, width=1, encoding="mono8", step=1, data=b"\x07"))
    assert from_wire(std.Image, image, blobs).data == b"\x07"
    with pytest.raises(MessageError, match=r"data: binary reference 3"):
        from_wire(std.Image, {**image, "data": {"$bin": 3}}, blobs)
    with pytest.raises(MessageError, match="data: expected a binary reference"):
        from_wire(std.Image, {**image, "data": [7]}, blobs)


def test_fixed_size_arrays_and_nan_are_checked():
    info = std.CameraInfo()
    info.k = [0.0] * 8
    with pytest.raises(MessageError, match="k: 8 elements, exactly 9 required"):
        validate(info)
    face = msg.TrackedFace(distance_m=math.nan)  # NaN = distance unknown: allowed
    data, blobs = to_wire(face)
    assert math.isnan(from_wire(msg.TrackedFace, data, blobs).distance_m)


def test_validate_catches_wrong_nested_types():
    array = msg.TrackedFaceArray(faces=[msg.Ticket()])
    with pytest.raises(MessageError, match=r"faces\[0\]: expected lobby_interfaces/msg/Track"):
        validate(array)


def test_contract_docs_are_generated_and_current():
    committed = (REPO / "docs" / "contracts.md").read_text(encoding="utf-8")
    assert committed == render(), "run: lobbybot interfaces docs > docs/contracts.md"
