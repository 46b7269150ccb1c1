"""Wait estimate by look-ahead: replay the queues forward with expected service times.

When idle tellers take tickets sent to other counters (``steal_when_idle``), a ticket's
wait depends on every counter that can serve it, not only the one it was sent to. This
plays the current state forward — each counter finishes its current customer after the
expected residual, then calls the next ticket by the ticket book's own rules (its own
tickets first, priority first, else the longest-waiting ticket it can serve) — until the new
ticket is called. Deterministic expected times; no arrivals after now.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from .model import TicketRecord
from .router import CounterLoad, Router

MAX_REPLAY = 200  # waiting tickets; a branch rarely has more, and the replay is quadratic


@dataclass
class _Item:
    ticket: TicketRecord | None  # None: the customer being planned for
    service: str
    priority: bool
    queued_at: float
    counter_id: str


def lookahead_wait_s(router: Router, loads: dict[str, CounterLoad], service: str,
                     priority: bool, destination: str, now: float, steal: bool,
                     open_counters: set[str]) -> float:
    """Expected seconds until a new ticket for ``service`` sent to ``destination`` is called.

    ``inf`` when the queue is too long to replay cheaply (the caller keeps its own estimate).
    """
    times = router.times
    items = [_Item(t, t.service, t.is_priority, t.queued_at, t.counter_id)
             for load in loads.values() for t in load.waiting]
    if len(items) > MAX_REPLAY:
        return float("inf")
    new = _Item(None, service, priority, now + 1e-6, destination)
    items.append(new)
    heap: list[tuple[float, str]] = []
    for cid, load in loads.items():
        if cid in open_counters:
            heapq.heappush(heap, (now + router.residual_s(load.in_service, now), cid))
    waiting = list(items)
    guard = 0
    while heap and guard < 10_000:
        guard += 1
        free_at, cid = heapq.heappop(heap)
        counter = loads[cid].counter
        capable = [i for i in waiting if i.service in counter.services]
        mine = [i for i in capable if i.counter_id == cid]
        pool = mine or (capable if steal else [])
        if not pool:
            continue  # this counter gets nothing more from the current queue
        pool.sort(key=lambda i: (not i.priority, i.queued_at))
        chosen = pool[0]
        if chosen is new:
            return max(0.0, free_at - now)
        waiting.remove(chosen)
        heapq.heappush(heap, (free_at + times.walk_s + times.mean(chosen.service), cid))
    return float("inf")
