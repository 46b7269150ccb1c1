"""Supervise the processes of a launch: one per node, prefixed logs, respawn, clean stop.

What ``ros2 launch`` does for lobbybot's launch files: start each node as its own process
(``lobbybot node run EXEC --transport T --ros-args ...``), prefix every output line with the
node name, restart a node that dies when ``respawn`` is set (exponential backoff from
``respawn_delay``, reset after a stable minute), and on Ctrl-C/SIGTERM stop every node with
SIGINT, then SIGTERM, then SIGKILL. With the ZMQ transport the bus process is started first
and supervised like a node. Children die with the supervisor (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lobbybot.node import registry
from lobbybot.node.params import ConfigError

from .description import LaunchDescription, NodeSpec
from .lifetime import die_with_parent, stop_on_signals

MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0
SIGINT_GRACE_S = 5.0
SIGTERM_GRACE_S = 3.0

def node_command(node: NodeSpec, transport: str) -> list[str]:
    """The command line of one node process."""
    if node.executable in registry.available():
        return [sys.executable, "-m", "lobbybot", "node", "run", node.executable,
                "--transport", transport, *node.args, *node.ros_args()]
    for prefix in filter(None, os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)):
        candidate = Path(prefix) / "lib" / node.package / node.executable
        if candidate.is_file() and os.access(candidate, os.X_OK):
            if transport != "ros":
                raise ConfigError(f"{node.package}/{node.executable} is not a lobbybot node; "
                                  "it can only run with --transport ros")
            return [str(candidate), *node.args, *node.ros_args()]
    raise ConfigError(f"executable {node.executable!r} of package {node.package!r} not found "
                      "(not a lobbybot node, not on AMENT_PREFIX_PATH)")


@dataclass
class ManagedProcess:
    name: str
    command: list[str]
    env: dict[str, str]
    respawn: bool
    respawn_delay: float
    popen: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    failures: int = 0
    starts: int = 0


class Supervisor:
    def __init__(self, processes: list[ManagedProcess], out: IO[str] | None = None):
        self.processes = processes
        self._out = out or sys.stdout
        self._write_lock = threading.Lock()
        self._stop = threading.Event()

    @classmethod
    def for_launch(cls, launch: LaunchDescription, transport: str,
                   env: dict[str, str] | None = None, out: IO[str] | None = None) -> Supervisor:
        base_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        processes = []
        if transport == "zmq":
            processes.append(ManagedProcess(
                "zmq_bus", [sys.executable, "-m", "lobbybot", "bus"], base_env, True, 0.5))
        for node in launch.nodes:
            processes.append(ManagedProcess(
                node.name, node_command(node, transport), {**base_env, **node.env},
                node.respawn, node.respawn_delay))
        return cls(processes, out)

    def say(self, name: str, line: str) -> None:
        with self._write_lock:
            self._out.write(f"[{name}] {line}\n")
            self._out.flush()

    def _pump(self, proc: ManagedProcess, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(proc.name, raw.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    def _start(self, proc: ManagedProcess) -> None:
        proc.popen = subprocess.Popen(
            proc.command, env=proc.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent())
        proc.started_at = time.monotonic()
        proc.restart_at = None
        proc.starts += 1
        self.say("launch", f"started {proc.name} (pid {proc.popen.pid})")
        threading.Thread(target=self._pump, args=(proc, proc.popen.stdout), daemon=True).start()

    def _on_exit(self, proc: ManagedProcess, code: int) -> None:
        ran = time.monotonic() - proc.started_at
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"code {code}"
        self.say("launch", f"process {proc.name} (pid {proc.popen.pid}) died: {how}")
        proc.popen = None
        if not proc.respawn:
            return
        proc.failures = 0 if ran > STABLE_AFTER_S else proc.failures + 1
        delay = min(MAX_BACKOFF_S, max(proc.respawn_delay, 0.1) * 2 ** max(0, proc.failures - 1))
        proc.restart_at = time.monotonic() + delay
        self.say("launch", f"respawning {proc.name} in {delay:.1f} s")

    def stop(self) -> None:
        self._stop.set()

    def run(self, install_signals: bool = True) -> int:
        """Start everything and supervise until stopped; returns the exit code."""
        if install_signals:
            stop_on_signals(self._stop)
        for proc in self.processes:
            self._start(proc)
            if proc.name == "zmq_bus":
                time.sleep(0.2)  # let the bus bind before nodes connect (they would retry)
        while not self._stop.wait(0.1):
            for proc in self.processes:
                if proc.popen is not None and (code := proc.popen.poll()) is not None:
                    self._on_exit(proc, code)
                if proc.popen is None and proc.restart_at is not None \
                        and time.monotonic() >= proc.restart_at:
                    self._start(proc)
            if all(p.popen is None and p.restart_at is None for p in self.processes):
                self.say("launch", "all processes have exited")
                return 0 if all(not p.respawn for p in self.processes) else 1
        return self._shutdown()

    def _shutdown(self) -> int:
        self.say("launch", "shutting down")
        running = [p for p in reversed(self.processes) if p.popen is not None]
        clean = True
        for sig, grace in ((signal.SIGINT, SIGINT_GRACE_S), (signal.SIGTERM, SIGTERM_GRACE_S),
                           (signal.SIGKILL, 5.0)):
            for proc in running:
                if proc.popen.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.popen.pid, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(p.popen.poll() is None for p in running):
                time.sleep(0.05)
            still = [p for p in running if p.popen.poll() is None]
            if not still:
                break
            clean = False
            self.say("launch", f"{', '.join(p.name for p in still)} ignored {sig.name}")
        for proc in running:
            code = proc.popen.returncode
            if code not in (0, -signal.SIGINT):
                clean = False
            self.say("launch", f"{proc.name} exited with {code}")
        return 0 if clean else 1
