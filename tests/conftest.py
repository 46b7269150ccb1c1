"""Shared fixtures: isolated ROS 2 domains and ZMQ ports, and real lobbybot processes."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lobbybot.launch.lifetime import die_with_parent

REPO = Path(__file__).resolve().parents[1]
# One ROS domain for this pytest process (rclpy reads it once), others for its children.
_domains = itertools.count(random.Random(os.getpid()).randrange(0, 60))
os.environ["ROS_DOMAIN_ID"] = str(1 + next(_domains) % 100)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


def _ros_available() -> bool:
    try:
        import lobby_interfaces.msg  # noqa: F401
        import rclpy  # noqa: F401
    except ImportError:
        return False
    return True


ROS_AVAILABLE = _ros_available()
requires_ros = pytest.mark.skipif(
    not ROS_AVAILABLE and not os.environ.get("CI"),
    reason="rclpy or the built lobby_interfaces missing (run make setup)")


@pytest.fixture
def ros_domain() -> str:
    """A ROS_DOMAIN_ID of its own for the processes a test starts."""
    own = int(os.environ["ROS_DOMAIN_ID"])
    while True:
        domain = 1 + next(_domains) % 100
        if domain != own:
            return str(domain)


def _free_port_triple() -> int:
    for _ in range(200):
        base = random.randrange(20000, 60000)
        socks = []
        try:
            for offset in range(3):
                s = socket.socket()
                s.bind(("127.0.0.1", base + offset))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port triple")


@pytest.fixture
def zmq_port() -> int:
    return _free_port_triple()


class Proc:
    """A real lobbybot process whose output is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.args = args
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "lobbybot", *args], cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, preexec_fn=die_with_parent())
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, pattern: str, timeout_s: float = 20.0, start: int = 0) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            index = start
            while True:
                while index < len(self.lines):
                    match = regex.search(self.lines[index])
                    index += 1
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no line matching {pattern!r} within {timeout_s} s; "
                                         "output:\n" + "\n".join(self.lines[-60:]))
                self._cond.wait(remaining)

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def interrupt(self, timeout_s: float = 15.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            raise

    def kill(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


@pytest.fixture
def spawn() -> Iterator:
    """Start lobbybot processes; every one is stopped at the end of the test."""
    started: list[Proc] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Proc:
        proc = Proc(list(args), env or {})
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.kill()


def all_day_branch_text() -> str:
    """The example branch open around the clock, so tests do not depend on the hour."""
    text = (REPO / "config" / "branch.yaml").read_text(encoding="utf-8")
    return text.replace('"09:00-17:00"', '"00:00-24:00"').replace(
        '["09:00-12:00", "13:00-17:00"]', '"00:00-24:00"')


@pytest.fixture
def all_day_config(tmp_path) -> Path:
    path = tmp_path / "branch.yaml"
    path.write_text(all_day_branch_text(), encoding="utf-8")
    return path


def wait_until(predicate, timeout_s: float = 10.0, every=None) -> bool:
    """Poll ``predicate`` (calling ``every`` between polls, e.g. to republish) until true."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        if every:
            every()
        time.sleep(0.05)
    return True


def run_cli(*args: str, env: dict[str, str] | None = None, timeout_s: float = 60.0):
    """Run ``lobbybot ARGS`` to completion; returns the CompletedProcess.

    A run that outlives ``timeout_s`` fails the test with what it printed so far: a hang
    must say where it hung."""
    try:
        return subprocess.run([sys.executable, "-m", "lobbybot", *args], cwd=REPO,
                              env={**os.environ, **(env or {})}, capture_output=True,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        def tail(out: bytes | str | None) -> str:
            text = out.decode(errors="replace") if isinstance(out, bytes) else out or ""
            return text[-4000:]
        pytest.fail(f"lobbybot {' '.join(args)} still ran after {timeout_s} s\n"
                    f"--- stdout (tail) ---\n{tail(exc.stdout)}\n"
                    f"--- stderr (tail) ---\n{tail(exc.stderr)}", pytrace=False)


def last_json(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    assert lines, f"no JSON line in output:\n{text}"
    return json.loads(lines[-1])


@pytest.fixture(scope="session")
def nlu():
    """The shipped NLU (intent model + fraud guard), loaded once for the dialog tests."""
    from dialog.nlu import NLU

    return NLU()


@pytest.fixture
def book():
    """A routing book on an all-day branch, in memory."""
    from routing.book import TicketBook
    from routing.config import parse_branch_config
    from routing.store import TicketStore

    return TicketBook(parse_branch_config(all_day_branch_text()), TicketStore(":memory:"))
