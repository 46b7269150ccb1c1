"""Drive a running ``interface_probe`` node: every contract out and back, compared field by field.

``lobbybot probe`` prints the result as JSON; the cross-process transport tests and the demo
use it to prove that two separately started processes exchange every message type and
service over ROS 2 and over ZMQ.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lobbybot.contracts import Message
from lobbybot.contracts.samples import sample
from lobbybot.nodes.probe import PREFIX, probed_messages, probed_services
from lobbybot.transport import QoS, ServiceFailed, ServiceUnavailable, Transport


def run_probe(transport: Transport, timeout_s: float = 15.0) -> dict[str, Any]:
    """Send a sample of every type through the probe and check what comes back."""
    started = time.monotonic()
    types = probed_messages()
    expected = {suffix: sample(t, seed=3) for suffix, t in types.items()}
    received: dict[str, Message] = {}
    lock = threading.Lock()
    publishers = {}
    for suffix, msg_type in types.items():
        qos = QoS.SENSOR if suffix == "image" else QoS.RELIABLE

        def on_echo(message: Message, suffix: str = suffix) -> None:
            with lock:
                received.setdefault(suffix, message)

        transport.create_subscription(f"{PREFIX}/out/{suffix}", msg_type, on_echo, qos)
        publishers[suffix] = transport.create_publisher(f"{PREFIX}/in/{suffix}", msg_type, qos)
    stop = threading.Event()
    spinner = threading.Thread(target=transport.spin, args=(stop,), daemon=True)
    spinner.start()
    deadline = started + timeout_s
    try:
        while time.monotonic() < deadline:
            with lock:
                missing = [s for s in types if s not in received]
            if not missing:
                break
            for suffix in missing:  # repeat: discovery / subscriptions take a moment
                publishers[suffix].publish(expected[suffix])
            time.sleep(0.2)
        services: dict[str, str] = {}
        for suffix, srv_type in probed_services().items():
            client = transport.create_client(f"{PREFIX}/{suffix}", srv_type)
            remaining = max(0.5, deadline - time.monotonic())
            if not client.wait_for_service(remaining):
                services[suffix] = "unavailable"
                continue
            try:
                response = client.call(sample(srv_type.Request), timeout_s=5.0)
                services[suffix] = "ok" if response == sample(srv_type.Response) else "mismatch"
            except (ServiceUnavailable, ServiceFailed) as exc:
                services[suffix] = f"error: {exc}"
    finally:
        stop.set()
        spinner.join(2.0)
    with lock:
        messages = {s: ("timeout" if s not in received else
                        "ok" if received[s] == expected[s] else "mismatch") for s in types}
    ok = all(v == "ok" for v in messages.values()) and all(v == "ok" for v in services.values())
    return {"transport": transport.kind, "ok": ok, "messages": messages, "services": services,
            "elapsed_s": round(time.monotonic() - started, 2)}
