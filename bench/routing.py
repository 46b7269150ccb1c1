"""Routing benchmark: a discrete-event branch day, decision speed, and a kill -9 crash test.

1. Branch day. Customers arrive by an hourly profile over 09:00-17:00 with a service mix,
   10 % priority, log-normal service times (CV 0.5; true means differ from the configured
   priors so the estimator must learn them) and a walk to the counter. Each policy —
   queue_aware, fewest (fewest tickets waiting) and fifo (one queue per service) — serves
   the *same* customers (common random numbers) through the real TicketBook over several
   days. Tellers call the next ticket whenever they are free. Reported: mean and p95 wait
   (issue → call), queue_aware/fewest mean-wait ratio, and ETA mean absolute error — beside
   the error of an oracle that knows the true distributions (eta_floor.py), which shows how
   much of that error no estimator could remove.
2. Decision speed: routing decisions per second and p99 latency on a busy mid-day state.
3. Crash test: a worker issuing tickets (file SQLite, WAL, synchronous=FULL) is SIGKILLed
   at random points 20 times; after each restart it re-sends its last requests, and every
   acknowledged ticket must exist exactly once with the number it was acknowledged with.

    python bench/routing.py [--days 20] [--kills 20] [--no-floor]      (last line: JSON)
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eta_floor import Truth, oracle  # noqa: E402

from routing.book import TicketBook  # noqa: E402
from routing.config import BranchConfig, load_branch_config  # noqa: E402
from routing.model import ELDERLY, NORMAL, PREGNANT, VIP  # noqa: E402
from routing.store import TicketStore  # noqa: E402

CONFIG = REPO / "config" / "branch.yaml"
ARRIVALS_PER_HOUR = {9: 40, 10: 62, 11: 58, 12: 45, 13: 42, 14: 50, 15: 56, 16: 38}
SERVICE_MIX = {"cash": 0.40, "personal": 0.22, "loans": 0.05, "wealth": 0.06, "forex": 0.05,
               "business": 0.05, "self_service": 0.07, "manager": 0.10}
TRUE_TIME_FACTOR = {"cash": 1.1, "personal": 0.9, "loans": 1.15, "wealth": 0.85, "forex": 1.0,
                    "business": 1.1, "self_service": 1.0, "manager": 0.8}
SERVICE_CV = 0.5
PRIORITY_SHARE = 0.10
WALK_S = (10.0, 40.0)


@dataclass(frozen=True)
class Customer:
    index: int
    arrival: float  # seconds after 09:00
    service: str
    priority: int
    duration_s: float
    walk_s: float


def lognormal(rng: random.Random, mean: float, cv: float) -> float:
    sigma2 = math.log(1 + cv * cv)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


def make_day(config: BranchConfig, seed: int) -> list[Customer]:
    rng = random.Random(seed)
    customers, t = [], 0.0
    for hour, rate in ARRIVALS_PER_HOUR.items():
        start, end = (hour - 9) * 3600.0, (hour - 8) * 3600.0
        t = max(t, start)
        while True:
            t += rng.expovariate(rate / 3600.0)
            if t >= end:
                t = end
                break
            service = rng.choices(list(SERVICE_MIX), weights=list(SERVICE_MIX.values()))[0]
            priority = NORMAL
            if rng.random() < PRIORITY_SHARE:
                priority = rng.choice([ELDERLY, ELDERLY, PREGNANT, VIP])
            mean = config.services[service].service_time_s * TRUE_TIME_FACTOR[service]
            customers.append(Customer(len(customers), t, service, priority,
                                      lognormal(rng, mean, SERVICE_CV), rng.uniform(*WALK_S)))
    return customers


def simulate_day(config: BranchConfig, customers: list[Customer], policy: str, day_start: float,
                 steal: bool, floor: list[tuple[float, float]] | None = None
                 ) -> list[tuple[float, float]]:
    """Run one day; returns (predicted ETA, actual wait) per ticketed customer.

    With ``floor``, the oracle of eta_floor.py appends (its error, its expected error) for
    each customer.
    """
    truth = branch_truth(config, day_start) if floor is not None else None
    rng = random.Random(day_start)
    book = TicketBook(config, TicketStore(":memory:", durable=False), policy,
                      steal_when_idle=steal)
    events: list[tuple[float, int, str, object]] = []
    seq = 0

    def push(t: float, kind: str, data: object) -> None:
        nonlocal seq
        heapq.heappush(events, (t, seq, kind, data))
        seq += 1

    for c in customers:
        push(day_start + c.arrival, "arrive", c)
    for counter in config.counters.values():
        for start, end in counter.hours:
            for moment, kind in ((start, "open"), (end, "close")):
                when = dt.datetime.combine(book.local_time(day_start).date(), moment, book.tz)
                if kind == "close" and moment >= dt.time(17, 0):
                    continue  # at closing time tellers still serve whoever holds a ticket
                push(when.timestamp(), kind, counter.id)
    idle = {cid: True for cid in config.counters}
    closed: set[str] = set()
    machine_ends: dict[str, list[float]] = {m: [] for m in config.machines}
    by_number: dict[str, Customer] = {}
    issued_eta: dict[str, float] = {}
    best_guess: dict[str, tuple[float, float]] = {}  # the oracle's (median, expected error)
    waits: list[tuple[float, float]] = []

    def try_call(counter_id: str, now: float) -> None:
        if not idle[counter_id] or counter_id in closed:
            return
        call = book.call_next(counter_id, now)
        if call is None:
            return
        idle[counter_id] = False
        number = call.ticket.number
        waits.append((issued_eta[number], now - call.ticket.issued_at))
        if number in best_guess:
            median, expected_error = best_guess.pop(number)
            floor.append((abs(median - waits[-1][1]), expected_error))
        customer = by_number[number]
        push(now + customer.walk_s, "arrived_at_counter", (counter_id, number))

    while events:
        now, _, kind, data = heapq.heappop(events)
        if kind == "arrive":
            c: Customer = data
            for machine_id, ends in machine_ends.items():  # what the camera sees there
                book.zone_counts[config.machines[machine_id].zone] = sum(e > now for e in ends)
            issued = book.issue(f"r{c.index}", c.service, c.priority, "zh", amount=0.0, now=now)
            if issued.kind == "machine":
                ends = machine_ends[issued.destination]
                start = max([now, *ends])
                ends.append(start + c.duration_s)
                waits.append((issued.eta_s, start - now))
                if floor is not None:  # a machine's queue is in plain sight
                    floor.append((abs(issued.eta_s - waits[-1][1]), 0.0))
                continue
            by_number[issued.ticket.number] = c
            issued_eta[issued.ticket.number] = issued.eta_s
            if truth is not None:
                best_guess[issued.ticket.number] = oracle(
                    truth, book.counter_loads(now), book.open_counter_ids(now),
                    issued.ticket.number, now, steal, rng)
            for counter in config.counters_for(c.service):
                try_call(counter.id, now)
        elif kind == "arrived_at_counter":
            counter_id, number = data
            book.serve(number, now)
            push(now + by_number[number].duration_s, "finish", (counter_id, number))
        elif kind == "finish":
            counter_id, number = data
            book.done(number, now)
            idle[counter_id] = True
            try_call(counter_id, now)
        elif kind == "close":
            closed.add(data)
        elif kind == "open":
            closed.discard(data)
            try_call(data, now)
    return waits


def branch_truth(config: BranchConfig, day_start: float) -> Truth:
    """What the simulated branch really is, for the oracle (see make_day)."""
    def arrivals_per_s(t: float) -> float:
        hour = 9 + int((t - day_start) // 3600)
        return ARRIVALS_PER_HOUR.get(hour, 0.0) / 3600.0 or 1e-9

    return Truth({s: config.services[s].service_time_s * f for s, f in TRUE_TIME_FACTOR.items()},
                 SERVICE_CV, WALK_S, arrivals_per_s, SERVICE_MIX, PRIORITY_SHARE)


def branch_day(config: BranchConfig, days: int, steal: bool, floor: bool = False) -> dict:
    tz = ZoneInfo(config.timezone)
    results = {}
    for policy in ("queue_aware", "fewest", "fifo"):
        pairs: list[tuple[float, float]] = []
        oracle_errors: list[tuple[float, float]] | None = (
            [] if floor and policy == "queue_aware" else None)
        for d in range(days):
            day = dt.date(2026, 11, 23) + dt.timedelta(days=d)
            start = dt.datetime.combine(day, dt.time(9, 0), tz).timestamp()
            pairs += simulate_day(config, make_day(config, seed=1000 + d), policy, start, steal,
                                  oracle_errors)
        waits = [w for _, w in pairs]
        errors = [abs(eta - w) for eta, w in pairs]
        mean_wait = statistics.fmean(waits)
        results[policy] = {
            "customers": len(waits),
            "mean_wait_s": round(mean_wait, 1),
            "p95_wait_s": round(sorted(waits)[int(0.95 * (len(waits) - 1))], 1),
            "eta_mae_s": round(statistics.fmean(errors), 1),
            "eta_mae_over_mean_wait": round(statistics.fmean(errors) / mean_wait, 3),
        }
        if oracle_errors:  # what knowing the branch's true distributions would achieve
            results[policy]["oracle_eta_mae_over_mean_wait"] = round(
                statistics.fmean(e for e, _ in oracle_errors) / mean_wait, 3)
            results[policy]["eta_floor_over_mean_wait"] = round(
                statistics.fmean(e for _, e in oracle_errors) / mean_wait, 3)
    results["queue_aware_over_fewest_mean_wait"] = round(
        results["queue_aware"]["mean_wait_s"] / results["fewest"]["mean_wait_s"], 3)
    return results


def decision_speed(config: BranchConfig, n: int = 20000) -> dict:
    tz = ZoneInfo(config.timezone)
    now = dt.datetime(2026, 11, 25, 11, 0, tzinfo=tz).timestamp()
    book = TicketBook(config, TicketStore(":memory:", durable=False))
    rng = random.Random(7)
    services = list(SERVICE_MIX)
    for i in range(60):  # a busy late morning: 60 open tickets, every counter busy
        book.issue(f"w{i}", rng.choice(services), NORMAL, now=now - 600 + i)
    for counter in config.counters:
        book.call_next(counter, now - 60)
    latencies = []
    begin = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        book.decide(services[i % len(services)], VIP if i % 10 == 0 else NORMAL, 0.0, now)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - begin
    latencies.sort()
    issue_times = []  # issuing = decision + look-ahead wait + SQLite commit (in memory here)
    for i in range(300):
        t0 = time.perf_counter()
        book.issue(f"bench-{i}", services[i % len(services)], NORMAL, now=now)
        issue_times.append(time.perf_counter() - t0)
        if i % 10 == 9:  # keep the queue near 60 open tickets
            for counter in config.counters:
                call = book.call_next(counter, now)
                if call:
                    book.done(call.ticket.number, now)
    issue_times.sort()
    return {"open_tickets": 60, "decisions_per_s": round(n / elapsed),
            "p50_ms": round(latencies[n // 2] * 1000, 4),
            "p99_ms": round(latencies[int(n * 0.99)] * 1000, 4),
            "issue_p50_ms": round(issue_times[150] * 1000, 3),
            "issue_p95_ms": round(issue_times[284] * 1000, 3)}


# -- crash test ------------------------------------------------------------------------------
def worker(db_path: str, start: int) -> None:
    """Issue tickets r<start-3>.. forever; print ACK lines only after commit returned."""
    config = load_branch_config(CONFIG)
    book = TicketBook(config, TicketStore(db_path, durable=True))
    now = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo(config.timezone)).timestamp()
    i = max(0, start - 3)  # a client retries what it may not have seen acknowledged
    while True:
        issued = book.issue(f"req-{i}", "cash" if i % 3 else "personal", now=now + i)
        print(f"ACK req-{i} {issued.ticket.number}", flush=True)
        i += 1


def crash_test(kills: int, seed: int = 11) -> dict:
    rng = random.Random(seed)
    acked: dict[str, str] = {}
    violations: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        db_path = os.path.join(tmp, "tickets.sqlite")
        next_index = 0
        for _ in range(kills):
            proc = subprocess.Popen([sys.executable, __file__, "--worker", db_path,
                                     str(next_index)], stdout=subprocess.PIPE, text=True)
            deadline = time.monotonic() + rng.uniform(0.3, 1.2)
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                _, request_id, number = line.split()
                if acked.setdefault(request_id, number) != number:
                    violations.append(f"{request_id} re-acknowledged as {number}, "
                                      f"first {acked[request_id]}")
                next_index = max(next_index, int(request_id.split("-")[1]) + 1)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            store = TicketStore(db_path)
            rows = store.all_tickets()
            store.close()
            by_request: dict[str, list[str]] = {}
            for r in rows:
                by_request.setdefault(r.request_id, []).append(r.number)
            for request_id, number in acked.items():
                if by_request.get(request_id) != [number]:
                    violations.append(f"{request_id}: acknowledged {number}, "
                                      f"stored {by_request.get(request_id)}")
            numbers = [r.number for r in rows]
            if len(numbers) != len(set(numbers)):
                violations.append("duplicate ticket numbers")
    return {"kills": kills, "acknowledged": len(acked), "violations": violations[:10],
            "ok": not violations and len(acked) > 0}


def main() -> None:
    parser = argparse.ArgumentParser(description="routing benchmark")
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the ETA oracle (eta_floor.py), the slowest part")
    parser.add_argument("--only", choices=("day", "speed", "crash"), help="run one part")
    parser.add_argument("--worker", nargs=2, metavar=("DB", "START"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]))
        return
    if args.only == "crash":
        print(json.dumps({"bench": "routing", "crash": crash_test(args.kills)}))
        return
    config = load_branch_config(CONFIG)
    if args.only == "speed":
        print(json.dumps({"bench": "routing", "decisions": decision_speed(config)}))
        return
    day = {"steal_when_idle": branch_day(config, args.days, True, not args.no_floor),
           "strict_counter_queues": branch_day(config, args.days, False, not args.no_floor)}
    if args.only == "day":
        print(json.dumps({"bench": "routing", "branch_day": day}))
        return
    for name, result in day.items():
        print(f"branch day ({name}, {args.days} days):")
        for policy in ("queue_aware", "fewest", "fifo"):
            r = result[policy]
            print(f"  {policy:<12} mean wait {r['mean_wait_s']:7.1f} s"
                  f"  p95 {r['p95_wait_s']:7.1f} s  ETA MAE {r['eta_mae_s']:6.1f} s"
                  f" ({r['eta_mae_over_mean_wait']:.0%} of mean)")
            if "oracle_eta_mae_over_mean_wait" in r:
                print(f"  {'':<12} ETA oracle {r['oracle_eta_mae_over_mean_wait']:.0%} of mean"
                      f" (expects {r['eta_floor_over_mean_wait']:.0%})")
        print(f"  queue_aware / fewest mean wait: {result['queue_aware_over_fewest_mean_wait']}")
    speed = decision_speed(config)
    print(f"decisions: {speed['decisions_per_s']}/s, p50 {speed['p50_ms']} ms, "
          f"p99 {speed['p99_ms']} ms; issuing a ticket p50 {speed['issue_p50_ms']} ms, "
          f"p95 {speed['issue_p95_ms']} ms")
    crash = crash_test(args.kills)
    print(f"crash test: {crash['kills']} SIGKILLs, {crash['acknowledged']} acknowledged, "
          f"{'no violations' if crash['ok'] else crash['violations']}")
    print(json.dumps({"bench": "routing", "branch_day": day, "decisions": speed,
                      "crash": crash}))


if __name__ == "__main__":
    main()
