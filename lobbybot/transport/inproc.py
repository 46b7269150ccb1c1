"""In-process transport: every node of one process on one bus, callbacks on one thread.

Used by unit tests and the fast simulator: no sockets, deterministic ordering, and the same
validation and error isolation as the ROS 2 and ZMQ transports. Messages are passed by
reference; subscribers must treat them as read-only.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from lobbybot.contracts import Message, ServiceType

from . import names
from .base import (
    Client,
    Handler,
    Publisher,
    QoS,
    ServiceHandler,
    ServiceTimeout,
    ServiceUnavailable,
    Timer,
    Transport,
)


class InProcessBus:
    """The shared switchboard of all in-process nodes, and their executor."""

    def __init__(self, clock_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic):
        """``clock_ns`` stamps messages (nodes' ``now_ns``); ``monotonic`` drives timers. The
        simulator passes its own clock for both: timers then follow simulated time."""
        self.clock_ns = clock_ns
        self.monotonic = monotonic
        self._cond = threading.Condition()
        self._jobs: deque[Callable[[], None]] = deque()
        self._subs: dict[str, list[tuple[InProcessTransport, type[Message], Handler]]] = {}
        self._services: dict[str, tuple[InProcessTransport, ServiceType, ServiceHandler]] = {}
        self._timers: list[tuple[float, int, _BusTimer]] = []
        self._seq = itertools.count()
        self._spin_thread: int | None = None

    # -- registration ---------------------------------------------------------------------
    def subscribe(self, topic: str, node: InProcessTransport, msg_type: type[Message],
                  callback: Handler) -> None:
        with self._cond:
            self._subs.setdefault(topic, []).append((node, msg_type, callback))

    def add_service(self, name: str, node: InProcessTransport, srv_type: ServiceType,
                    handler: ServiceHandler) -> None:
        with self._cond:
            if name in self._services:
                raise ValueError(f"service {name} already has a server")
            self._services[name] = (node, srv_type, handler)

    def service(self, name: str):
        with self._cond:
            return self._services.get(name)

    def add_timer(self, timer: _BusTimer) -> None:
        with self._cond:
            heapq.heappush(self._timers, (timer.due, next(self._seq), timer))
            self._cond.notify()

    def remove_node(self, node: InProcessTransport) -> None:
        with self._cond:
            for topic, subs in self._subs.items():
                self._subs[topic] = [s for s in subs if s[0] is not node]
            for name in [n for n, s in self._services.items() if s[0] is node]:
                del self._services[name]
            for _, _, timer in self._timers:
                if timer.node is node:
                    timer.cancelled = True

    # -- traffic --------------------------------------------------------------------------
    def publish(self, topic: str, message: Message) -> None:
        with self._cond:
            for node, msg_type, callback in self._subs.get(topic, ()):
                self._jobs.append(
                    lambda n=node, t=msg_type, c=callback: n.deliver(topic, t, c, message))
            self._cond.notify()

    def submit(self, job: Callable[[], None]) -> None:
        with self._cond:
            self._jobs.append(job)
            self._cond.notify()

    @property
    def on_spin_thread(self) -> bool:
        return self._spin_thread in (None, threading.get_ident())

    # -- execution ------------------------------------------------------------------------
    def spin_once(self, timeout_s: float = 0.0) -> bool:
        """Run pending callbacks and due timers; wait up to ``timeout_s`` for work."""
        with self._cond:
            if not self._jobs and not self._due_timer():
                wait = timeout_s
                if self._timers:
                    wait = min(wait, max(0.0, self._timers[0][0] - self.monotonic()))
                if wait > 0:
                    self._cond.wait(wait)
            jobs = list(self._jobs)
            self._jobs.clear()
            timers = []
            while self._due_timer():
                timers.append(heapq.heappop(self._timers)[2])
        for job in jobs:
            job()
        for timer in timers:
            if not timer.cancelled:
                timer.fire()
                if not timer.cancelled:
                    timer.due = max(timer.due + timer.period_s, self.monotonic())
                    self.add_timer(timer)
        return bool(jobs or timers)

    def _due_timer(self) -> bool:
        return bool(self._timers) and self._timers[0][0] <= self.monotonic()

    def spin(self, stop: threading.Event) -> None:
        self._spin_thread = threading.get_ident()
        try:
            while not stop.is_set():
                self.spin_once(0.05)
        finally:
            self._spin_thread = None

    def spin_until(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        """Spin until ``predicate()`` is true; False on timeout (for tests and tools)."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            self.spin_once(min(0.01, max(0.0, deadline - time.monotonic())))
        return True


class _BusTimer(Timer):
    def __init__(self, node: InProcessTransport, period_s: float, callback: Callable[[], None]):
        self.node = node
        self.period_s = period_s
        self.callback = callback
        self.due = node.bus.monotonic() + period_s
        self.cancelled = False

    def fire(self) -> None:
        self.node.run_guarded("timer", self.callback)

    def cancel(self) -> None:
        self.cancelled = True


class _InProcPublisher(Publisher):
    def __init__(self, bus: InProcessBus, topic: str, msg_type, stats):
        super().__init__(topic, msg_type, stats)
        self._bus = bus

    def _send(self, message: Message) -> None:
        self._bus.publish(self.topic, message)


class _InProcClient(Client):
    def __init__(self, bus: InProcessBus, name: str, srv_type: ServiceType):
        super().__init__(name, srv_type)
        self._bus = bus

    def wait_for_service(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._bus.service(self.name) is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _call(self, request: Message, timeout_s: float) -> Message:
        entry = self._bus.service(self.name)
        if entry is None:
            raise ServiceUnavailable(f"no server for {self.name}")
        server, srv_type, handler = entry
        if srv_type.name != self.srv_type.name:
            raise ServiceUnavailable(f"{self.name} is a {srv_type.name}, not {self.srv_type.name}")
        if self._bus.on_spin_thread:
            return server.serve(self.name, srv_type, handler, request)
        # Another thread: run the handler on the bus thread so nodes stay single-threaded.
        future: Future[Message] = Future()

        def job() -> None:
            try:
                future.set_result(server.serve(self.name, srv_type, handler, request))
            except Exception as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)

        self._bus.submit(job)
        try:
            return future.result(timeout_s)
        except FutureTimeout:
            raise ServiceTimeout(f"{self.name} did not answer within {timeout_s} s") from None


class InProcessTransport(Transport):
    kind = "inproc"

    def __init__(self, bus: InProcessBus, node_name: str, namespace: str = "",
                 remaps: dict[str, str] | None = None, logger=None):
        super().__init__(node_name, namespace, logger)
        self.bus = bus
        self.remaps = dict(remaps or {})

    def _resolve(self, name: str) -> str:
        return names.resolve(name, self.namespace, self.node_name, self.remaps)

    def create_publisher(self, topic, msg_type, qos=QoS.RELIABLE):
        return _InProcPublisher(self.bus, self._resolve(topic), msg_type, self.stats)

    def create_subscription(self, topic, msg_type, callback, qos=QoS.RELIABLE):
        self.bus.subscribe(self._resolve(topic), self, msg_type, callback)

    def create_service(self, name, srv_type, handler):
        self.bus.add_service(self._resolve(name), self, srv_type, handler)

    def create_client(self, name, srv_type):
        return _InProcClient(self.bus, self._resolve(name), srv_type)

    def create_timer(self, period_s, callback):
        timer = _BusTimer(self, period_s, callback)
        self.bus.add_timer(timer)
        return timer

    def now_ns(self) -> int:
        return self.bus.clock_ns()

    def spin(self, stop: threading.Event) -> None:
        self.bus.spin(stop)

    def close(self) -> None:
        self.bus.remove_node(self)
