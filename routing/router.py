"""The routing decision: where to send a customer for a service, and how long they will wait.

Options are the open counters that handle the service and the self-service machines whose
limits fit the request. The queue-aware policy estimates each option's wait as the work
ahead of the customer — the rest of the current customer's service plus the expected
service time of every ticket that will be called before this one (priority tickets first)
— plus anyone the lobby camera sees queueing there without a ticket, and picks the
smallest. Two reference policies exist for the benchmark: ``fewest`` (the counter with the
fewest tickets waiting) and ``fifo`` (one queue per service, whichever counter frees first).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from .config import BranchConfig, Counter, Machine
from .estimator import ServiceTimes
from .model import TicketRecord

POLICIES = ("queue_aware", "fewest", "fifo")
ANY_COUNTER = ""  # fifo: the ticket goes to whichever capable counter calls it first


@dataclass
class CounterLoad:
    """What is known right now about one counter's queue."""

    counter: Counter
    waiting: list[TicketRecord] = field(default_factory=list)  # assigned here, waiting
    in_service: TicketRecord | None = None  # called or being served here
    people_in_zone: int | None = None  # lobby camera count, None when not observed
    priority_rate: float = 0.0  # recent priority tickets sent here, per second


@dataclass(frozen=True)
class Decision:
    destination: str  # counter id, machine id, or "" (any counter of the service)
    kind: str  # "counter" | "machine" | "any"
    eta_s: float
    position: int  # tickets ahead


class Router:
    def __init__(self, config: BranchConfig, times: ServiceTimes, policy: str = "queue_aware"):
        if policy not in POLICIES:
            raise ValueError(f"unknown routing policy {policy!r}; use one of {POLICIES}")
        self.config = config
        self.times = times
        self.policy = policy

    # -- estimates ------------------------------------------------------------------------
    def residual_s(self, ticket: TicketRecord | None, now: float) -> float:
        """Expected time until the counter is free of its current customer."""
        if ticket is None:
            return 0.0
        if ticket.served_at is None:  # called, still walking to the counter
            walked = now - (ticket.called_at or now)
            return max(0.0, self.times.walk_s - walked) + self.times.mean(ticket.service)
        return self.times.residual(ticket.service, now - ticket.served_at)

    def counter_wait_s(self, load: CounterLoad, priority: bool,
                       now: float) -> tuple[float, float, int]:
        """(mean wait, median wait, tickets ahead) for a new ticket joining this queue.

        Work ahead: the current customer's residual, then each ticket that will be called
        first (its walk to the counter and its service). A normal ticket also waits for the
        priority tickets expected to arrive meanwhile (recent priority rate x wait), as many
        as the starvation rule lets jump the queue. The mean ranks the options; the customer
        is told the median (the sum of right-skewed service times taken as log-normal with
        the same mean and variance), which half of the customers beat.
        """
        ahead = [t for t in load.waiting if t.is_priority] if priority else load.waiting
        in_service = load.in_service
        work = self.residual_s(in_service, now)
        var = (self.times.cv(in_service.service) * work) ** 2 if in_service else 0.0
        for t in ahead:
            mean = self.times.mean(t.service)
            work += mean + self.times.walk_s
            var += (self.times.cv(t.service) * mean) ** 2
        typical = sum(self.times.mean(s) for s in load.counter.services) / len(
            load.counter.services)
        if load.people_in_zone is not None:
            ticketed = len(load.waiting) + (in_service is not None)
            walk_ins = max(0, load.people_in_zone - ticketed)
            work += walk_ins * typical
            var += walk_ins * (0.5 * typical) ** 2
        if not priority and load.priority_rate > 0:
            # Priority tickets arriving while this one waits are called first, but the
            # starvation rule lets at most max_consecutive of them pass per normal call.
            jumpers = min(load.priority_rate * work,
                          self.config.priority.max_consecutive * (len(ahead) + 1))
            work += jumpers * (typical + self.times.walk_s)
            var += jumpers * typical ** 2  # whether they come at all is itself uncertain
        median = work / math.sqrt(1.0 + var / work ** 2) if work > 0 else 0.0
        return work, median, len(ahead)

    def machine_fits(self, machine: Machine, service: str, amount: float) -> bool:
        if not machine.open or service not in machine.services:
            return False
        if machine.max_amount > 0:  # a cash machine: only a known amount within its limit
            return 0 < amount <= machine.max_amount
        return True

    # -- the decision ---------------------------------------------------------------------
    def decide(self, service: str, priority: bool, amount: float, now: float,
               loads: dict[str, CounterLoad], machine_queues: dict[str, int],
               local_time: dt.datetime) -> Decision | None:
        """Best option, or None when nothing open can serve the service now."""
        counters = [loads[c.id] for c in self.config.counters_for(service)
                    if c.is_open(local_time) and c.id in loads]
        options: list[tuple[float, int, str, Decision]] = []
        if self.policy == "fifo":
            if counters:
                options.append(self._fifo(service, priority, now, counters, loads))
        else:
            for load in counters:
                wait, median, ahead = self.counter_wait_s(load, priority, now)
                # baseline "fewest": literally the fewest tickets waiting, busy or not
                key = float(len(load.waiting)) if self.policy == "fewest" else wait
                options.append((key, ahead, load.counter.id,
                                Decision(load.counter.id, "counter", median, ahead)))
        for machine in self.config.machines.values():
            if self.machine_fits(machine, service, amount):
                queue = machine_queues.get(machine.id, 0)
                wait = queue * machine.service_time_s
                key = wait if self.policy != "fewest" else float(queue)
                options.append((key, queue, machine.id, Decision(machine.id, "machine", wait,
                                                                 queue)))
        if not options:
            return None
        return min(options, key=lambda o: (o[0], o[1], o[2]))[3]

    def _fifo(self, service: str, priority: bool, now: float, counters: list[CounterLoad],
              loads: dict[str, CounterLoad]) -> tuple[float, int, str, Decision]:
        """One pooled queue: the work of waiting tickets these counters may serve, shared."""
        capable = {c.counter.id for c in counters}
        waiting = [t for load in loads.values() for t in load.waiting
                   if t.service == service or (t.counter_id in capable)]
        ahead = [t for t in waiting if t.is_priority] if priority else waiting
        busy = sum(self.residual_s(load.in_service, now) for load in counters)
        work = busy + sum(self.times.mean(t.service) for t in ahead)
        wait = work / len(counters)
        return (wait, len(ahead), ANY_COUNTER,
                Decision(ANY_COUNTER, "any", wait, len(ahead)))
