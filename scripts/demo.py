"""`make demo` until the simulator lands: the real node graph, end to end, on ROS 2 and ZMQ.

For each transport: launch launch/foundation.launch.yaml (lobby_monitor + interface_probe,
one process each), send every contract through the probe from a separate process, kill the
probe with SIGKILL and watch the launcher respawn it and the monitor report the restart,
check every contract again, then stop everything with SIGINT. Then routing: launch
launch/lobby.launch.yaml, issue tickets, call and recall one with `lobbybot teller`, kill the
routing node with SIGKILL, check a retried request gets the same ticket after respawn, and
hold a short conversation with `lobbybot chat` that ends with a ticket from the routing node.
Prints a JSON summary last.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lobbybot.launch.lifetime import die_with_parent

REPO = Path(__file__).resolve().parents[1]
LAUNCH = "launch/foundation.launch.yaml"


def lobbybot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lobbybot", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


class Launch:
    def __init__(self, transport: str, env: dict[str, str], file: str = LAUNCH,
                 args: list[str] | None = None):
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "lobbybot", "launch", file, "--transport", transport,
             *(args or [])],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=die_with_parent())
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


def run_routing(transport: str, workdir: Path) -> dict:
    """Tickets end to end: issue, call, recall, board; the routing node killed and back."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
           "ROS_DOMAIN_ID": os.environ.get("ROS_DOMAIN_ID", "37")}
    # The example branch, open around the clock, so the demo works at any hour.
    config = workdir / "branch.yaml"
    config.write_text((REPO / "config" / "branch.yaml").read_text(encoding="utf-8")
                      .replace('"09:00-17:00"', '"00:00-24:00"')
                      .replace('["09:00-12:00", "13:00-17:00"]', '"00:00-24:00"'))
    db = workdir / f"tickets-{transport}.sqlite"
    print(f"\n== {transport}: lobbybot launch launch/lobby.launch.yaml (routing)", flush=True)
    launch = Launch(transport, env, "launch/lobby.launch.yaml",
                    [f"branch_config:={config}", f"db_path:={db}", "with_speech:=false"])
    result: dict = {"transport": transport}

    def teller(*args: str) -> dict:
        out = lobbybot("teller", "--transport", transport, "--timeout", "10", *args, env=env)
        data = json.loads(out.stdout.splitlines()[-1])
        print(f"   $ lobbybot teller {' '.join(args)}\n     {out.stdout.strip()[:300]}",
              flush=True)
        return data

    try:
        pid = int(launch.wait_for(r"started routing \(pid (\d+)\)").group(1))
        launch.wait_for(r"/routing started on")
        issued = [teller("issue", service, "--request-id", f"demo-{i}", "--lang", lang,
                         *extra)
                  for i, (service, lang, extra) in enumerate([
                      ("cash", "zh", ["--amount", "50000"]), ("cash", "en", ["--amount", "800"]),
                      ("personal", "zh", []), ("loans", "en", ["--priority", "elderly"]),
                      ("wealth", "zh", [])])]
        result["issued"] = [i["ticket"]["number"] or i["ticket"]["counter_id"] for i in issued]
        first = issued[0]["ticket"]
        result["called"] = teller("call-next", first["counter_id"])["ticket"]["number"]
        teller("recall", result["called"])
        mark = len(launch.lines)
        os.kill(pid, signal.SIGKILL)
        print(f"== {transport}: killed routing (pid {pid}) with SIGKILL", flush=True)
        launch.wait_for(r"/routing started on", start=mark)
        again = teller("issue", "cash", "--request-id", "demo-0")  # a kiosk retrying
        result["same_ticket_after_restart"] = again["ticket"]["number"] == first["number"]
        board = teller("board")["board"]
        result["board_waiting"] = {s["service"]: s["waiting"] for s in board["waiting"]
                                   if s["waiting"]}
        # A customer at the kiosk/robot: the dialog manager, tickets from the routing node.
        chat = subprocess.run(
            [sys.executable, "-m", "lobbybot", "chat", "--routing", transport],
            input="我的卡丢了\n对\n洗手间在哪\n谢谢再见\n", cwd=REPO, env=env,
            capture_output=True, text=True, timeout=60)
        print("   $ lobbybot chat --routing", transport)
        for line in chat.stdout.splitlines():
            print("     " + line, flush=True)
        robot = [line for line in chat.stdout.splitlines() if line.startswith("robot>")]
        result["chat_ticket"] = next((w for line in robot for w in re.findall(r"B\d{3}", line)),
                                     "")
    finally:
        launch.popen.send_signal(signal.SIGINT)
        result["launch_exit_code"] = launch.popen.wait(30)
    return result


def main() -> int:
    print(lobbybot("doctor", env=dict(os.environ)).stdout)
    results = [run_transport(t) for t in ("ros", "zmq")]
    with tempfile.TemporaryDirectory() as tmp:
        routing = [run_routing(t, Path(tmp)) for t in ("zmq", "ros")]
    ok = all(r.get("contracts_ok") and r.get("contracts_ok_after_respawn")
             and r["launch_exit_code"] == 0 for r in results)
    ok = ok and all(r.get("same_ticket_after_restart") and r.get("chat_ticket")
                    and r["launch_exit_code"] == 0 for r in routing)
    print(json.dumps({"demo": "foundation+routing+dialog", "ok": ok, "runs": results,
                      "routing": routing}, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
