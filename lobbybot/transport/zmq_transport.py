"""ZMQ transport: kiosk mode, no ROS installed. Nodes talk through the ZMQ bus process.

Same component code and same contracts as on the robot; messages use the documented wire
format of :mod:`lobbybot.transport.zmq_wire` and are validated on receipt.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable

import zmq

from lobbybot.contracts import Message, ServiceType

from . import names
from .base import (
    Client,
    Handler,
    Publisher,
    QoS,
    ServiceFailed,
    ServiceHandler,
    ServiceTimeout,
    ServiceUnavailable,
    Timer,
    Transport,
)
from .zmq_endpoints import ZmqEndpoints
from .zmq_security import CurveKeys
from .zmq_wire import (
    MAX_MESSAGE_BYTES,
    PROTOCOL,
    WireError,
    decode_error,
    decode_payload,
    decode_topic,
    encode_payload,
    encode_topic,
    error_payload,
)

REGISTER_PERIOD_S = 1.0


def _socket(ctx: zmq.Context, kind: int, url: str, keys: CurveKeys | None) -> zmq.Socket:
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES + 65536)
    if keys is not None:
        keys.secure_client(sock)
    sock.connect(url)
    return sock


class _ZmqPublisher(Publisher):
    def __init__(self, transport: ZmqTransport, topic: str, msg_type, qos: QoS):
        super().__init__(topic, msg_type, transport.stats)
        self._transport = transport

    def _send(self, message: Message) -> None:
        self._transport._send_topic(self.topic, message)


class _ZmqTimer(Timer):
    def __init__(self, period_s: float, callback: Callable[[], None]):
        self.period_s = period_s
        self.callback = callback
        self.due = time.monotonic() + period_s
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _ZmqClient(Client):
    def __init__(self, transport: ZmqTransport, name: str, srv_type: ServiceType):
        super().__init__(name, srv_type)
        self._transport = transport
        self._lock = threading.Lock()
        self._sock = _socket(transport.context, zmq.DEALER, transport.endpoints.services,
                             transport.keys)
        self._sock.setsockopt(zmq.IMMEDIATE, 1)  # never queue requests for an absent bus
        self._ids = itertools.count(1)

    def wait_for_service(self, timeout_s: float) -> bool:
        """Ask the bus whether a server is registered, until one is or time runs out."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                try:
                    self._sock.send_multipart([PROTOCOL, b"HAS", self.name.encode()],
                                              flags=zmq.NOBLOCK)
                    sent = True
                except zmq.Again:
                    sent = False
                while sent and self._sock.poll(200):
                    frames = self._sock.recv_multipart()
                    if frames[:3] == [PROTOCOL, b"HAS", self.name.encode()]:
                        if frames[3:] == [b"1"]:
                            return True
                        break
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def _call(self, request: Message, timeout_s: float) -> Message:
        request_id = f"{next(self._ids)}".encode()
        payload = encode_payload(request, self._transport.fully_qualified_name, 0)
        with self._lock:
            try:
                self._sock.send_multipart([PROTOCOL, b"REQ", self.name.encode(), request_id,
                                           *payload], flags=zmq.NOBLOCK)
            except zmq.Again:
                raise ServiceUnavailable(f"ZMQ bus not reachable for {self.name}") from None
            deadline = time.monotonic() + timeout_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._sock.poll(int(remaining * 1000) + 1):
                    if time.monotonic() >= deadline:
                        raise ServiceTimeout(f"{self.name} did not answer within {timeout_s} s")
                    continue
                frames = self._sock.recv_multipart()
                if len(frames) < 4 or frames[0] != PROTOCOL or frames[1] != b"REP":
                    continue  # e.g. a late HAS answer
                if frames[2] != request_id:
                    continue  # a late reply to an earlier, timed-out call
                status, body = frames[3], frames[4:]
                break
        if status == b"unavailable":
            raise ServiceUnavailable(decode_error(body))
        if status != b"ok":
            raise ServiceFailed(decode_error(body))
        try:
            return decode_payload(body, self.srv_type.Response).message
        except WireError as exc:
            self._transport.reject(exc.reason, exc.detail, self.name)
            raise ServiceFailed(f"{self.name}: malformed response: {exc}") from None


