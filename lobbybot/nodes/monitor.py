"""lobby_monitor: watches every node's heartbeat and says which are missing or restarted.

Publishes ``/diagnostics_agg`` (the diagnostic_aggregator convention) with the latest status
of every node it has heard from, marked STALE when its heartbeat stops, and logs when a
node goes stale, comes back, or restarts (its pid changes). On the robot this is what the
operator panel and the simulator's fault reports read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lobbybot.contracts import std
from lobbybot.node.component import ERROR, OK, WARN, Component, Health, Node
from lobbybot.node.params import Param

STALE = 3  # diagnostic_msgs/DiagnosticStatus.STALE


@dataclass
class _Seen:
    status: std.DiagnosticStatus
    last_seen: float
    pid: str
    restarts: int = 0
    stale: bool = False


def _value(status: std.DiagnosticStatus, key: str) -> str:
    return next((kv.value for kv in status.values if kv.key == key), "")


class LobbyMonitor(Component):
    NAME = "lobby_monitor"
    DESCRIPTION = "Aggregates node heartbeats from /diagnostics; reports stale and restarted nodes."
    PARAMETERS = (
        Param("stale_after_s", 3.0, "A node without a heartbeat for this long is STALE."),
        Param("publish_period_s", 1.0, "Period of the /diagnostics_agg summary, seconds."),
    )

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        self._stale_after = float(node.params["stale_after_s"])
        self._nodes: dict[str, _Seen] = {}
        self._summary = node.publisher("/diagnostics_agg", std.DiagnosticArray)
        node.subscribe("/diagnostics", std.DiagnosticArray, self.on_diagnostics)
        node.timer(float(node.params["publish_period_s"]), self.publish_summary)

    def on_diagnostics(self, array: std.DiagnosticArray) -> None:
        now = time.monotonic()
        for status in array.status:
            pid = _value(status, "pid")
            seen = self._nodes.get(status.name)
            if seen is None:
                self.node.logger.info("node %s is up (pid %s)", status.name, pid or "?")
                self._nodes[status.name] = _Seen(status, now, pid)
                continue
            if seen.stale:
                self.node.logger.info("node %s is back after %.1f s", status.name,
                                      now - seen.last_seen)
            if pid and seen.pid and pid != seen.pid:
                seen.restarts += 1
                self.node.logger.warning("node %s restarted (pid %s -> %s)", status.name,
                                         seen.pid, pid)
            seen.status, seen.last_seen, seen.pid, seen.stale = status, now, pid or seen.pid, False

    def publish_summary(self) -> None:
        now = time.monotonic()
        statuses = []
        for name, seen in sorted(self._nodes.items()):
            age = now - seen.last_seen
            if age > self._stale_after and not seen.stale:
                seen.stale = True
                self.node.logger.warning("node %s is stale: no heartbeat for %.1f s", name, age)
            status = seen.status
            extra = [std.KeyValue(key="restarts", value=str(seen.restarts)),
                     std.KeyValue(key="heartbeat_age_s", value=f"{age:.1f}")]
            statuses.append(std.DiagnosticStatus(
                level=STALE if seen.stale else status.level, name=name,
                message=f"no heartbeat for {age:.0f} s" if seen.stale else status.message,
                hardware_id=status.hardware_id, values=[*status.values, *extra]))
        stamp = self.node.now_ns()
        header = std.Header(stamp=std.Time(sec=stamp // 10**9, nanosec=stamp % 10**9))
        self._summary.publish(std.DiagnosticArray(header=header, status=statuses))

    def health(self) -> Health:
        stale = sorted(n for n, s in self._nodes.items() if s.stale)
        worst = max((s.status.level for s in self._nodes.values() if not s.stale), default=OK)
        values = {"nodes": len(self._nodes), "stale": len(stale)}
        if stale:
            return Health(WARN, f"stale: {', '.join(stale)}", values)
        if worst >= ERROR:
            return Health(WARN, "a node reports an error", values)
        return Health(OK, f"{len(self._nodes)} node(s) alive", values)
