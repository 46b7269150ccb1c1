"""Acceptance with real processes: separately started nodes, launch respawn, malformed floods."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

import pytest
import zmq
from conftest import REPO, last_json, requires_ros, run_cli, wait_until

from lobbybot.contracts import msg
from lobbybot.nodes.probe import probed_messages, probed_services
from lobbybot.transport.zmq_endpoints import ZmqEndpoints
from lobbybot.transport.zmq_wire import encode_topic

ALL_MESSAGES = set(probed_messages())
ALL_SERVICES = set(probed_services())


def transport_env(transport: str, ros_domain: str, zmq_port: int) -> dict[str, str]:
    if transport == "ros":
        return {"ROS_DOMAIN_ID": ros_domain}
    return ZmqEndpoints(port=zmq_port).as_env()


TRANSPORTS = [pytest.param("ros", marks=requires_ros), "zmq"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_two_processes_exchange_every_contract(transport, spawn, ros_domain, zmq_port):
    env = transport_env(transport, ros_domain, zmq_port)
    if transport == "zmq":
        spawn("bus", env=env).wait_for("ZMQ bus listening")
    node = spawn("node", "run", "interface_probe", "--transport", transport, env=env)
    node.wait_for("started on")
    result = run_cli("probe", "--transport", transport, "--timeout", "20", env=env)
    report = last_json(result.stdout)
    assert report["messages"] == {name: "ok" for name in ALL_MESSAGES}, result.stderr
    assert report["services"] == {name: "ok" for name in ALL_SERVICES}
    assert result.returncode == 0 and report["ok"]
    assert len(ALL_MESSAGES) >= 13  # 12 lobby_interfaces messages + Image


def _pid(match) -> int:
    return int(match.group(1))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_launch_respawns_a_killed_node_and_stops_cleanly(transport, spawn, ros_domain, zmq_port):
    env = transport_env(transport, ros_domain, zmq_port)
    launch = spawn("launch", "launch/foundation.launch.yaml", "--transport", transport, env=env)
    probe_pid = _pid(launch.wait_for(r"\[launch\] started interface_probe \(pid (\d+)\)"))
    monitor_pid = _pid(launch.wait_for(r"\[launch\] started lobby_monitor \(pid (\d+)\)"))
    launch.wait_for(r"\[lobby_monitor\].*node /interface_probe is up")
    mark = len(launch.lines)

    killed_at = time.monotonic()
    os.kill(probe_pid, signal.SIGKILL)
    new_pid = _pid(launch.wait_for(r"\[launch\] started interface_probe \(pid (\d+)\)",
                                   timeout_s=5.0, start=mark))
    assert time.monotonic() - killed_at < 5.0
    assert new_pid != probe_pid
    # The monitor noticed the restart through the heartbeats, and never stopped itself.
    launch.wait_for(rf"node /interface_probe restarted \(pid {probe_pid} -> {new_pid}\)",
                    timeout_s=10.0, start=mark)
    os.kill(monitor_pid, 0)  # still the same process
    assert "lobby_monitor (pid" not in "\n".join(
        line for line in launch.lines[mark:] if "died" in line)
    # The respawned node works: every contract still round-trips through it.
    report = last_json(run_cli("probe", "--transport", transport, env=env).stdout)
    assert report["ok"], report

    assert launch.interrupt() == 0, launch.output()[-3000:]
    for pid in (new_pid, monitor_pid):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "interface_probe exited with 0" in launch.output()


def test_flood_of_malformed_zmq_frames_is_counted_without_a_crash(spawn, zmq_port):
    endpoints = ZmqEndpoints(port=zmq_port)
    env = endpoints.as_env()
    spawn("bus", env=env).wait_for("ZMQ bus listening")
    node = spawn("node", "run", "interface_probe", "--transport", "zmq", env=env)
    node.wait_for("started on")
    pid = node.popen.pid

    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.connect(endpoints.publish)
    sub = ctx.socket(zmq.SUB)
    sub.connect(endpoints.subscribe)
    for topic in ("/lobbybot/probe/out/ticket", "/diagnostics"):
        sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
    good = encode_topic("/lobbybot/probe/in/ticket", msg.Ticket(number="A001"), "/test", 1)

    def echoed(timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pub.send_multipart(good)
            while sub.poll(100):
                if sub.recv_multipart()[0] == b"/lobbybot/probe/out/ticket":
                    return True
        return False

    assert echoed(), "probe never echoed a valid ticket"
    envelope = json.loads(good[1])
    kinds = [
        lambda i: [good[0], f"garbage {i}".encode()],
        lambda i: [good[0], b"\xff" * (i % 7 + 1)],
        lambda i: [good[0], json.dumps({**envelope, "v": i + 2}).encode()],
        lambda i: [good[0], json.dumps({**envelope, "msg": {**envelope["msg"],
                                                            "position": -i - 1}}).encode()],
        lambda i: [good[0], json.dumps({**envelope, "msg": [i]}).encode()],
    ]
    malformed = [kinds[i % len(kinds)](i) for i in range(1000)]
    wrong_type = encode_topic("/lobbybot/probe/in/ticket", msg.Say(text="hi"), "/test", 2)
    malformed += [wrong_type] * 50
    for i, frames in enumerate(malformed):
        pub.send_multipart(frames)
        if i % 100 == 99:
            time.sleep(0.02)  # stay under the bus's high-water marks

    deadline, rejected = time.monotonic() + 20, -1
    while time.monotonic() < deadline and rejected != len(malformed):
        if sub.poll(200):
            frames = sub.recv_multipart()
            if frames[0] == b"/diagnostics":
                for status in json.loads(frames[1])["msg"]["status"]:
                    if status["name"] == "/interface_probe":
                        values = {kv["key"]: kv["value"] for kv in status["values"]}
                        rejected = int(values["rejected"])
                        assert int(values["pid"]) == pid
    assert rejected == len(malformed)
    assert node.popen.poll() is None, "the node crashed"
    logged = [line for line in node.lines if "rejected malformed message" in line]
    assert 1 <= len(logged) <= 20, "each problem logged, but throttled, not 1050 lines"
    assert echoed(), "the node stopped serving after the flood"
    pub.close(0)
    sub.close(0)
    ctx.term()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_launch_applies_remaps_params_and_env(transport, spawn, ros_domain, zmq_port, tmp_path):
    env = transport_env(transport, ros_domain, zmq_port)
    params = tmp_path / "ops.params.yaml"
    # "ops_monitor" addresses /ops_monitor only; "/**/ops_monitor" any namespace (rcl rules)
    params.write_text("/**/ops_monitor:\n  ros__parameters:\n    stale_after_s: 7.5\n"
                      "ops_monitor:\n  ros__parameters:\n    stale_after_s: 1.0\n")
    launch_file = tmp_path / "ops.launch.yaml"
    launch_file.write_text(f"""
