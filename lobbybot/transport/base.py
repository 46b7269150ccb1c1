"""The transport interface every component is written against, and what all transports share.

A component never imports rclpy or zmq: it gets a :class:`Transport` and creates publishers,
subscriptions, services, clients and timers on it. The in-process, ROS 2 and ZMQ transports
implement the same interface, so the same component code runs in tests, on the robot and on
the kiosk. Incoming messages are validated against their contract; a malformed message or a
failing callback is counted and logged (throttled), never allowed to stop the node.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from lobbybot.contracts import Message, MessageError, ServiceType, type_name, validate


class QoS(enum.Enum):
    """Delivery profiles, mapped to the matching ROS 2 QoS on the robot."""

    RELIABLE = "reliable"  # events and commands: keep last 10, reliable
    SENSOR = "sensor"  # camera/audio streams: keep last 5, best effort
    LATCHED = "latched"  # state a late joiner needs: keep last 1, transient local


class ServiceUnavailable(RuntimeError):
    """No server answers this service (not started, crashed, or restarting)."""


class ServiceTimeout(ServiceUnavailable):
    """The server did not answer in time."""


class ServiceFailed(RuntimeError):
    """The server received the request but failed or rejected it."""


class TransportStats:
    """Per-node counters reported in the /diagnostics heartbeat."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received = 0
        self.published = 0
        self.handler_errors = 0
        self.service_calls = 0
        self.rejected: collections.Counter[str] = collections.Counter()

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    @property
    def rejected_total(self) -> int:
        with self._lock:
            return sum(self.rejected.values())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "received": self.received,
                "published": self.published,
                "handler_errors": self.handler_errors,
                "service_calls": self.service_calls,
                "rejected": sum(self.rejected.values()),
                "rejected_by_reason": dict(self.rejected),
            }


