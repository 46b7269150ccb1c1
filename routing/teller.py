"""``lobbybot teller``: the teller's side from a terminal, over ROS 2 or ZMQ.

Each command is one service call to the routing node and prints one JSON object; the exit
code is 0 when the action was done, 1 when it was refused (the JSON says why), 2 when the
routing node could not be reached.
"""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from typing import Any

from lobbybot.contracts import msg, srv, to_wire
from lobbybot.transport import ServiceFailed, ServiceUnavailable

PRIORITIES = {"normal": 0, "elderly": 1, "disabled": 2, "pregnant": 3, "vip": 4}
STATES = ("waiting", "called", "serving", "done", "no_show", "transferred")


def ticket_json(ticket: msg.Ticket) -> dict[str, Any]:
    data, _ = to_wire(ticket)
    data["state_name"] = STATES[ticket.state]
    return data


def add_parser(sub: argparse._SubParsersAction, transport_help: str) -> None:
    p = sub.add_parser("teller", help="call next / recall / no-show / done / transfer; board",
                       description="Teller actions on the routing node; prints JSON.")
    p.add_argument("--transport", choices=("ros", "zmq"), default="ros", help=transport_help)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for routing")
    tsub = p.add_subparsers(dest="teller_command", required=True, metavar="ACTION")
    q = tsub.add_parser("call-next", help="call the next ticket to a counter")
    q.add_argument("counter")
    for action, text in (("recall", "announce a called ticket again"),
                         ("serve", "the called customer arrived at the counter"),
                         ("done", "service finished"),
                         ("no-show", "a recalled customer did not come")):
        q = tsub.add_parser(action, help=text)
        q.add_argument("ticket")
    q = tsub.add_parser("transfer", help="move a ticket to another service, keeping its place")
    q.add_argument("ticket")
    q.add_argument("service")
    q = tsub.add_parser("issue", help="issue a ticket at the front desk")
    q.add_argument("service")
    q.add_argument("--priority", choices=list(PRIORITIES), default="normal")
    q.add_argument("--amount", type=float, default=0.0)
    q.add_argument("--lang", default="zh")
    q.add_argument("--request-id", default="", help="idempotency key (default: random)")
    tsub.add_parser("board", help="print the display board once")


def run(args: argparse.Namespace, transport: Any) -> int:
    try:
        result = _dispatch(args, transport)
    except ServiceUnavailable as exc:
        print(json.dumps({"ok": False, "error": f"routing unavailable: {exc}"},
                         ensure_ascii=False))
        return 2
    except ServiceFailed as exc:
        print(json.dumps({"ok": False, "error": str(exc)}, ensure_ascii=False))
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result.get("ok") else 1


def _call(transport: Any, name: str, srv_type: Any, request: Any, timeout: float) -> Any:
    client = transport.create_client(name, srv_type)
    if not client.wait_for_service(timeout):
        raise ServiceUnavailable(f"no server for {name} within {timeout} s")
    return client.call(request, timeout)


def _dispatch(args: argparse.Namespace, transport: Any) -> dict[str, Any]:
    command, timeout = args.teller_command, args.timeout
    if command == "board":
        return _board(transport, timeout)
    if command == "call-next":
        r = _call(transport, "/lobby/call_next", srv.CallNext,
                  srv.CallNext.Request(counter_id=args.counter), timeout)
        if r.error:
            return {"ok": False, "error": r.error}
        return {"ok": r.found, "ticket": ticket_json(r.ticket) if r.found else None,
                **({} if r.found else {"error": f"nobody waiting for {args.counter}"})}
    if command == "issue":
        r = _call(transport, "/lobby/issue_ticket", srv.IssueTicket, srv.IssueTicket.Request(
            request_id=args.request_id or uuid.uuid4().hex, service=args.service,
            priority=PRIORITIES[args.priority], language=args.lang, amount=args.amount),
            timeout)
        return {"ok": r.accepted, "ticket": ticket_json(r.ticket), "directions": r.directions,
                "error": r.error}
    action = command.replace("-", "_")
    r = _call(transport, "/lobby/ticket_action", srv.TicketAction, srv.TicketAction.Request(
        action=action, ticket_number=args.ticket,
        target_service=getattr(args, "service", "")), timeout)
    return {"ok": r.ok, "ticket": ticket_json(r.ticket) if r.ok else None,
            "directions": r.directions, "error": r.error}


def _board(transport: Any, timeout: float) -> dict[str, Any]:
    got: list[msg.BoardState] = []
    done = threading.Event()

    def on_board(board: msg.BoardState) -> None:
        got.append(board)
        done.set()

    transport.create_subscription("/lobby/board", msg.BoardState, on_board)
    stop = threading.Event()
    spinner = threading.Thread(target=transport.spin, args=(stop,), daemon=True)
    spinner.start()
    done.wait(timeout)
    stop.set()
    spinner.join(2)
    if not got:
        raise ServiceUnavailable(f"no board published within {timeout} s")
    data, _ = to_wire(got[0])
    return {"ok": True, "board": data}
