"""How close can any wait estimate come? A Monte Carlo oracle for the branch-day benchmark.

At the moment a ticket is issued the oracle knows what the simulated branch really is: the
true mean service time of every service (not the learnt ones), its log-normal spread, the
walk to the counter, the arrival rate of the hour, the service mix and the share of priority
customers. It plays the branch forward from the ticket book's state many times — residuals
of services under way drawn given how long they have run, future arrivals sent to the
counter with the least work, counters taking their own tickets first (priority first) and
idle ones (when the branch lets them) the longest-waiting ticket they can serve — and
records when the new ticket is called. The median of those waits is the best single number
anyone could tell the customer (it minimises the expected absolute error); the mean distance
of the draws from that median is the error even that number must expect. Summed over a day
and divided by the mean wait, it is the floor under the benchmark's "ETA MAE / mean wait".
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from routing.router import CounterLoad

_NORMAL = statistics.NormalDist()
HORIZON_S = 5400.0  # arrivals drawn this far ahead; waits beyond it are rare here


@dataclass(frozen=True)
class Truth:
    """The simulated branch as it really is."""

    mean_s: dict[str, float]  # true mean service time per service
    cv: float  # coefficient of variation of every service time (log-normal)
    walk_s: tuple[float, float]  # uniform walk to the counter
    arrivals_per_s: Callable[[float], float]  # arrival rate at a time (branch seconds)
    mix: dict[str, float]  # service shares of arrivals that get a counter ticket
    priority_share: float


@dataclass
class _Waiting:
    service: str
    priority: bool
    queued_at: float
    counter_id: str
    new: bool = False


def _lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    sigma2 = math.log(1 + cv * cv)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def _residual(rng: random.Random, mean: float, cv: float, elapsed: float) -> float:
    """Rest of a log-normal service that has already run ``elapsed`` seconds."""
    mu, sigma = _lognormal_params(mean, cv)
    if elapsed <= 0:
        return rng.lognormvariate(mu, sigma)
    low = _NORMAL.cdf((math.log(elapsed) - mu) / sigma)
    u = min(1 - 1e-12, low + (1 - low) * rng.random())
    return max(0.0, math.exp(mu + sigma * _NORMAL.inv_cdf(u)) - elapsed)


def _play(truth: Truth, loads: dict[str, CounterLoad], open_ids: set[str], number: str,
          now: float, steal: bool, rng: random.Random) -> float:
    """One possible future: seconds until ticket ``number`` (waiting now) is called."""
    def service_s(service: str) -> float:
        return rng.lognormvariate(*_lognormal_params(truth.mean_s[service], truth.cv))

    free: list[tuple[float, str]] = []
    for cid in open_ids:
        ticket = loads[cid].in_service
        rest = 0.0
        if ticket is not None and ticket.served_at is None:  # called, still walking
            walked = now - (ticket.called_at or now)
            rest = max(0.0, rng.uniform(*truth.walk_s) - walked) + service_s(ticket.service)
        elif ticket is not None:
            rest = _residual(rng, truth.mean_s[ticket.service], truth.cv, now - ticket.served_at)
        heapq.heappush(free, (now + rest, cid))
    waiting = [_Waiting(t.service, t.is_priority, t.queued_at, t.counter_id, t.number == number)
               for load in loads.values() for t in load.waiting]
    services, shares = list(truth.mix), list(truth.mix.values())
    t = now
    arrivals: list[_Waiting] = []
    while t < now + HORIZON_S:
        t += rng.expovariate(max(1e-9, truth.arrivals_per_s(t)))
        arrivals.append(_Waiting(rng.choices(services, shares)[0],
                                 rng.random() < truth.priority_share, t, ""))
    arrivals.reverse()  # pop() takes the earliest
    while free:
        at, cid = heapq.heappop(free)
        while arrivals and arrivals[-1].queued_at <= at:
            comer = arrivals.pop()
            capable = [c for c in open_ids if comer.service in loads[c].counter.services]
            if capable:
                comer.counter_id = min(capable, key=lambda c: sum(
                    truth.mean_s[w.service] for w in waiting if w.counter_id == c))
                waiting.append(comer)
        counter = loads[cid].counter
        capable = [w for w in waiting if w.service in counter.services]
        pool = [w for w in capable if w.counter_id == cid] or (capable if steal else [])
        if not pool:
            if arrivals:  # idle until the next customer comes in
                heapq.heappush(free, (arrivals[-1].queued_at, cid))
            continue
        chosen = min(pool, key=lambda w: (not w.priority, w.queued_at))
        if chosen.new:
            return at - now
        waiting.remove(chosen)
        heapq.heappush(free, (at + rng.uniform(*truth.walk_s) + service_s(chosen.service), cid))
    return HORIZON_S


def oracle(truth: Truth, loads: dict[str, CounterLoad], open_ids: set[str], number: str,
           now: float, steal: bool, rng: random.Random, draws: int = 41) -> tuple[float, float]:
    """(best single estimate, its expected absolute error) for ticket ``number``, just issued."""
    waits = sorted(_play(truth, loads, open_ids, number, now, steal, rng) for _ in range(draws))
    median = waits[draws // 2]
    return median, statistics.fmean(abs(w - median) for w in waits)
