"""Branch configuration: the example loads; every mistake is named with its line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from routing.config import BranchConfigError, load_branch_config, parse_branch_config

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = (REPO / "config" / "branch.yaml").read_text(encoding="utf-8")


def test_example_branch_loads():
    config = load_branch_config(REPO / "config" / "branch.yaml")
    assert set(config.services) == {"cash", "personal", "loans", "wealth", "forex", "business",
                                    "self_service", "manager"}
    assert [c.id for c in config.counters_for("cash")] == ["c1", "c2", "c3"]
    assert config.machines["atm1"].max_amount == 20000
    c4 = config.counters["c4"]
    assert c4.is_open(dt.datetime(2026, 11, 25, 10, 0))
    assert not c4.is_open(dt.datetime(2026, 11, 25, 12, 30))  # lunch closure


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new, problem, at", [
    ("services: [cash, forex]", "services: [cash, forx]", "unknown service 'forx'",
     "id: c1"),
    ("services: [cash], zone: z2", "services: [], zone: z2", "counter c2 handles no services",
     "id: c2"),
    ("- {id: atm1", "- {id: c3", "machine id 'c3' is already used by a counter",
     "id: c3, name: {zh: 1号自动"),
    ("prefix: B,", "prefix: A,", "prefix A already used by cash", "personal:"),
    ('hours: "09:00-17:00"}\n  - {id: c2', 'hours: "17:00-09:00"}\n  - {id: c2',
     "ends before it starts", "id: c1"),
    ("max_consecutive: 2", "max_consecutive: 0", "priority.max_consecutive must be a number",
     "max_consecutive"),
])
def test_mistakes_are_named_with_file_and_line(old, new, problem, at):
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    with pytest.raises(BranchConfigError) as info:
        parse_branch_config(text, "branch.yaml")
    message = str(info.value)
    assert problem in message
    assert message.startswith(f"branch.yaml:{line_of(text, at)}:"), message


def test_service_nobody_handles_is_refused():
    text = EXAMPLE.replace("services: [loans, wealth], zone: z6", "services: [wealth], zone: z6")
    text = text.replace("services: [wealth, loans, business]", "services: [wealth, business]")
    with pytest.raises(BranchConfigError, match="service loans is handled by no counter"):
        parse_branch_config(text, "branch.yaml")


@pytest.mark.parametrize("text, problem", [
    ("branch: {id: b}\nservices: {}\ncounters: []\nlasers: on\n", "unknown key(s) lasers"),
    ("branch: {id: b, name: B}\nservices:\n  cash: {prefix: A, name: C, service_time_s: 60}\n"
     "  cash: {prefix: B, name: D, service_time_s: 60}\ncounters: []\n", "duplicate key 'cash'"),
    ("branch: {id: b, name: B}\nservices:\n  loan: {prefix: A, name: L, service_time_s: 60}\n"
     "counters: []\n", "unknown key(s) loan"),
    ("branch: [", "not valid YAML"),
])
def test_structural_errors(text, problem):
    with pytest.raises(BranchConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_branch_config(text, "b.yaml")


def test_a_counter_open_around_the_clock_is_open_in_the_last_minute_of_the_day():
    config = parse_branch_config(EXAMPLE.replace('"09:00-17:00"', '"00:00-24:00"'))
    c1 = config.counters["c1"]
    assert c1.is_open(dt.datetime(2026, 12, 2, 23, 59, 30)) and c1.is_open(
        dt.datetime(2026, 12, 3, 0, 0))
    with pytest.raises(BranchConfigError, match="a day ends at 24:00"):
        parse_branch_config(EXAMPLE.replace('"09:00-17:00"', '"09:00-24:30"', 1))
