"""Transport benchmark: round-trip latency of small messages and 640x480 image rate, across
processes, for ROS 2 (rclpy + Fast DDS) and ZMQ (via the bus).

The far end is a real ``interface_probe`` node process that echoes what it receives; this
process publishes and times the echo. Last line of output: one JSON object.

    python bench/transport.py [--transports ros,zmq] [--small N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lobbybot.contracts import msg, std  # noqa: E402
from lobbybot.node.host import make_transport  # noqa: E402
from lobbybot.node.params import RosArgs  # noqa: E402
from lobbybot.nodes.probe import PREFIX  # noqa: E402
from lobbybot.transport import QoS  # noqa: E402
from lobbybot.transport.zmq_endpoints import ZmqEndpoints  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary_ms(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"p50": round(statistics.median(ms), 3), "p95": round(percentile(ms, 95), 3),
            "n": len(ms)}


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lobbybot", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def wait_echo(event: threading.Event, publish, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not event.is_set() and time.monotonic() < deadline:
        publish()
        event.wait(0.2)
    return event.is_set()


def bench_transport(kind: str, small_n: int, image_seconds: float, rate_hz: float) -> dict:
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")  # both ends alike
    env = dict(os.environ)
    if kind == "ros":
        env["ROS_DOMAIN_ID"] = os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 99)))
    else:
        endpoints = ZmqEndpoints(port=random.randrange(20000, 60000))
        env.update(endpoints.as_env())
        os.environ.update(endpoints.as_env())
    procs = []
    if kind == "zmq":
        procs.append(start(["bus"], env))
        time.sleep(0.3)
    procs.append(start(["node", "run", "interface_probe", "--transport", kind], env))
    transport = make_transport(kind, "transport_bench", [], RosArgs())
    stop = threading.Event()
    try:
        # -- small messages: one in flight at a time, timed from publish to echo ----------
        echo = threading.Event()
        transport.create_subscription(f"{PREFIX}/out/ticket", msg.Ticket, lambda m: echo.set())
        ticket_pub = transport.create_publisher(f"{PREFIX}/in/ticket", msg.Ticket)
        arrivals: dict[int, float] = {}
        transport.create_subscription(
            f"{PREFIX}/out/image", std.Image,
            lambda m: arrivals.setdefault(m.header.stamp.nanosec, time.perf_counter()),
            QoS.SENSOR)
        image_pub = transport.create_publisher(f"{PREFIX}/in/image", std.Image, QoS.SENSOR)
        threading.Thread(target=transport.spin, args=(stop,), daemon=True).start()
        ticket = msg.Ticket(number="A001", service="cash", counter_id="c1", eta_s=120.0)
        if not wait_echo(echo, lambda: ticket_pub.publish(ticket), 30.0):
            raise SystemExit(f"{kind}: probe node never answered")
        rtts = []
        for i in range(small_n + 50):
            echo.clear()
            t0 = time.perf_counter()
            ticket_pub.publish(ticket)
            if not echo.wait(2.0):
                continue
            if i >= 50:  # warm-up excluded
                rtts.append(time.perf_counter() - t0)

        # -- images: 640x480 rgb8 published at rate_hz, echoed back ----------------------
        frame = std.Image(height=480, width=640, encoding="rgb8", step=1920,
                          data=os.urandom(640 * 480 * 3))
        warm = threading.Event()
        transport.create_subscription(f"{PREFIX}/out/image", std.Image, lambda m: warm.set(),
                                      QoS.SENSOR)
        wait_echo(warm, lambda: image_pub.publish(frame), 10.0)
        time.sleep(0.5)
        arrivals.clear()
        sent: dict[int, float] = {}
        period = 1.0 / rate_hz
        frames = int(image_seconds * rate_hz)
        began = time.perf_counter()
        for i in range(frames):
            due = began + i * period
            time.sleep(max(0.0, due - time.perf_counter()))
            frame.header.stamp.nanosec = i + 1  # frame id
            sent[i + 1] = time.perf_counter()
            image_pub.publish(frame)
        publish_s = time.perf_counter() - began
        time.sleep(1.0)
        received = {k: v for k, v in arrivals.items() if k in sent}
        if len(received) > 1:
            span = max(received.values()) - min(received.values())
            achieved = (len(received) - 1) / span if span > 0 else 0.0
        else:
            achieved = 0.0
        image_rtts = [received[k] - sent[k] for k in received]
        return {
            "small_rtt_ms": summary_ms(rtts),
            "image_640x480": {
                "target_hz": rate_hz, "sent": frames,
                "publish_hz": round(frames / publish_s, 1),
                "echoed": len(received), "achieved_hz": round(achieved, 1),
                "rtt_ms": summary_ms(image_rtts) if image_rtts else None,
            },
        }
    finally:
        stop.set()
        time.sleep(0.2)
        transport.close()
        if kind == "ros":
            from lobbybot.transport.ros import shutdown_ros
            shutdown_ros()
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transports", default="ros,zmq")
    parser.add_argument("--small", type=int, default=1000, help="small-message round trips")
    parser.add_argument("--seconds", type=float, default=5.0, help="image stream duration")
    parser.add_argument("--rate", type=float, default=30.0, help="image rate, Hz")
    args = parser.parse_args()
    results = {}
    for kind in args.transports.split(","):
        results[kind] = bench_transport(kind, args.small, args.seconds, args.rate)
        r = results[kind]
        img = r["image_640x480"]
        print(f"{kind}: small round trip p50 {r['small_rtt_ms']['p50']} ms, "
              f"p95 {r['small_rtt_ms']['p95']} ms; 640x480 images at {args.rate:g} Hz: "
              f"{img['echoed']}/{img['sent']} echoed, {img['achieved_hz']} Hz, "
              f"round trip p50 {img['rtt_ms'] and img['rtt_ms']['p50']} ms", flush=True)
    print(json.dumps({"bench": "transport", "cpu_count": os.cpu_count(), **results}))


if __name__ == "__main__":
    main()
