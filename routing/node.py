"""routing node: the ticket book on the bus (ROS 2, ZMQ or in-process).

Services ``/lobby/issue_ticket``, ``/lobby/call_next``, ``/lobby/ticket_action``; publishes
every ticket change on ``/lobby/tickets``, calls on ``/lobby/counter_calls`` and the board on
``/lobby/board``; listens to ``/lobby/queues`` (people per zone from the lobby camera).
A refused request (unknown service, wrong state) is an answer with ``error`` set, not a
failure: the caller can tell the customer why.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from lobbybot.contracts import msg, srv, std
from lobbybot.node.component import Component, Health, Node
from lobbybot.node.params import ConfigError, Param
from lobbybot.transport import QoS

from .book import Call, Issued, TicketBook
from .config import BranchConfigError, load_branch_config
from .model import TicketError, TicketRecord
from .store import TicketStore

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = "~/.local/share/lobbybot/tickets.sqlite"


def ticket_msg(record: TicketRecord) -> msg.Ticket:
    sec, frac = divmod(record.issued_at, 1.0)
    return msg.Ticket(
        number=record.number, service=record.service, counter_id=record.counter_id,
        eta_s=float(record.eta_s), priority=record.priority, state=record.state,
        position=record.position, request_id=record.request_id,
        issued_at=std.Time(sec=int(sec), nanosec=int(frac * 1e9)), risk_level=record.risk_level)


def _stamp(now: float) -> std.Header:
    sec, frac = divmod(now, 1.0)
    return std.Header(stamp=std.Time(sec=int(sec), nanosec=int(frac * 1e9)))


class RoutingNode(Component):
    NAME = "routing"
    DESCRIPTION = "Tickets, queue-aware counter choice and teller calls (SQLite ticket store)."
    PARAMETERS = (
        Param("branch_config", "config/branch.yaml",
              "Branch configuration YAML (relative paths: from the lobbybot checkout)."),
        Param("db_path", DEFAULT_DB, "SQLite ticket store (WAL); ':memory:' for tests only."),
        Param("policy", "queue_aware", "Counter choice: queue_aware, fewest or fifo."),
        Param("steal_when_idle", True, "An idle counter calls tickets sent to other counters."),
        Param("board_period_s", 1.0, "Board republish period, seconds."),
    )

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        config_path = Path(str(node.params["branch_config"])).expanduser()
        if not config_path.is_absolute():
            config_path = REPO_ROOT / config_path
        try:
            config = load_branch_config(config_path)
        except BranchConfigError as exc:
            raise ConfigError(str(exc)) from None
        db_path = str(node.params["db_path"])
        if db_path != ":memory:":
            db_path = os.path.expanduser(db_path)
        self.book = TicketBook(config, TicketStore(db_path), str(node.params["policy"]),
                               bool(node.params["steal_when_idle"]))
        self._tickets = node.publisher("/lobby/tickets", msg.Ticket)
        self._calls = node.publisher("/lobby/counter_calls", msg.CounterCall)
        self._board = node.publisher("/lobby/board", msg.BoardState, QoS.LATCHED)
        node.service("/lobby/issue_ticket", srv.IssueTicket, self.on_issue)
        node.service("/lobby/call_next", srv.CallNext, self.on_call_next)
        node.service("/lobby/ticket_action", srv.TicketAction, self.on_action)
        node.subscribe("/lobby/queues", msg.QueueState, self.on_queues)
        node.timer(float(node.params["board_period_s"]), self.tick)
        node.logger.info("branch %s: %d services, %d counters, %d machines; store %s",
                         config.branch_id, len(config.services), len(config.counters),
                         len(config.machines), db_path)

    def now(self) -> float:
        return self.node.now_ns() / 1e9

    # -- services --------------------------------------------------------------------------
    def on_issue(self, request: srv.IssueTicket.Request) -> srv.IssueTicket.Response:
        amount = request.amount if math.isfinite(request.amount) else 0.0
        try:
            issued = self.book.issue(request.request_id, request.service, request.priority,
                                     request.language or "zh", request.session_id, amount,
                                     self.now(), request.risk_level)
        except TicketError as exc:
            return srv.IssueTicket.Response(accepted=False, error=str(exc))
        self._announce(issued)
        return srv.IssueTicket.Response(accepted=True, ticket=self._issued_msg(issued),
                                        directions=issued.directions)

    def _issued_msg(self, issued: Issued) -> msg.Ticket:
        if issued.ticket is not None:
            return ticket_msg(issued.ticket)
        return msg.Ticket(counter_id=issued.destination, eta_s=float(issued.eta_s))

    def _announce(self, issued: Issued) -> None:
        if issued.ticket is not None and not issued.repeated:
            self._tickets.publish(ticket_msg(issued.ticket))
            self.publish_board()

    def on_call_next(self, request: srv.CallNext.Request) -> srv.CallNext.Response:
        try:
            call = self.book.call_next(request.counter_id, self.now())
        except TicketError as exc:
            return srv.CallNext.Response(found=False, error=str(exc))
        if call is None:
            return srv.CallNext.Response(found=False)
        self._publish_call(call)
        return srv.CallNext.Response(found=True, ticket=ticket_msg(call.ticket))

    def on_action(self, request: srv.TicketAction.Request) -> srv.TicketAction.Response:
        now, number = self.now(), request.ticket_number
        directions = ""
        try:
            if request.action == "recall":
                call = self.book.recall(number, now)
                self._publish_call(call)
                record = call.ticket
            elif request.action == "serve":
                record = self.book.serve(number, now)
            elif request.action == "done":
                record = self.book.done(number, now)
            elif request.action == "no_show":
                record = self.book.no_show(number, now)
            else:  # transfer (the contract allows nothing else)
                issued = self.book.transfer(number, request.target_service, now)
                record, directions = issued.ticket, issued.directions
        except TicketError as exc:
            return srv.TicketAction.Response(ok=False, error=str(exc))
        self._tickets.publish(ticket_msg(record))
        self.publish_board()
        return srv.TicketAction.Response(ok=True, ticket=ticket_msg(record),
                                         directions=directions)

    def _publish_call(self, call: Call) -> None:
        record = call.ticket
        self._calls.publish(msg.CounterCall(
            header=_stamp(self.now()), ticket_number=record.number, counter_id=call.counter_id,
            counter_name=call.counter_name, service=record.service, call_count=record.call_count))
        self._tickets.publish(ticket_msg(record))
        self.publish_board()

    # -- inputs and the board --------------------------------------------------------------
    def tick(self) -> None:
        """Periodic: give up on recalled customers who never came, refresh the board."""
        for record in self.book.expire_no_shows(self.now()):
            self.node.logger.info("ticket %s: no-show at %s", record.number, record.counter_id)
            self._tickets.publish(ticket_msg(record))
        self.publish_board()

    def on_queues(self, state: msg.QueueState) -> None:
        self.book.zone_counts = {z.zone_id: int(z.count) for z in state.zones}

    def publish_board(self) -> None:
        now = self.now()
        board = self.book.board(now)
        self._board.publish(msg.BoardState(
            header=_stamp(now),
            now_calling=[msg.CounterCall(ticket_number=c["ticket"], counter_id=c["counter"],
                                         counter_name=c["counter_name"]["zh"],
                                         service=c["service"], call_count=c["call_count"])
                         for c in board["now_calling"]],
            waiting=[msg.ServiceQueue(service=s, waiting=w["count"], next_numbers=w["next"])
                     for s, w in board["waiting"].items()]))

    def health(self) -> Health:
        board = self.book.board(self.now())
        waiting = sum(w["count"] for w in board["waiting"].values())
        values = {"waiting": waiting, "calling": len(board["now_calling"]),
                  "service_times_s": self.book.times.snapshot()}
        return Health(message=f"{waiting} waiting", values=values)

    def close(self) -> None:
        self.book.store.close()
