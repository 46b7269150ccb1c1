"""Ways the dialog gets a ticket: the routing book in-process, or the routing node's service."""

from __future__ import annotations

import time

from lobbybot.contracts import srv
from lobbybot.transport import Client, ServiceFailed, ServiceUnavailable
from routing.book import TicketBook
from routing.model import TicketError

from .manager import TicketResult


class BookIssuer:
    """In-process routing (chat, tests, fast simulation)."""

    def __init__(self, book: TicketBook, clock=time.time):
        self.book = book
        self.clock = clock

    def __call__(self, request_id: str, service: str, language: str, amount: float,
                 session_id: str, risk_level: int = 0) -> TicketResult:
        try:
            issued = self.book.issue(request_id, service, language=language, amount=amount,
                                     session_id=session_id, now=self.clock(),
                                     risk_level=risk_level)
        except TicketError as exc:
            return TicketResult(False, error=str(exc))
        return TicketResult(True, issued.ticket.number if issued.ticket else "",
                            issued.destination, issued.eta_s, issued.directions)


class ServiceIssuer:
    """The routing node over ROS 2 / ZMQ (/lobby/issue_ticket)."""

    def __init__(self, client: Client, timeout_s: float = 3.0):
        self.client = client
        self.timeout_s = timeout_s

    def __call__(self, request_id: str, service: str, language: str, amount: float,
                 session_id: str, risk_level: int = 0) -> TicketResult:
        try:
            r = self.client.call(srv.IssueTicket.Request(
                request_id=request_id, service=service, language=language, amount=amount,
                session_id=session_id, risk_level=risk_level), self.timeout_s)
        except (ServiceUnavailable, ServiceFailed) as exc:
            return TicketResult(False, error=str(exc), unavailable=True)
        if not r.accepted:
            return TicketResult(False, error=r.error)
        return TicketResult(True, r.ticket.number, r.ticket.counter_id, r.ticket.eta_s,
                            r.directions)