class ThrottledLogger:
    """Logs a repeated problem at most once per ``interval_s`` per key, with a count."""

    def __init__(self, logger: logging.Logger, interval_s: float = 5.0):
        self._logger = logger
        self._interval = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def log(self, level: int, key: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                self._suppressed[key] += 1
                return
            self._last[key] = now
            suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            message += f" (and {suppressed} more like it since last report)"
        self._logger.log(level, message)


class Publisher(ABC):
    def __init__(self, topic: str, msg_type: type[Message], stats: TransportStats):
        self.topic = topic
        self.msg_type = msg_type
        self._stats = stats

    def publish(self, message: Message) -> None:
        """Validate and send; a wrong message raises :class:`MessageError` to the caller."""
        if type(message) is not self.msg_type:
            raise MessageError("", f"{self.topic} carries {type_name(self.msg_type)}, "
                                   f"not {type(message).__name__}")
        validate(message)
        self._send(message)
        self._stats.count("published")

    @abstractmethod
    def _send(self, message: Message) -> None: ...

    def wait_for_subscribers(self, timeout_s: float) -> bool:
        """Block until someone listens (when the transport can tell), for one-shot tools."""
        time.sleep(min(timeout_s, 0.5))  # ZMQ cannot tell: give subscriptions time to arrive
        return True


class Client(ABC):
    def __init__(self, name: str, srv_type: ServiceType):
        self.name = name
        self.srv_type = srv_type

    def call(self, request: Message, timeout_s: float = 5.0) -> Message:
        """Blocking call. Raises ServiceUnavailable/ServiceTimeout/ServiceFailed."""
        if type(request) is not self.srv_type.Request:
            raise MessageError("", f"{self.name} takes {self.srv_type.name} requests, "
                                   f"not {type(request).__name__}")
        validate(request)
        return self._call(request, timeout_s)

    @abstractmethod
    def _call(self, request: Message, timeout_s: float) -> Message: ...

    @abstractmethod
    def wait_for_service(self, timeout_s: float) -> bool: ...


class Timer(ABC):
    @abstractmethod
    def cancel(self) -> None: ...


Handler = Callable[[Message], None]
ServiceHandler = Callable[[Message], Message]


class Transport(ABC):
    """One node's connection to the others. Callbacks run one at a time on ``spin()``.

    Create subscriptions, services and timers before ``spin()`` starts (a component does so
    in its constructor); publishing and service calls are safe from any thread.
    """

    kind: str = ""

    def __init__(self, node_name: str, namespace: str = "",
                 logger: logging.Logger | None = None):
        self.node_name = node_name
        self.namespace = namespace
        self.stats = TransportStats()
        self.logger = logger or logging.getLogger(f"lobbybot.{node_name}")
        self._problems = ThrottledLogger(self.logger)

    @property
    def fully_qualified_name(self) -> str:
        ns = self.namespace.rstrip("/")
        return f"{ns}/{self.node_name}" if ns else f"/{self.node_name}"

    # -- what every transport provides ---------------------------------------------------
    @abstractmethod
    def create_publisher(self, topic: str, msg_type: type[Message],
                         qos: QoS = QoS.RELIABLE) -> Publisher: ...

    @abstractmethod
    def create_subscription(self, topic: str, msg_type: type[Message], callback: Handler,
                            qos: QoS = QoS.RELIABLE) -> None: ...

    @abstractmethod
    def create_service(self, name: str, srv_type: ServiceType,
                       handler: ServiceHandler) -> None: ...

    @abstractmethod
    def create_client(self, name: str, srv_type: ServiceType) -> Client: ...

    @abstractmethod
    def create_timer(self, period_s: float, callback: Callable[[], None]) -> Timer: ...

    @abstractmethod
    def now_ns(self) -> int:
        """Current time of this node's clock (simulated time when the node uses it)."""

    @abstractmethod
    def spin(self, stop: threading.Event) -> None:
        """Run callbacks until ``stop`` is set."""

    @abstractmethod
    def close(self) -> None: ...

    # -- shared checking of what arrives --------------------------------------------------
    def reject(self, reason: str, detail: str, topic: str = "") -> None:
        """Count and log (throttled) a malformed incoming message; the node keeps running."""
        self.stats.reject(reason)
        where = f" on {topic}" if topic else ""
        self._problems.log(logging.WARNING, f"reject:{reason}:{topic}",
                           f"rejected malformed message{where} ({reason}): {detail}")

    def deliver(self, topic: str, msg_type: type[Message], callback: Handler,
                message: Any) -> None:
        """Validate ``message`` for ``topic`` and run ``callback``, isolating any failure."""
        if type(message) is not msg_type:
            self.reject("wrong_type", f"expected {type_name(msg_type)}, got "
                                      f"{getattr(message, '__msgtype__', type(message).__name__)}",
                        topic)
            return
        try:
            validate(message)
        except MessageError as exc:
            self.reject("invalid_field", str(exc), topic)
            return
        self.stats.count("received")
        self.run_guarded(f"callback for {topic}", callback, message)

    def run_guarded(self, what: str, callback: Callable[..., Any], *args: Any) -> Any:
        try:
            return callback(*args)
        except Exception as exc:  # noqa: BLE001 - a component bug must not stop the node
            self.stats.count("handler_errors")
            self._problems.log(logging.ERROR, f"handler:{what}",
                               f"{what} raised {type(exc).__name__}: {exc}\n"
                               + traceback.format_exc(limit=5))
            return None

    def serve(self, name: str, srv_type: ServiceType, handler: ServiceHandler,
              request: Any) -> Message:
        """Validate a request, run the handler, validate its response.

        Raises :class:`ServiceFailed` with a reason the client will see.
        """
        if type(request) is not srv_type.Request:
            self.reject("wrong_type", f"expected {srv_type.name} request", name)
            raise ServiceFailed(f"{name}: expected a {srv_type.name} request")
        try:
            validate(request)
        except MessageError as exc:
            self.reject("invalid_field", str(exc), name)
            raise ServiceFailed(f"{name}: invalid request: {exc}") from None
        self.stats.count("service_calls")
        try:
            response = handler(request)
        except ServiceFailed:
            raise
        except Exception as exc:  # noqa: BLE001
            self.stats.count("handler_errors")
            self._problems.log(logging.ERROR, f"service:{name}",
                               f"service {name} handler raised {type(exc).__name__}: {exc}\n"
                               + traceback.format_exc(limit=5))
            raise ServiceFailed(f"{name}: server error: {type(exc).__name__}: {exc}") from None
        if type(response) is not srv_type.Response:
            raise ServiceFailed(f"{name}: server returned {type(response).__name__}")
        validate(response)
        return response
