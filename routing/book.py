"""The ticket book: issue, call, recall, serve, finish, no-show and transfer tickets.

Transport-free and clock-free (every operation takes ``now``, unix seconds), so the routing
node, the teller CLI and the discrete-event benchmark drive the same code. The SQLite store
is the truth; an in-memory view of today's open tickets makes routing decisions fast.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .config import BranchConfig
from .estimator import ServiceTimes
from .lookahead import lookahead_wait_s
from .model import (
    CALLED,
    DONE,
    NO_SHOW,
    NORMAL,
    OPEN_STATES,
    PRIORITY_NAMES,
    SERVING,
    WAITING,
    TicketError,
    TicketRecord,
)
from .router import ANY_COUNTER, CounterLoad, Decision, Router
from .store import TicketStore

PRIORITY_RATE_WINDOW_S = 1800.0  # how far back priority arrivals are counted


@dataclass
class Issued:
    """The answer to an issue request."""

    ticket: TicketRecord | None  # None when sent to a self-service machine
    destination: str
    kind: str  # counter | machine | any
    eta_s: float
    position: int
    directions: str
    repeated: bool  # True when this request id was already answered before


@dataclass
class Call:
    ticket: TicketRecord
    counter_id: str
    counter_name: str


class TicketBook:
    def __init__(self, config: BranchConfig, store: TicketStore, policy: str = "queue_aware",
                 steal_when_idle: bool = True):
        self.config = config
        self.store = store
        self.tz = ZoneInfo(config.timezone)
        self.times = ServiceTimes({s.id: s.service_time_s for s in config.services.values()})
        for service in config.services:
            for seconds in store.recent_service_times(service, 30):
                self.times.observe(service, seconds)
        self.router = Router(config, self.times, policy)
        self.steal_when_idle = steal_when_idle
        self._lock = threading.RLock()
        self._day = ""
        self._open: dict[str, TicketRecord] = {}
        self._consecutive_priority: dict[str, int] = {}
        self.zone_counts: dict[str, int] = {}  # lobby camera: people per zone id
        self._priority_issued: dict[str, deque[float]] = {}  # counter → recent issue times

    # -- time and today's view -------------------------------------------------------------
    def local_time(self, now: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(now, self.tz)

    def _today(self, now: float) -> str:
        day = self.local_time(now).date().isoformat()
        if day != self._day:  # first call or midnight: numbers restart, view reloads
            self._day = day
            self._open = {t.number: t for t in self.store.open_tickets(day)}
            self._consecutive_priority.clear()
        return day

    def _priority_rate(self, counter_id: str, now: float) -> float:
        recent = self._priority_issued.get(counter_id)
        if not recent:
            return 0.0
        while recent and now - recent[0] > PRIORITY_RATE_WINDOW_S:
            recent.popleft()
        # Over the window, or since the first one for a young day (but at least 10 min).
        span = min(PRIORITY_RATE_WINDOW_S, max(600.0, now - recent[0])) if recent else 1.0
        return len(recent) / span

    def _loads(self, now: float) -> dict[str, CounterLoad]:
        loads = {cid: CounterLoad(c, people_in_zone=self.zone_counts.get(c.zone) if c.zone
                                  else None, priority_rate=self._priority_rate(cid, now))
                 for cid, c in self.config.counters.items()}
        for ticket in sorted(self._open.values(), key=self._call_order_key):
            load = loads.get(ticket.counter_id)
            if load is None:
                continue
            if ticket.state == WAITING:
                load.waiting.append(ticket)
            elif load.in_service is None or ticket.state == SERVING:
                load.in_service = ticket
        # Tickets for "any counter" (fifo policy) count as waiting at every capable counter.
        for ticket in self._open.values():
            if ticket.counter_id == ANY_COUNTER and ticket.state == WAITING:
                for c in self.config.counters_for(ticket.service):
                    loads[c.id].waiting.append(ticket)
        return loads

    @staticmethod
    def _call_order_key(t: TicketRecord) -> tuple:
        return (0 if t.is_priority else 1, t.queued_at, t.number)

    def _machine_queues(self) -> dict[str, int]:
        return {m.id: self.zone_counts.get(m.zone, 0) for m in self.config.machines.values()}

    def _directions(self, destination: str, kind: str, language: str) -> str:
        place = self.config.counters.get(destination) or self.config.machines.get(destination)
        if place is None:
            return ("请留意叫号屏幕，听到号码后前往相应窗口。" if language.startswith("zh") else
                    "Please watch the display and go to the counter that calls your number.")
        if place.directions is not None:
            return place.directions(language)
        name = place.name(language)
        if kind == "machine":
            return f"请到{name}自助办理。" if language.startswith("zh") else \
                f"Please use {name} over there; it is quicker for this."
        return f"请到{name}等候叫号。" if language.startswith("zh") else \
            f"Please wait at {name} for your number."

    # -- issuing ---------------------------------------------------------------------------
    def decide(self, service: str, priority: int, amount: float, now: float) -> Decision | None:
        """The routing decision alone (no ticket): used by the benchmark's latency figure."""
        with self._lock:
            self._today(now)
            return self.router.decide(service, priority != NORMAL, amount, now, self._loads(now),
                                      self._machine_queues(), self.local_time(now))

    def issue(self, request_id: str, service: str, priority: int = NORMAL, language: str = "zh",
              session_id: str = "", amount: float = 0.0, now: float = 0.0,
              risk_level: int = 0) -> Issued:
        """Issue (or, for a repeated request id, return again) a ticket for ``service``.

        ``risk_level`` is the fraud guard's flag on the customer's conversation; it rides on
        the ticket so the teller sees it."""
        if not request_id:
            raise TicketError("request_id is required (it makes issuing idempotent)")
        if service not in self.config.services:
            raise TicketError(f"unknown service {service!r}; "
                              f"this branch offers {', '.join(self.config.services)}")
        if not 0 <= priority < len(PRIORITY_NAMES):
            raise TicketError(f"unknown priority {priority}")
        if priority != NORMAL and PRIORITY_NAMES[priority] not in self.config.priority.reasons:
            priority = NORMAL  # this branch does not prioritise that group
        with self._lock:
            day = self._today(now)
            previous = self._repeat(request_id, language)
            if previous is not None:
                return previous
            loads = self._loads(now)
            decision = self.router.decide(service, priority != NORMAL, amount, now, loads,
                                          self._machine_queues(), self.local_time(now))
            if decision is not None and decision.kind == "counter" and self.steal_when_idle:
                decision = self._lookahead(decision, loads, service, priority, now)
            if decision is None:
                raise TicketError(f"no counter or machine serves {service} at this time")
            directions = self._directions(decision.destination, decision.kind, language)
            if decision.kind == "machine":
                with self.store.transaction() as db:
                    self.store.add_referral(db, request_id, decision.destination, service,
                                            decision.eta_s, now)
                return Issued(None, decision.destination, "machine", decision.eta_s,
                              decision.position, directions, False)
            with self.store.transaction() as db:
                number = self.store.next_number(db, day, self.config.services[service].prefix)
                record = self.store.insert(db, TicketRecord(
                    number=number, service=service, priority=priority, state=WAITING,
                    counter_id=decision.destination, request_id=request_id, day=day,
                    issued_at=now, queued_at=now, eta_s=round(decision.eta_s, 1),
                    position=decision.position, language=language, session_id=session_id,
                    amount=amount, risk_level=risk_level))
            self._open[record.number] = record
            if record.is_priority:
                self._priority_issued.setdefault(record.counter_id, deque()).append(now)
            return Issued(record, decision.destination, decision.kind, decision.eta_s,
                          decision.position, directions, False)

    def open_counter_ids(self, now: float) -> set[str]:
        local = self.local_time(now)
        return {c.id for c in self.config.counters.values() if c.is_open(local)}

    def counter_loads(self, now: float) -> dict[str, CounterLoad]:
        """What every counter has waiting and under way now (a fresh copy)."""
        with self._lock:
            self._today(now)
            return self._loads(now)

    def _lookahead(self, decision: Decision, loads: dict[str, CounterLoad], service: str,
                   priority: int, now: float) -> Decision:
        """With idle counters taking others' tickets, the wait depends on all of them."""
        wait = lookahead_wait_s(self.router, loads, service, priority != NORMAL,
                                decision.destination, now, True, self.open_counter_ids(now))
        if wait == float("inf"):
            return decision
        mean, median, _ = self.router.counter_wait_s(loads[decision.destination],
                                                     priority != NORMAL, now)
        if mean > 0:
            wait *= median / mean  # the same skew correction: tell the median
        return Decision(decision.destination, decision.kind, wait, decision.position)

    def _repeat(self, request_id: str, language: str) -> Issued | None:
        record = self.store.by_request(request_id)
        if record is not None:
            kind = "any" if record.counter_id == ANY_COUNTER else "counter"
            return Issued(record, record.counter_id, kind, record.eta_s, record.position,
                          self._directions(record.counter_id, kind, language), True)
        referral = self.store.referral(request_id)
        if referral is not None:
            return Issued(None, referral["machine_id"], "machine", referral["eta_s"], 0,
                          self._directions(referral["machine_id"], "machine", language), True)
        return None

    # -- the teller side -------------------------------------------------------------------
    def _ticket(self, number: str, now: float) -> TicketRecord:
        day = self._today(now)
        ticket = self._open.get(number) or self.store.by_number(day, number)
        if ticket is None:
            raise TicketError(f"no ticket {number} today")
        return ticket

    def _save(self, ticket: TicketRecord) -> None:
        with self.store.transaction() as db:
            self.store.update(db, ticket)
        if ticket.state in OPEN_STATES:
            self._open[ticket.number] = ticket
        else:
            self._open.pop(ticket.number, None)

    def _finish(self, ticket: TicketRecord, now: float) -> None:
        ticket.state, ticket.done_at = DONE, now
        self.times.observe(ticket.service, now - (ticket.served_at or ticket.called_at or now))
        self._save(ticket)

    def call_next(self, counter_id: str, now: float) -> Call | None:
        """Call the next ticket to ``counter_id``; the customer being served there is done.

        Order: tickets sent to this counter (or to any counter), priority first but never more
        than ``priority.max_consecutive`` in a row while a normal ticket waits, and a normal
        ticket that waited ``priority.max_wait_s`` goes first; FIFO within each group. An idle
        counter with nobody sent to it takes the longest-waiting ticket it can serve.
        """
        counter = self.config.counters.get(counter_id)
        if counter is None:
            raise TicketError(f"unknown counter {counter_id!r}")
        with self._lock:
            self._today(now)
            for ticket in list(self._open.values()):
                if ticket.counter_id == counter_id and ticket.state == SERVING:
                    self._finish(ticket, now)
            candidates = [t for t in self._open.values()
                          if t.state == WAITING and t.service in counter.services]
            mine = [t for t in candidates if t.counter_id in (counter_id, ANY_COUNTER)]
            pool = mine or (candidates if self.steal_when_idle else [])
            if not pool:
                return None
            chosen = self._pick(counter_id, pool, now)
            chosen.state, chosen.called_at, chosen.call_count = CALLED, now, 1
            chosen.counter_id = counter_id
            self._save(chosen)
            return Call(chosen, counter_id, counter.name("zh"))

    def _pick(self, counter_id: str, pool: list[TicketRecord], now: float) -> TicketRecord:
        rules = self.config.priority
        normals = sorted((t for t in pool if not t.is_priority), key=self._call_order_key)
        priorities = sorted((t for t in pool if t.is_priority), key=self._call_order_key)
        streak = self._consecutive_priority.get(counter_id, 0)
        starving = [t for t in normals if now - t.queued_at >= rules.max_wait_s]
        if starving or not priorities or (normals and streak >= rules.max_consecutive):
            self._consecutive_priority[counter_id] = 0
            return (starving or normals)[0]
        self._consecutive_priority[counter_id] = streak + 1
        return priorities[0]

    def recall(self, number: str, now: float) -> Call:
        with self._lock:
            ticket = self._ticket(number, now)
            if ticket.state != CALLED:
                raise TicketError(f"{number} is {ticket.state_name()}, only a called ticket "
                                  "can be recalled")
            ticket.call_count += 1
            ticket.called_at = now
            self._save(ticket)
            counter = self.config.counters[ticket.counter_id]
            return Call(ticket, counter.id, counter.name("zh"))

    def serve(self, number: str, now: float) -> TicketRecord:
        """The called customer arrived at the counter."""
        with self._lock:
            ticket = self._ticket(number, now)
            if ticket.state != CALLED:
                raise TicketError(f"{number} is {ticket.state_name()}, not called")
            if ticket.call_count == 1:
                self.times.observe_walk(now - (ticket.called_at or now))
            ticket.state, ticket.served_at = SERVING, now
            self._save(ticket)
            return ticket

    def done(self, number: str, now: float) -> TicketRecord:
        with self._lock:
            ticket = self._ticket(number, now)
            if ticket.state not in (CALLED, SERVING):
                raise TicketError(f"{number} is {ticket.state_name()}, not at a counter")
            self._finish(ticket, now)
            return ticket

    def no_show(self, number: str, now: float) -> TicketRecord:
        """Give up on a called customer: only after one recall and ``no_show_after_s``."""
        rules = self.config.calls
        with self._lock:
            ticket = self._ticket(number, now)
            if ticket.state != CALLED:
                raise TicketError(f"{number} is {ticket.state_name()}, not called")
            if ticket.call_count < 2:
                raise TicketError(f"{number} has not been recalled yet; recall it first")
            if now - (ticket.called_at or now) < rules.no_show_after_s:
                raise TicketError(f"{number} was recalled {now - ticket.called_at:.0f} s ago; "
                                  f"no-show only after {rules.no_show_after_s:.0f} s")
            ticket.state, ticket.done_at = NO_SHOW, now
            self._save(ticket)
            return ticket

    def expire_no_shows(self, now: float) -> list[TicketRecord]:
        """Mark no-show every ticket recalled at least once and absent ``no_show_after_s``."""
        after = self.config.calls.no_show_after_s
        with self._lock:
            self._today(now)
            expired = [t for t in self._open.values() if t.state == CALLED and
                       t.call_count >= 2 and now - (t.called_at or now) >= after]
            for ticket in expired:
                ticket.state, ticket.done_at = NO_SHOW, now
                self._save(ticket)
            return expired

    def transfer(self, number: str, service: str, now: float) -> Issued:
        """Move a ticket to another service; it keeps its number and its place in time."""
        if service not in self.config.services:
            raise TicketError(f"unknown service {service!r}")
        with self._lock:
            ticket = self._ticket(number, now)
            if ticket.state not in OPEN_STATES:
                raise TicketError(f"{number} is {ticket.state_name()}, cannot transfer")
            self._open.pop(number, None)
            decision = self.router.decide(service, ticket.is_priority, ticket.amount, now,
                                          self._loads(now), {}, self.local_time(now))
            if decision is None or decision.kind == "machine":
                self._open[number] = ticket
                raise TicketError(f"no counter serves {service} at this time")
            ticket.service, ticket.state, ticket.counter_id = service, WAITING, decision.destination
            ticket.called_at = ticket.served_at = None
            ticket.call_count = 0
            ticket.eta_s, ticket.position = round(decision.eta_s, 1), decision.position
            self._save(ticket)
            return Issued(ticket, decision.destination, decision.kind, decision.eta_s,
                          decision.position, self._directions(decision.destination,
                                                              decision.kind, ticket.language),
                          False)

    # -- the board -------------------------------------------------------------------------
    def board(self, now: float) -> dict:
        """Now calling (most recent first) and waiting per service, for the display board."""
        with self._lock:
            self._today(now)
            calling = sorted((t for t in self._open.values() if t.state in (CALLED, SERVING)),
                             key=lambda t: -(t.called_at or 0))
            waiting: dict[str, list[TicketRecord]] = {s: [] for s in self.config.services}
            for t in sorted(self._open.values(), key=self._call_order_key):
                if t.state == WAITING:
                    waiting[t.service].append(t)
            return {
                "day": self._day,
                "now_calling": [{"ticket": t.number, "counter": t.counter_id,
                                 "counter_name": self.config.counters[t.counter_id].name.__dict__,
                                 "service": t.service, "state": t.state_name(),
                                 "call_count": t.call_count} for t in calling],
                "waiting": {s: {"count": len(ts), "next": [t.number for t in ts[:3]]}
                            for s, ts in waiting.items()},
            }
