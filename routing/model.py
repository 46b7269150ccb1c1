"""Ticket records and their states (mirroring lobby_interfaces/Ticket's constants)."""

from __future__ import annotations

from dataclasses import dataclass

WAITING, CALLED, SERVING, DONE, NO_SHOW, TRANSFERRED = range(6)
STATE_NAMES = ("waiting", "called", "serving", "done", "no_show", "transferred")
OPEN_STATES = (WAITING, CALLED, SERVING)

NORMAL, ELDERLY, DISABLED, PREGNANT, VIP = range(5)
PRIORITY_NAMES = ("normal", "elderly", "disabled", "pregnant", "vip")


class TicketError(ValueError):
    """A ticket operation that cannot be done (unknown ticket, wrong state, ...)."""


@dataclass
class TicketRecord:
    number: str
    service: str
    priority: int
    state: int
    counter_id: str  # counter the customer was sent to; after a call, the calling counter
    request_id: str
    day: str
    issued_at: float  # unix seconds
    queued_at: float  # queue order; kept when the ticket is transferred
    eta_s: float = 0.0
    position: int = 0
    language: str = ""
    session_id: str = ""
    amount: float = 0.0
    called_at: float | None = None
    served_at: float | None = None
    done_at: float | None = None
    call_count: int = 0
    risk_level: int = 0  # lobby_interfaces/Ticket RISK_LEVEL_*: the fraud guard's flag
    id: int | None = None

    @property
    def is_priority(self) -> bool:
        return self.priority != NORMAL

    def state_name(self) -> str:
        return STATE_NAMES[self.state]
