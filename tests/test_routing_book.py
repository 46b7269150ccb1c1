"""The ticket book: numbering, idempotency, call order, teller actions, routing choices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from routing.book import TicketBook
from routing.config import load_branch_config
from routing.model import CALLED, DONE, ELDERLY, NO_SHOW, SERVING, VIP, WAITING, TicketError
from routing.store import TicketStore

REPO = Path(__file__).resolve().parents[1]
CONFIG = load_branch_config(REPO / "config" / "branch.yaml")
TZ = ZoneInfo(CONFIG.timezone)


def at(hour: int, minute: int = 0, day: int = 25) -> float:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TZ).timestamp()


@pytest.fixture
def book(tmp_path):
    return TicketBook(CONFIG, TicketStore(tmp_path / "t.sqlite"))


def test_numbers_per_service_and_reset_daily(book):
    numbers = [book.issue(f"r{i}", s, now=at(10)).ticket.number
               for i, s in enumerate(["cash", "cash", "personal", "loans"])]
    assert numbers == ["A001", "A002", "B001", "C001"]
    assert book.issue("tomorrow", "cash", now=at(10, day=26)).ticket.number == "A001"


def test_issue_is_idempotent_and_survives_restart(tmp_path):
    path = tmp_path / "t.sqlite"
    first = TicketBook(CONFIG, TicketStore(path))
    a = first.issue("req-1", "cash", now=at(10))
    again = first.issue("req-1", "cash", now=at(10, 1))
    assert again.repeated and again.ticket.number == a.ticket.number
    first.store.close()
    second = TicketBook(CONFIG, TicketStore(path))  # a restarted routing node
    assert second.issue("req-1", "cash", now=at(10, 2)).ticket.number == "A001"
    assert second.issue("req-2", "cash", now=at(10, 2)).ticket.number == "A002"
    assert len(second.store.all_tickets()) == 2
    assert second.board(at(10, 3))["waiting"]["cash"]["count"] == 2


def test_unknown_service_is_refused_and_nothing_issued(book):
    with pytest.raises(TicketError, match="unknown service 'mortgage'"):
        book.issue("r1", "mortgage", now=at(10))
    assert book.store.all_tickets() == []


def test_priority_first_with_starvation_protection(tmp_path):
    from routing.config import parse_branch_config

    text = (REPO / "config" / "branch.yaml").read_text()
    text = text.replace("zone: z7,", "zone: z7, open: false,")  # room 7 closed: one loans queue
    book = TicketBook(parse_branch_config(text), TicketStore(tmp_path / "t.sqlite"))
    for i in range(3):
        book.issue(f"n{i}", "loans", now=at(10, i))
    for i in range(3):
        book.issue(f"p{i}", "loans", priority=ELDERLY, now=at(10, 5 + i))
    order = []
    for minute in range(6):
        call = book.call_next("c6", at(10, 20 + minute))
        book.done(call.ticket.number, at(10, 20 + minute))
        order.append(call.ticket.number)
    # two priority tickets, then a normal one (max_consecutive: 2), and so on
    assert order == ["C004", "C005", "C001", "C006", "C002", "C003"]


def test_long_waiting_normal_ticket_goes_before_new_priority(book):
    book.issue("old", "wealth", now=at(9, 0))
    book.issue("vip", "wealth", priority=VIP, now=at(9, 40))
    assert book.call_next("c6", at(9, 45)).ticket.number == "D001"  # waited 45 min > 30


def test_recall_then_no_show_only_after_the_grace_time(book):
    number = book.issue("r", "cash", now=at(10)).ticket.number
    call = book.call_next("c1", at(10, 1))
    assert call.ticket.number == number and call.ticket.state == CALLED
    with pytest.raises(TicketError, match="has not been recalled yet"):
        book.no_show(number, at(10, 5))
    assert book.recall(number, at(10, 2)).ticket.call_count == 2
    with pytest.raises(TicketError, match="no-show only after 120 s"):
        book.no_show(number, at(10, 3))
    assert book.no_show(number, at(10, 5)).state == NO_SHOW
    assert book.board(at(10, 6))["now_calling"] == []


def test_recalled_customer_who_never_comes_expires_automatically(book):
    number = book.issue("r", "cash", now=at(10)).ticket.number
    book.call_next("c1", at(10, 1))
    assert book.expire_no_shows(at(10, 10)) == []  # not recalled yet: the teller decides
    book.recall(number, at(10, 2))
    assert book.expire_no_shows(at(10, 3)) == []  # 60 s after the recall: still waiting
    assert [t.number for t in book.expire_no_shows(at(10, 4))] == [number]
    assert book.store.by_number("2026-11-25", number).state == NO_SHOW


def test_serve_done_and_next_call_finishes_the_current_customer(book):
    a = book.issue("a", "cash", now=at(10)).ticket.number
    b = book.issue("b", "cash", now=at(10)).ticket.number
    call = book.call_next("c2", at(10, 1))
    book.serve(call.ticket.number, at(10, 1))
    assert book.store.by_request("a" if call.ticket.number == a else "b").state == SERVING
    nxt = book.call_next("c2", at(10, 6))  # pressing "next" ends the previous service
    assert {call.ticket.number, nxt.ticket.number} == {a, b}
    assert book.store.by_number("2026-11-25", call.ticket.number).state == DONE


def test_transfer_keeps_number_and_place(book):
    book.issue("x", "cash", now=at(10, 0))
    book.issue("y", "personal", now=at(10, 5))
    moved = book.transfer("A001", "personal", at(10, 10))
    assert moved.ticket.number == "A001" and moved.ticket.service == "personal"
    assert moved.ticket.state == WAITING
    assert moved.destination in {"c3", "c4", "c5"}
    board = book.board(at(10, 11))["waiting"]["personal"]
    assert board["next"][0] == "A001"  # queued at 10:00, before B001 of 10:05


def test_small_cash_goes_to_the_atm_only_within_its_limit(book):
    for i in range(6):  # all cash counters have a queue
        book.issue(f"q{i}", "cash", now=at(10))
    small = book.issue("small", "cash", amount=2000, now=at(10, 1))
    assert small.kind == "machine" and small.destination == "atm1" and small.ticket is None
    assert "ATM" in book.issue("small-en", "cash", language="en", amount=500,
                               now=at(10, 1)).directions
    large = book.issue("large", "cash", amount=50000, now=at(10, 1))
    assert large.kind == "counter" and large.ticket.number.startswith("A")
    assert book.issue("small", "cash", amount=2000, now=at(10, 2)).repeated


def test_queue_aware_choice_sees_service_times_walk_ins_and_hours(book):
    book.issue("p1", "personal", now=at(10))  # c3 (cash+personal) gets a long job
    book.issue("p2", "personal", now=at(10))
    book.issue("p3", "personal", now=at(10))
    cash = book.issue("cash", "cash", now=at(10, 1))
    assert cash.destination != "c3" or cash.eta_s == 0
    book.zone_counts["z1"] = 6  # the camera sees a crowd at counter 1 without tickets
    book.zone_counts["z2"] = 0
    assert book.issue("cash2", "cash", now=at(10, 2)).destination != "c1"
    lunch = book.issue("lunch", "self_service", now=at(12, 30))  # c4 is closed at lunch
    assert lunch.destination in {"stm1", "m1"}
    with pytest.raises(TicketError, match="no counter or machine serves loans"):
        book.issue("night", "loans", now=at(20))


def test_priority_ticket_gets_a_shorter_eta(book):
    for i in range(4):
        book.issue(f"n{i}", "wealth", now=at(10))
    normal = book.issue("late-normal", "wealth", now=at(10, 1))
    vip = book.issue("late-vip", "wealth", priority=VIP, now=at(10, 1))
    assert vip.eta_s < normal.eta_s and vip.position < normal.position


def test_crash_test_harness_finds_every_acknowledged_ticket_once():
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(REPO / "bench" / "routing.py"), "--only",
                             "crash", "--kills", "3"], capture_output=True, text=True,
                            timeout=120)
    report = json.loads(result.stdout.splitlines()[-1])["crash"]
    assert report["ok"], report
    assert report["acknowledged"] > 0


def test_lookahead_counts_idle_counters_that_take_the_ticket():
    from routing.estimator import ServiceTimes
    from routing.lookahead import lookahead_wait_s
    from routing.model import SERVING, WAITING, TicketRecord
    from routing.router import CounterLoad, Router

    times = ServiceTimes({s.id: s.service_time_s for s in CONFIG.services.values()})
    router = Router(CONFIG, times)
    now = at(10)

    def ticket(number: str, counter: str, state: int = WAITING) -> TicketRecord:
        return TicketRecord(number, "cash", 0, state, counter, number, "2026-11-25",
                            now - 60, now - 60, served_at=now - 10 if state == SERVING else None)

    loads = {cid: CounterLoad(c) for cid, c in CONFIG.counters.items()}
    loads["c1"].in_service = ticket("A001", "c1", SERVING)
    loads["c1"].waiting = [ticket("A002", "c1"), ticket("A003", "c1")]
    loads["c2"].in_service = ticket("A004", "c2", SERVING)
    own_queue_only = router.counter_wait_s(loads["c1"], False, now)[0]
    everyone = set(CONFIG.counters)
    pooled = lookahead_wait_s(router, loads, "cash", False, "c1", now, True, everyone)
    strict = lookahead_wait_s(router, loads, "cash", False, "c1", now, False, everyone)
    assert strict == pytest.approx(own_queue_only, rel=0.05)
    # Idle counter 3 takes the two older tickets first (FIFO), then the new one is next in
    # line at whichever counter frees up first: sooner than counter 1 alone would manage.
    assert 0 < pooled < strict
    without_c3 = lookahead_wait_s(router, loads, "cash", False, "c1", now, True,
                                  everyone - {"c3"})
    assert pooled < without_c3 < strict


def test_eta_oracle_of_the_benchmark_measures_the_spread_of_service_times(book):
    """bench/eta_floor.py is the floor the README quotes: it must reproduce a known wait."""
    import random
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    from eta_floor import Truth, oracle

    wealth = CONFIG.services["wealth"].service_time_s
    for i in range(4):  # rooms 6 and 7 busy from now, two more wealth tickets waiting
        book.issue(f"w{i}", "wealth", now=at(10))
    for room in ("c6", "c7"):
        book.serve(book.call_next(room, at(10)).ticket.number, at(10))
    mine = book.issue("mine", "wealth", now=at(10))
    loads, open_ids = book.counter_loads(at(10)), book.open_counter_ids(at(10))

    def truth(cv: float) -> Truth:
        return Truth({s: wealth for s in CONFIG.services}, cv, (0.0, 0.0), lambda t: 1e-9,
                     {"wealth": 1.0}, 0.0)

    # Two rooms, two services under way and two waiting ahead: the new ticket is called when
    # the first room finishes its second customer, two service times from now.
    median, error = oracle(truth(0.01), loads, open_ids, mine.ticket.number, at(10), True,
                           random.Random(1))
    assert median == pytest.approx(2 * wealth, rel=0.03) and error < 0.02 * median
    median, error = oracle(truth(0.5), loads, open_ids, mine.ticket.number, at(10), True,
                           random.Random(1), draws=201)
    assert 0.15 * median < error < 0.5 * median  # the spread nobody can predict away
