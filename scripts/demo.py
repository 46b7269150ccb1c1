"""`make demo` until the simulator lands: the foundation node graph, end to end, on ROS 2 and ZMQ.

For each transport: launch launch/foundation.launch.yaml (lobby_monitor + interface_probe,
one process each), send every contract through the probe from a separate process, kill the
probe with SIGKILL and watch the launcher respawn it and the monitor report the restart,
check every contract again, then stop everything with SIGINT. Prints a JSON summary last.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAUNCH = "launch/foundation.launch.yaml"


def lobbybot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lobbybot", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


class Launch:
    def __init__(self, transport: str, env: dict[str, str]):
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "lobbybot", "launch", LAUNCH, "--transport", transport],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.append(line.rstrip())
            print("   ", line.rstrip(), flush=True)

    def wait_for(self, pattern: str, timeout_s: float = 20.0, start: int = 0) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if match := re.search(pattern, line):
                    return match
            time.sleep(0.05)
        raise SystemExit(f"demo: timed out waiting for {pattern!r}")


def run_transport(transport: str) -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
           "ROS_DOMAIN_ID": os.environ.get("ROS_DOMAIN_ID", "37")}
    print(f"\n== {transport}: lobbybot launch {LAUNCH} --transport {transport}", flush=True)
    launch = Launch(transport, env)
    result: dict = {"transport": transport}
    try:
        pid = int(launch.wait_for(r"started interface_probe \(pid (\d+)\)").group(1))
        launch.wait_for(r"node /interface_probe is up")
        probe = json.loads(lobbybot("probe", "--transport", transport, env=env).stdout)
        print(f"== {transport}: every contract through another process: "
              f"{'ok' if probe['ok'] else probe}", flush=True)
        result["contracts_ok"] = probe["ok"]
        mark = len(launch.lines)
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        print(f"== {transport}: killed interface_probe (pid {pid}) with SIGKILL", flush=True)
        new_pid = launch.wait_for(r"started interface_probe \(pid (\d+)\)", start=mark).group(1)
        result["respawn_s"] = round(time.monotonic() - killed, 2)
        launch.wait_for(rf"restarted \(pid {pid} -> {new_pid}\)", start=mark)
        again = json.loads(lobbybot("probe", "--transport", transport, env=env).stdout)
        result["contracts_ok_after_respawn"] = again["ok"]
    finally:
        launch.popen.send_signal(signal.SIGINT)
        result["launch_exit_code"] = launch.popen.wait(30)
    return result


def main() -> int:
    print(lobbybot("doctor", env=dict(os.environ)).stdout)
    results = [run_transport(t) for t in ("ros", "zmq")]
    ok = all(r.get("contracts_ok") and r.get("contracts_ok_after_respawn")
             and r["launch_exit_code"] == 0 for r in results)
    print(json.dumps({"demo": "foundation", "ok": ok, "runs": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
