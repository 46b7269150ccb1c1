"""The in-process transport: delivery, services, and failures that must not stop a node."""

from __future__ import annotations

import threading

import pytest

from lobbybot.contracts import msg, srv
from lobbybot.transport import ServiceFailed, ServiceUnavailable
from lobbybot.transport.inproc import InProcessBus, InProcessTransport


@pytest.fixture
def bus():
    return InProcessBus()


def test_publish_subscribe_and_remap(bus):
    kiosk = InProcessTransport(bus, "kiosk", namespace="/branch1")
    board = InProcessTransport(bus, "board", namespace="/branch1",
                               remaps={"calls": "/lobby/counter_calls"})
    got = []
    board.create_subscription("calls", msg.CounterCall, got.append)
    kiosk.create_publisher("/lobby/counter_calls", msg.CounterCall).publish(
        msg.CounterCall(ticket_number="A001", counter_id="c1", call_count=1))
    relative = []
    board.create_subscription("tickets", msg.Ticket, relative.append)
    kiosk.create_publisher("tickets", msg.Ticket).publish(msg.Ticket(number="B002"))
    assert bus.spin_until(lambda: got and relative)
    assert got[0].ticket_number == "A001"
    assert relative[0].number == "B002"  # both resolved to /branch1/tickets


def test_wrong_type_and_failing_callback_are_counted_and_node_keeps_running(bus):
    sender = InProcessTransport(bus, "sender")
    receiver = InProcessTransport(bus, "receiver")
    got = []

    def callback(ticket):
        if ticket.number == "BOOM":
            raise RuntimeError("component bug")
        got.append(ticket.number)

    receiver.create_subscription("/t", msg.Ticket, callback)
    bus.publish("/t", msg.Say(text="not a ticket"))  # a foreign publisher's wrong type
    bad = msg.Ticket(number="A1")
    bad.priority = 42
    bus.publish("/t", bad)  # bypasses Publisher validation, like a buggy peer
    pub = sender.create_publisher("/t", msg.Ticket)
    pub.publish(msg.Ticket(number="BOOM"))
    pub.publish(msg.Ticket(number="A002"))
    assert bus.spin_until(lambda: got == ["A002"])
    stats = receiver.stats.snapshot()
    assert stats["rejected_by_reason"] == {"wrong_type": 1, "invalid_field": 1}
    assert stats["handler_errors"] == 1
    assert stats["received"] == 2


def test_publisher_refuses_invalid_messages(bus):
    pub = InProcessTransport(bus, "n").create_publisher("/t", msg.Ticket)
    with pytest.raises(ValueError, match="priority"):
        pub.publish(msg.Ticket(priority=99))
    with pytest.raises(ValueError, match="carries lobby_interfaces/msg/Ticket"):
        pub.publish(msg.Say())


def test_services_answer_fail_and_report_unavailable(bus):
    server = InProcessTransport(bus, "routing")
    client_node = InProcessTransport(bus, "kiosk")

    def call_next(request):
        if request.counter_id == "broken":
            raise KeyError("no such counter")
        return srv.CallNext.Response(found=True, ticket=msg.Ticket(number="A001",
                                                                   counter_id=request.counter_id))

    server.create_service("/lobby/call_next", srv.CallNext, call_next)
    client = client_node.create_client("/lobby/call_next", srv.CallNext)
    assert client.wait_for_service(1.0)
    assert client.call(srv.CallNext.Request(counter_id="c2")).ticket.counter_id == "c2"
    with pytest.raises(ServiceFailed, match="server error: KeyError"):
        client.call(srv.CallNext.Request(counter_id="broken"))
    missing = client_node.create_client("/lobby/issue_ticket", srv.IssueTicket)
    with pytest.raises(ServiceUnavailable):
        missing.call(srv.IssueTicket.Request())
    assert server.stats.snapshot()["handler_errors"] == 1


def test_service_call_from_another_thread_runs_on_the_bus_thread(bus):
    server = InProcessTransport(bus, "routing")
    threads = []

    def handler(request):
        threads.append(threading.get_ident())
        return srv.CallNext.Response(found=False)

    server.create_service("/s", srv.CallNext, handler)
    stop = threading.Event()
    spinner = threading.Thread(target=bus.spin, args=(stop,))
    spinner.start()
    try:
        client = InProcessTransport(bus, "c").create_client("/s", srv.CallNext)
        assert client.call(srv.CallNext.Request(counter_id="c1"), timeout_s=2).found is False
    finally:
        stop.set()
        spinner.join()
    assert threads == [spinner.ident]


def test_timers_fire_periodically_and_survive_exceptions(bus):
    node = InProcessTransport(bus, "n")
    ticks = []

    def tick():
        ticks.append(1)
        if len(ticks) == 1:
            raise ValueError("first tick fails")

    node.create_timer(0.01, tick)
    assert bus.spin_until(lambda: len(ticks) >= 3, timeout_s=2)
    assert node.stats.snapshot()["handler_errors"] == 1
