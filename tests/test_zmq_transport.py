"""ZMQ transport over real sockets and a real bus: delivery, services, malformed input."""

from __future__ import annotations

import json
import threading
import time

import pytest
import zmq
from conftest import wait_until

from lobbybot.contracts import msg, srv, std
from lobbybot.transport import ServiceFailed, ServiceUnavailable
from lobbybot.transport.zmq_bus import ZmqBus
from lobbybot.transport.zmq_endpoints import ZmqEndpoints
from lobbybot.transport.zmq_transport import ZmqTransport
from lobbybot.transport.zmq_wire import encode_topic


@pytest.fixture
def endpoints(zmq_port):
    stop = threading.Event()
    eps = ZmqEndpoints(port=zmq_port)
    bus = ZmqBus(eps)
    thread = threading.Thread(target=bus.run, args=(stop,), daemon=True)
    thread.start()
    yield eps
    stop.set()
    thread.join(2)


@pytest.fixture
def nodes(endpoints):
    made, stop = [], threading.Event()

    def make(name, spin=True):
        node = ZmqTransport(name, endpoints=endpoints)
        made.append(node)
        if spin:
            threading.Thread(target=node.spin, args=(stop,), daemon=True).start()
        return node

    yield make
    stop.set()
    time.sleep(0.1)
    for node in made:
        node.close()



def test_image_crosses_the_bus_intact(nodes):
    sender, receiver = nodes("camera", spin=False), nodes("vision")
    got = []
    receiver.create_subscription("/head_camera/image_raw", std.Image, got.append)
    frame = std.Image(height=480, width=640, encoding="rgb8", step=1920,
                      data=bytes(range(256)) * 3600)
    pub = sender.create_publisher("/head_camera/image_raw", std.Image)
    assert wait_until(lambda: got or pub.publish(frame))
    assert got[0] == frame


def test_exact_topic_match_not_prefix(nodes):
    sender, receiver = nodes("a", spin=False), nodes("b")
    short, long_ = [], []
    receiver.create_subscription("/lobby/tickets", msg.Ticket, short.append)
    receiver.create_subscription("/lobby/tickets_archive", msg.Ticket, long_.append)
    pub = sender.create_publisher("/lobby/tickets_archive", msg.Ticket)
    assert wait_until(lambda: long_ or pub.publish(msg.Ticket(number="A1")))
    assert short == []


def test_services_ok_error_and_unavailable(nodes, endpoints):
    server = nodes("routing")

    def call_next(request):
        if request.counter_id == "x":
            raise RuntimeError("database locked")
        return srv.CallNext.Response(found=True, ticket=msg.Ticket(number="C009"))

    server.create_service("/lobby/call_next", srv.CallNext, call_next)
    client = nodes("teller", spin=False).create_client("/lobby/call_next", srv.CallNext)
    assert client.wait_for_service(5)
    assert client.call(srv.CallNext.Request(counter_id="c1")).ticket.number == "C009"
    with pytest.raises(ServiceFailed, match="server error: RuntimeError: database locked"):
        client.call(srv.CallNext.Request(counter_id="x"))
    other = nodes("k", spin=False).create_client("/lobby/issue_ticket", srv.IssueTicket)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="no server for /lobby/issue_ticket"):
        other.call(srv.IssueTicket.Request(), timeout_s=5)
    assert time.monotonic() - started < 1.0, "unavailable must be answered at once"