launch:
  - node:
      pkg: lobby_bringup
      exec: lobby_monitor
      name: ops_monitor
      namespace: /branch7
      param:
        - from: {params}
        - {{name: publish_period_s, value: 0.5}}
      remap:
        - {{from: /diagnostics_agg, to: /ops/health}}
      env:
        - {{name: LOBBYBOT_LOG_LEVEL, value: DEBUG}}
""")
    launch = spawn("launch", str(launch_file), "--transport", transport, env=env)
    launch.wait_for(r"/branch7/ops_monitor started on")
    # env (DEBUG logging) and both params sources reached the node:
    launch.wait_for(r"parameters: .*'stale_after_s': 7\.5.*'publish_period_s': 0\.5")
    # the remap did: the summary is on /ops/health, under the namespaced node name
    echo = run_cli("topic", "echo", "/ops/health", "diagnostic_msgs/msg/DiagnosticArray",
                   "--transport", transport, "--count", "4", env=env, timeout_s=30)
    names = {s["name"] for line in echo.stdout.splitlines()
             for s in json.loads(line)["msg"]["status"]}
    assert "/branch7/ops_monitor" in names
    assert launch.interrupt() == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_node_stops_cleanly_on_signals(signum, spawn, zmq_port):
    env = ZmqEndpoints(port=zmq_port).as_env()
    node = spawn("node", "run", "lobby_monitor", "--transport", "zmq", env=env)
    node.wait_for("started on")
    node.popen.send_signal(signum)
    assert node.popen.wait(10) == 0
    node.wait_for(f"received {signum.name}, shutting down")
    node.wait_for("/lobby_monitor stopped")


def _proc_stat(pid: int | str) -> tuple[str, int] | None:
    """(state, parent pid) of a process from /proc; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid``."""
    stats = {int(e): _proc_stat(e) for e in os.listdir("/proc") if e.isdigit()}
    return [child for child, stat in stats.items()
            if stat is not None and stat[1] == pid and stat[0] != "Z"]


def _gone(pids: list[int]) -> bool:
    return all((stat := _proc_stat(pid)) is None or stat[0] == "Z" for pid in pids)


def _describe(pids: list[int]) -> str:
    """The survivors among ``pids``: command line and what each thread waits in."""
    lines = []
    for pid in pids:
        if _gone([pid]):
            continue
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
            threads = [f"{(Path(f'/proc/{pid}/task/{t}/comm').read_text().strip())}:"
                       f"{Path(f'/proc/{pid}/task/{t}/wchan').read_text()}"
                       for t in os.listdir(f"/proc/{pid}/task")]
            lines.append(f"{pid} {command} threads {threads}")
    return "; ".join(lines)


def test_nodes_die_with_a_killed_launch(spawn, zmq_port):
    """kill -9 of ``lobbybot launch`` (no chance to clean up) still stops every node it
    started: a node left behind would keep serving the branch's topics."""
    env = ZmqEndpoints(port=zmq_port).as_env()
    launch = spawn("launch", "launch/foundation.launch.yaml", "--transport", "zmq", env=env)
    launch.wait_for(r"\[lobby_monitor\].*node /interface_probe is up")
    nodes = _children(launch.popen.pid)
    assert len(nodes) == 3, nodes  # bus, probe, monitor
    os.kill(launch.popen.pid, signal.SIGKILL)
    assert wait_until(lambda: _gone(nodes), timeout_s=15), \
        f"nodes outlived their launch: {_describe(nodes)}\n" + launch.output()[-3000:]


