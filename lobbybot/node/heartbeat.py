"""Every node's heartbeat on ``/diagnostics`` (diagnostic_msgs/DiagnosticArray, ROS standard).

Carries the component's own health plus the transport counters (messages in/out, malformed
messages rejected, callback failures), so an operator or the lobby monitor sees a node that
is alive but unhappy, not just one that is dead.
"""

from __future__ import annotations

import os
import socket
import time

from lobbybot.contracts import std

from .component import OK, WARN, Component, Node

DIAGNOSTICS_TOPIC = "/diagnostics"


class Heartbeat:
    def __init__(self, node: Node, component: Component, period_s: float):
        self._node = node
        self._component = component
        self._publisher = node.publisher(DIAGNOSTICS_TOPIC, std.DiagnosticArray)
        self._started = time.monotonic()
        self._last_problems = 0
        self._hostname = socket.gethostname()
        node.timer(period_s, self.beat)

    def status(self) -> std.DiagnosticStatus:
        health = self._component.health()
        stats = self._node.transport.stats.snapshot()
        problems = stats["rejected"] + stats["handler_errors"]
        level, message = health.level, health.message
        if problems > self._last_problems and level == OK:
            level = WARN
            message = (f"{problems - self._last_problems} malformed message(s) or callback "
                       "failure(s) since last heartbeat")
        self._last_problems = problems
        values = {
            "transport": self._node.transport.kind,
            "pid": os.getpid(),
            "uptime_s": round(time.monotonic() - self._started, 1),
            **{k: v for k, v in stats.items() if k != "rejected_by_reason"},
            **{f"rejected.{k}": v for k, v in stats["rejected_by_reason"].items()},
            **health.values,
        }
        return std.DiagnosticStatus(
            level=level, name=self._node.fully_qualified_name, message=message,
            hardware_id=self._hostname,
            values=[std.KeyValue(key=str(k), value=str(v)) for k, v in values.items()])

    def beat(self) -> None:
        stamp_ns = self._node.now_ns()
        header = std.Header(stamp=std.Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9))
        self._publisher.publish(std.DiagnosticArray(header=header, status=[self.status()]))
