"""ROS 2 transport with real rclpy + Fast DDS: conversion, delivery, services, bad input."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import requires_ros, wait_until

from lobbybot.contracts import msg, registry, srv, std
from lobbybot.contracts.samples import sample

pytestmark = [requires_ros, pytest.mark.ros]


@pytest.fixture(scope="module")
def ros():
    from lobbybot.transport.ros import RosTransport, shutdown_ros

    stop = threading.Event()
    made = []

    def make(name):
        node = RosTransport(name)
        made.append(node)
        threading.Thread(target=node.spin, args=(stop,), daemon=True).start()
        return node

    yield make
    stop.set()
    time.sleep(0.2)
    for node in made:
        node.close()
    shutdown_ros()



@pytest.mark.parametrize("name", sorted(registry().messages))
def test_every_type_converts_to_rclpy_and_back(name):
    from lobbybot.transport.ros_convert import from_ros, to_ros

    cls = registry().messages[name]
    message = sample(cls)
    assert from_ros(to_ros(message), cls) == message


def test_pub_sub_and_service_between_nodes(ros):
    camera, vision = ros("camera_t"), ros("vision_t")
    got = []
    vision.create_subscription("/t_faces", msg.TrackedFaceArray, got.append)
    pub = camera.create_publisher("/t_faces", msg.TrackedFaceArray)
    faces = sample(msg.TrackedFaceArray)
    assert wait_until(lambda: got, every=lambda: pub.publish(faces))
    assert got[0] == faces

    vision.create_service("/t_call_next", srv.CallNext,
                          lambda r: srv.CallNext.Response(found=True, ticket=msg.Ticket(
                              number="A7", counter_id=r.counter_id)))
    client = camera.create_client("/t_call_next", srv.CallNext)
    assert client.wait_for_service(10)
    assert client.call(srv.CallNext.Request(counter_id="c3")).ticket.counter_id == "c3"


def test_invalid_values_from_a_foreign_ros_node_are_rejected_and_counted(ros):
    """A plain rclpy publisher can send values our contract forbids (enum out of range)."""
    from lobby_interfaces.msg import Ticket as RosTicket

    receiver = ros("receiver_t")
    got = []
    receiver.create_subscription("/t_tickets", msg.Ticket, got.append)
    foreign = ros("foreign_t").node
    raw_pub = foreign.create_publisher(RosTicket, "/t_tickets", 10)
    bad = RosTicket(number="A1", priority=200)
    assert wait_until(lambda: receiver.stats.rejected_total > 0, every=lambda: raw_pub.publish(bad))
    good = RosTicket(number="A2", priority=RosTicket.PRIORITY_VIP)
    assert wait_until(lambda: got, every=lambda: raw_pub.publish(good))
    assert got[0].number == "A2"
    assert receiver.stats.snapshot()["rejected_by_reason"].keys() == {"invalid_field"}


def test_service_handler_failure_reaches_the_client(ros):
    from lobbybot.transport import ServiceFailed

    server, caller = ros("server_t"), ros("caller_t")

    def broken(request):
        raise RuntimeError("ticket store offline")

    server.create_service("/t_issue", srv.IssueTicket, broken)
    client = caller.create_client("/t_issue", srv.IssueTicket)
    assert client.wait_for_service(10)
    with pytest.raises(ServiceFailed, match="ticket store offline"):
        client.call(srv.IssueTicket.Request(request_id="r1", service="cash"))
    assert server.stats.snapshot()["handler_errors"] == 1


def test_diagnostic_levels_are_bytes_on_ros_and_ints_here():
    from lobbybot.transport.ros_convert import to_ros

    ros_status = to_ros(std.DiagnosticStatus(level=std.DiagnosticStatus.WARN))
    assert ros_status.level == b"\x01"