@requires_ros
def test_launched_graph_dies_with_a_killed_simulation(spawn, ros_domain):
    """kill -9 of ``lobbybot sim run --transport ros`` stops the node graph it launched: a
    graph left running on the ROS domain made the next run talk to two dialog nodes."""
    sim = spawn("sim", "run", "sim/scenarios/smoke.yaml", "--transport", "ros",
                env={"ROS_DOMAIN_ID": ros_domain})

    def graph() -> list[int]:
        launches = _children(sim.popen.pid)
        return [*launches, *(n for p in launches for n in _children(p))]

    assert wait_until(lambda: len(graph()) >= 5, timeout_s=60), sim.output()[-2000:]
    started = graph()
    os.kill(sim.popen.pid, signal.SIGKILL)
    try:
        assert wait_until(lambda: _gone(started), timeout_s=30), "the graph outlived the sim"
    finally:
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@requires_ros
def test_simulation_refuses_a_domain_where_another_graph_runs(spawn, ros_domain, tmp_path):
    """A second node graph on the same ROS domain would answer the simulated customers too
    (two dialog nodes greeting everyone): the run stops with a message saying so."""
    env = {"ROS_DOMAIN_ID": ros_domain}
    other = spawn("launch", "launch/lobby.launch.yaml", "--transport", "ros", "with_speech:=false",
                  f"db_path:={tmp_path / 'other.sqlite'}", env=env)
    other.wait_for(r"\[dialog\].*/dialog started on", timeout_s=60)
    result = run_cli("sim", "run", "sim/scenarios/smoke.yaml", "--transport", "ros",
                     "--report", str(tmp_path / "report"), env=env, timeout_s=180)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"another node graph is running on ROS_DOMAIN_ID={ros_domain}" in result.stderr
    assert "run twice" in result.stderr


_WAITS_FOR_A_SIGNAL = """
import sys, threading
from lobbybot.launch.lifetime import stop_on_signals
stop = threading.Event()
stop_on_signals(stop, lambda sig: print("got", sig.name, flush=True))
print("ready", flush=True)
while not stop.wait(0.0005):
    pass
print("stopped", flush=True)
"""


def test_a_burst_of_stop_signals_cannot_deadlock_a_process():
    """SIGINT and SIGTERM in quick succession (a dying parent's SIGTERM right after a
    Ctrl-C) while the main thread waits on the stop event: a handler that set the event
    itself could deadlock on the event's lock — the bus that outlived its killed launch."""
    import subprocess
    import sys

    for _ in range(20):
        child = subprocess.Popen([sys.executable, "-c", _WAITS_FOR_A_SIGNAL], cwd=REPO,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        for sig in (signal.SIGINT, signal.SIGTERM) * 5:
            child.send_signal(sig)
        try:
            out, _ = child.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            raise AssertionError("a burst of stop signals hung the process") from None
        # Stopped, not hung: a signal still arriving once the interpreter is tearing down
        # (its handlers reset) ends the process by that signal, which is fine.
        assert child.returncode in (0, -signal.SIGINT, -signal.SIGTERM), out
        # The stop is announced with a signal that was sent; which one comes first is not
        # fixed: Python may run the SIGTERM handler inside the SIGINT one, before its write.
        assert out.splitlines()[:1] in (["got SIGINT"], ["got SIGTERM"]), out