class ZmqTransport(Transport):
    kind = "zmq"

    def __init__(self, node_name: str, namespace: str = "",
                 remaps: dict[str, str] | None = None,
                 endpoints: ZmqEndpoints | None = None, logger=None,
                 context: zmq.Context | None = None, keys: CurveKeys | None = None):
        super().__init__(node_name, namespace, logger)
        self.remaps = dict(remaps or {})
        self.endpoints = endpoints or ZmqEndpoints.from_env()
        self.keys = keys or CurveKeys.from_env()  # LOBBYBOT_ZMQ_KEYS: kiosk network mode
        self.context = context or zmq.Context()
        self._own_context = context is None
        self._pub = _socket(self.context, zmq.PUB, self.endpoints.publish, self.keys)
        self._pub_lock = threading.Lock()
        self._sub = _socket(self.context, zmq.SUB, self.endpoints.subscribe, self.keys)
        self._server: zmq.Socket | None = None
        self._subs: dict[str, list[tuple[type[Message], Handler]]] = {}
        self._services: dict[str, tuple[ServiceType, ServiceHandler]] = {}
        self._timers: list[tuple[float, int, _ZmqTimer]] = []
        self._timer_seq = itertools.count()
        self._seq = itertools.count(1)
        self._clients: list[_ZmqClient] = []
        self._next_register = 0.0
        self.instance_id = uuid.uuid4().hex[:8]

    def _resolve(self, name: str) -> str:
        return names.resolve(name, self.namespace, self.node_name, self.remaps)

    # -- Transport API --------------------------------------------------------------------
    def create_publisher(self, topic, msg_type, qos=QoS.RELIABLE):
        return _ZmqPublisher(self, self._resolve(topic), msg_type, qos)

    def create_subscription(self, topic, msg_type, callback, qos=QoS.RELIABLE):
        resolved = self._resolve(topic)
        self._subs.setdefault(resolved, []).append((msg_type, callback))
        self._sub.setsockopt(zmq.SUBSCRIBE, resolved.encode())

    def create_service(self, name, srv_type, handler):
        resolved = self._resolve(name)
        if resolved in self._services:
            raise ValueError(f"service {resolved} already served by this node")
        self._services[resolved] = (srv_type, handler)
        if self._server is None:
            self._server = _socket(self.context, zmq.DEALER, self.endpoints.services,
                                   self.keys)
        self._next_register = 0.0

    def create_client(self, name, srv_type):
        client = _ZmqClient(self, self._resolve(name), srv_type)
        self._clients.append(client)
        return client

    def create_timer(self, period_s, callback):
        timer = _ZmqTimer(period_s, callback)
        heapq.heappush(self._timers, (timer.due, next(self._timer_seq), timer))
        return timer

    def now_ns(self) -> int:
        return time.time_ns()

    def spin(self, stop: threading.Event) -> None:
        poller = zmq.Poller()
        poller.register(self._sub, zmq.POLLIN)
        polled_server = None
        while not stop.is_set():
            if self._server is not polled_server:  # a service was created after spin began
                poller.register(self._server, zmq.POLLIN)
                polled_server = self._server
            self._register_services()
            wait_ms = 50
            if self._timers:
                wait_ms = max(0, min(wait_ms, int((self._timers[0][0] - time.monotonic()) * 1000)))
            events = dict(poller.poll(wait_ms))
            if self._sub in events:
                for _ in range(100):  # drain a burst, but let timers run
                    try:
                        frames = self._sub.recv_multipart(flags=zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self._on_topic_frames(frames)
            if self._server is not None and self._server in events:
                self._on_server_frames(self._server.recv_multipart())
            self._run_timers()

    def close(self) -> None:
        for sock in [self._pub, self._sub, self._server, *(c._sock for c in self._clients)]:
            if sock is not None:
                sock.close(0)
        if self._own_context:
            self.context.term()

    # -- internals ------------------------------------------------------------------------
    def _send_topic(self, topic: str, message: Message) -> None:
        frames = encode_topic(topic, message, self.fully_qualified_name, next(self._seq))
        with self._pub_lock:
            self._pub.send_multipart(frames)

    def _on_topic_frames(self, frames: list[bytes]) -> None:
        try:
            topic, payload = decode_topic(frames)
        except WireError as exc:
            self.reject(exc.reason, exc.detail)
            return
        handlers = self._subs.get(topic)
        if not handlers:
            return  # prefix match of a longer topic name: not ours
        for msg_type, callback in handlers:
            try:
                message = decode_payload(payload, msg_type).message
            except WireError as exc:
                self.reject(exc.reason, exc.detail, topic)
                continue
            self.deliver(topic, msg_type, callback, message)

    def _register_services(self) -> None:
        if self._server is None or time.monotonic() < self._next_register:
            return
        self._server.send_multipart([PROTOCOL, b"REG", *(n.encode() for n in self._services)])
        self._next_register = time.monotonic() + REGISTER_PERIOD_S

    def _on_server_frames(self, frames: list[bytes]) -> None:
        if len(frames) < 6 or frames[0] != PROTOCOL or frames[1] != b"REQ":
            self.reject("frames", "malformed service request frames")
            return
        client, service, request_id, payload = frames[2], frames[3], frames[4], frames[5:]
        name = service.decode("utf-8", "replace")
        status, body = b"ok", []
        entry = self._services.get(name)
        if entry is None:
            status, body = b"unavailable", error_payload(f"{name} not served here")
        else:
            srv_type, handler = entry
            try:
                request = decode_payload(payload, srv_type.Request).message
                response = self.serve(name, srv_type, handler, request)
                body = encode_payload(response, self.fully_qualified_name, 0)
            except WireError as exc:
                self.reject(exc.reason, exc.detail, name)
                status, body = b"error", error_payload(f"{name}: invalid request: {exc}")
            except ServiceFailed as exc:
                status, body = b"error", error_payload(str(exc))
        self._server.send_multipart([PROTOCOL, b"REP", client, request_id, status, *body])

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self.run_guarded("timer", timer.callback)
            if not timer.cancelled:
                timer.due = max(timer.due + timer.period_s, time.monotonic())
                heapq.heappush(self._timers, (timer.due, next(self._timer_seq), timer))