def test_malformed_frames_are_rejected_and_counted(nodes, endpoints):
    receiver = nodes("victim")
    got = []
    receiver.create_subscription("/t", msg.Ticket, got.append)
    ctx = zmq.Context.instance()
    raw = ctx.socket(zmq.PUB)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(endpoints.publish)
    good = encode_topic("/t", msg.Ticket(number="A1"), "/x", 1)
    assert wait_until(lambda: got or raw.send_multipart(good))
    envelope = json.loads(good[1])
    bad_frames = [
        [b"/t"],                                                # no envelope
        [b"/t", b"\xff\xfe"],                                   # not UTF-8
        [b"/t", b"{not json"],
        [b"/t", b"[1, 2]"],                                     # not an object
        [b"/t", json.dumps({**envelope, "v": 99}).encode()],    # wrong version
        [b"/t", json.dumps({**envelope, "type": "lobby_interfaces/msg/Say"}).encode()],
        [b"/t", json.dumps({**envelope, "msg": {**envelope["msg"], "priority": 7}}).encode()],
        [b"/t", json.dumps({**envelope, "msg": {"number": "A1"}}).encode()],
    ]
    for frames in bad_frames:
        raw.send_multipart(frames)
    raw.send_multipart(good)
    assert wait_until(lambda: len(got) >= 2 and receiver.stats.rejected_total == len(bad_frames))
    reasons = receiver.stats.snapshot()["rejected_by_reason"]
    assert reasons == {"frames": 1, "encoding": 2, "envelope": 1, "version": 1,
                       "wrong_type": 1, "invalid_field": 2}
    raw.close()


def test_bus_refuses_network_binding_without_security():
    with pytest.raises(ValueError, match="without CURVE keys.*lobbybot kiosk keys DIR"):
        ZmqBus(ZmqEndpoints(host="0.0.0.0", port=7650))


def test_network_bus_with_curve_serves_authorized_nodes_only(tmp_path, zmq_port):
    """Kiosk network mode: all interfaces, CURVE; a node without the keys gets nothing."""
    from lobbybot.transport.zmq_security import CurveKeys, generate_keys

    generate_keys(tmp_path / "keys")
    keys = CurveKeys.load(tmp_path / "keys", need_bus_secret=True)
    stranger_keys = tmp_path / "stranger"
    generate_keys(stranger_keys)  # a valid key pair the bus never authorized
    endpoints = ZmqEndpoints(host="0.0.0.0", port=zmq_port)
    stop = threading.Event()
    bus = threading.Thread(target=ZmqBus(endpoints, keys=keys).run, args=(stop,), daemon=True)
    bus.start()
    made = []

    def node(name, node_keys):
        transport = ZmqTransport(name, endpoints=endpoints, keys=node_keys)
        made.append(transport)
        threading.Thread(target=transport.spin, args=(stop,), daemon=True).start()
        return transport

    try:
        server = node("routing", keys)
        server.create_service("/lobby/call_next", srv.CallNext,
                              lambda r: srv.CallNext.Response(found=True, error=r.counter_id))
        board = server.create_publisher("/lobby/board", msg.BoardState)
        friend = node("kiosk", keys)
        stranger = node("intruder", CurveKeys.load(stranger_keys))
        heard = {"kiosk": [], "intruder": []}
        friend.create_subscription("/lobby/board", msg.BoardState, heard["kiosk"].append)
        stranger.create_subscription("/lobby/board", msg.BoardState, heard["intruder"].append)
        assert wait_until(lambda: heard["kiosk"] or board.publish(msg.BoardState()))
        client = friend.create_client("/lobby/call_next", srv.CallNext)
        assert client.wait_for_service(5)
        assert client.call(srv.CallNext.Request(counter_id="c1"), 5).error == "c1"
        with pytest.raises(ServiceUnavailable):
            stranger.create_client("/lobby/call_next", srv.CallNext).call(
                srv.CallNext.Request(counter_id="c1"), 1.0)
        for _ in range(10):
            board.publish(msg.BoardState())
            time.sleep(0.05)
        assert heard["intruder"] == [], "an unauthorized node must not see topics"
    finally:
        stop.set()
        bus.join(2)
        for transport in made:
            transport.close()


def test_bus_cli_names_missing_keys(tmp_path):
    from conftest import run_cli

    result = run_cli("bus", env={"LOBBYBOT_ZMQ_HOST": "0.0.0.0",
                                 "LOBBYBOT_ZMQ_KEYS": str(tmp_path / "none")})
    assert result.returncode == 2
    assert "cannot read CURVE keys" in result.stderr and "lobbybot kiosk keys" in result.stderr
