"""The routing node on the bus: services, published tickets/calls/board, restarts, bad config."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from conftest import last_json, requires_ros, run_cli, wait_until

from lobbybot.contracts import msg, srv
from lobbybot.node.host import NodeProcess
from lobbybot.node.params import RosArgs
from lobbybot.transport.inproc import InProcessBus, InProcessTransport
from lobbybot.transport.zmq_endpoints import ZmqEndpoints
from routing.node import RoutingNode

REPO = Path(__file__).resolve().parents[1]


def test_routing_node_in_process(all_day_config, tmp_path):
    bus = InProcessBus()
    routing = NodeProcess(RoutingNode, InProcessTransport(bus, "routing"), RosArgs(overrides={
        "branch_config": str(all_day_config), "db_path": str(tmp_path / "t.sqlite")}))
    kiosk = InProcessTransport(bus, "kiosk")
    tickets, calls, boards = [], [], []
    kiosk.create_subscription("/lobby/tickets", msg.Ticket, tickets.append)
    kiosk.create_subscription("/lobby/counter_calls", msg.CounterCall, calls.append)
    kiosk.create_subscription("/lobby/board", msg.BoardState, boards.append)
    issue = kiosk.create_client("/lobby/issue_ticket", srv.IssueTicket)

    # the lobby camera sees a crowd at counters 1 and 2: a cash customer goes to counter 3
    kiosk.create_publisher("/lobby/queues", msg.QueueState).publish(msg.QueueState(zones=[
        msg.QueueZoneState(zone_id="z1", counter_id="c1", count=5),
        msg.QueueZoneState(zone_id="z2", counter_id="c2", count=4)]))
    bus.spin_until(lambda: routing.component.book.zone_counts)
    response = issue.call(srv.IssueTicket.Request(request_id="k1", service="cash",
                                                  language="en", amount=60000))
    assert response.accepted and response.ticket.number == "A001"
    assert response.ticket.counter_id == "c3" and "Counter 3" in response.directions
    refused = issue.call(srv.IssueTicket.Request(request_id="k2", service="mortgage"))
    assert not refused.accepted and "unknown service 'mortgage'" in refused.error

    call = kiosk.create_client("/lobby/call_next", srv.CallNext).call(
        srv.CallNext.Request(counter_id="c3"))
    assert call.found and call.ticket.number == "A001"
    action = kiosk.create_client("/lobby/ticket_action", srv.TicketAction)
    assert action.call(srv.TicketAction.Request(action="serve", ticket_number="A001")).ok
    done = action.call(srv.TicketAction.Request(action="done", ticket_number="A001"))
    assert done.ok and done.ticket.state == msg.Ticket.STATE_DONE
    bad = action.call(srv.TicketAction.Request(action="recall", ticket_number="A001"))
    assert not bad.ok and "only a called ticket can be recalled" in bad.error

    assert bus.spin_until(lambda: calls and len(tickets) >= 4 and boards)
    assert calls[0].ticket_number == "A001" and calls[0].counter_id == "c3"
    assert [t.state for t in tickets][-1] == msg.Ticket.STATE_DONE
    routing.close()


def test_bad_branch_config_stops_the_node_with_the_line(tmp_path, zmq_port, all_day_config):
    broken = tmp_path / "broken.yaml"
    broken.write_text(all_day_config.read_text().replace("services: [cash], zone: z2",
                                                         "services: [cashh], zone: z2"))
    db = tmp_path / "t.sqlite"
    result = run_cli("node", "run", "routing", "--transport", "zmq", "--ros-args",
                     "-p", f"branch_config:={broken}", "-p", f"db_path:={db}",
                     env=ZmqEndpoints(port=zmq_port).as_env())
    assert result.returncode == 2
    assert f"{broken}:" in result.stderr and "unknown service 'cashh'" in result.stderr
    assert not db.exists(), "nothing may be issued from a bad configuration"


TRANSPORTS = [pytest.param("ros", marks=requires_ros), "zmq"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_teller_cli_and_restart_keep_every_ticket(transport, spawn, ros_domain, zmq_port,
                                                  tmp_path, all_day_config):
    env = ({"ROS_DOMAIN_ID": ros_domain} if transport == "ros"
           else ZmqEndpoints(port=zmq_port).as_env())
    launch = tmp_path / "routing.launch.yaml"
    launch.write_text(f"""
launch:
  - node:
      pkg: lobby_bringup
      exec: routing
      name: routing
      respawn: "true"
      respawn_delay: 0.5
      param:
        - {{name: branch_config, value: {all_day_config}}}
        - {{name: db_path, value: {tmp_path / 'tickets.sqlite'}}}
""")
    proc = spawn("launch", str(launch), "--transport", transport, env=env)
    pid = int(proc.wait_for(r"started routing \(pid (\d+)\)").group(1))
    proc.wait_for("/routing started on")

    def teller(*args: str) -> dict:
        result = run_cli("teller", "--transport", transport, "--timeout", "10", *args, env=env)
        return last_json(result.stdout)

    first = teller("issue", "wealth", "--request-id", "kiosk-1")
    assert first["ok"] and first["ticket"]["number"] == "D001"
    assert teller("issue", "wealth", "--request-id", "kiosk-2")["ticket"]["number"] == "D002"

    mark = len(proc.lines)
    os.kill(pid, signal.SIGKILL)
    proc.wait_for(r"started routing \(pid \d+\)", start=mark, timeout_s=5)
    proc.wait_for("/routing started on", start=mark)
    again = teller("issue", "wealth", "--request-id", "kiosk-1")  # the kiosk retries
    assert again["ticket"]["number"] == "D001"
    assert teller("issue", "wealth", "--request-id", "kiosk-3")["ticket"]["number"] == "D003"
    called = teller("call-next", first["ticket"]["counter_id"])  # D001's counter
    assert called["ok"] and called["ticket"]["number"] == "D001"
    assert called["ticket"]["state_name"] == "called"
    assert wait_until(lambda: teller("board")["board"]["now_calling"], timeout_s=10)
    board = teller("board")["board"]
    assert board["now_calling"][0]["ticket_number"] == "D001"
    wealth = next(s for s in board["waiting"] if s["service"] == "wealth")
    assert wealth["waiting"] == 2 and wealth["next_numbers"] == ["D002", "D003"]
    refused = run_cli("teller", "--transport", transport, "no-show", "D001", env=env)
    assert refused.returncode == 1 and "recall it first" in json.loads(refused.stdout)["error"]
    assert proc.interrupt() == 0
