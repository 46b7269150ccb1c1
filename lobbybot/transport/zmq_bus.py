"""The ZMQ bus: the one broker process of kiosk mode (what DDS discovery is on the robot).

* Topics: nodes' PUB sockets connect to an XSUB, subscribers' SUB sockets to an XPUB; the
  bus forwards data one way and subscriptions the other (the zguide's XPUB/XSUB proxy), so
  nodes need to know one address, not each other's.
* Services: one ROUTER. A server's DEALER registers the services it offers (and re-registers
  every second, so a restarted bus relearns them); a client's DEALER sends requests which the
  bus forwards to the registered server, or answers ``unavailable`` at once when there is
  none, so a kiosk can say "temporarily unavailable" instead of hanging.

Service frames (after the ROUTER identity frame), every message starting with ``LB1``::

    server → bus   LB1 REG  name...
    client → bus   LB1 HAS  service              (bus answers LB1 HAS service 1|0)
    client → bus   LB1 REQ  service  request_id  payload...
    bus → server   LB1 REQ  client_id  service  request_id  payload...
    server → bus   LB1 REP  client_id  request_id  status  payload...
    bus → client   LB1 REP  request_id  status  payload...

``status`` is ``ok`` (payload = response envelope + blobs), ``error`` or ``unavailable``
(payload = ``{"v": 1, "error": text}``). The bus forwards payloads without parsing them;
servers and clients validate what they receive.
"""

from __future__ import annotations

import logging
import threading
import time

import zmq

from .zmq_endpoints import ZmqEndpoints, is_loopback
from .zmq_security import CurveKeys
from .zmq_wire import MAX_MESSAGE_BYTES, PROTOCOL, error_payload

SERVER_TTL_S = 3.5  # a server that has not re-registered for this long is forgotten

log = logging.getLogger("lobbybot/zmq_bus")


class ZmqBus:
    def __init__(self, endpoints: ZmqEndpoints, context: zmq.Context | None = None,
                 keys: CurveKeys | None = None):
        if not is_loopback(endpoints.host) and keys is None:
            raise ValueError(
                f"refusing to bind the ZMQ bus to {endpoints.host} without CURVE keys: make "
                "them with `lobbybot kiosk keys DIR` and set LOBBYBOT_ZMQ_KEYS=DIR")
        if keys is not None and keys.bus_secret is None:
            raise ValueError(f"the bus needs {keys.directory}/bus.key_secret")
        self.endpoints = endpoints
        self.keys = keys
        self._ctx = context or zmq.Context()
        self._servers: dict[str, tuple[bytes, float]] = {}
        self.stats = {"forwarded": 0, "requests": 0, "unavailable": 0, "malformed": 0}

    def _bind(self, kind: int, url: str) -> zmq.Socket:
        sock = self._ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES + 65536)
        if self.keys is not None:
            self.keys.secure_server(sock)
        try:
            sock.bind(url)
        except zmq.ZMQError as exc:
            sock.close()
            raise OSError(f"cannot bind ZMQ bus at {url}: {exc} "
                          "(another bus running? set LOBBYBOT_ZMQ_PORT)") from None
        return sock

    def run(self, stop: threading.Event) -> None:
        auth = self.keys.start_authenticator(self._ctx) if self.keys is not None else None
        try:
            self._run(stop)
        finally:
            if auth is not None:
                auth.stop()

    def _run(self, stop: threading.Event) -> None:
        xsub = self._bind(zmq.XSUB, self.endpoints.publish)
        xpub = self._bind(zmq.XPUB, self.endpoints.subscribe)
        router = self._bind(zmq.ROUTER, self.endpoints.services)
        router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        poller = zmq.Poller()
        for sock in (xsub, xpub, router):
            poller.register(sock, zmq.POLLIN)
        log.info("ZMQ bus listening on %s (pub) %s (sub) %s (services)%s",
                 self.endpoints.publish, self.endpoints.subscribe, self.endpoints.services,
                 ", CURVE" if self.keys is not None else "")
        try:
            while not stop.is_set():
                events = dict(poller.poll(100))
                if xsub in events:
                    xpub.send_multipart(xsub.recv_multipart(copy=False), copy=False)
                    self.stats["forwarded"] += 1
                if xpub in events:
                    xsub.send_multipart(xpub.recv_multipart())
                if router in events:
                    self._route(router, router.recv_multipart())
        finally:
            for sock in (xsub, xpub, router):
                sock.close(0)

    def _route(self, router: zmq.Socket, frames: list[bytes]) -> None:
        if len(frames) < 3 or frames[1] != PROTOCOL:
            self.stats["malformed"] += 1
            return
        sender, command, args = frames[0], frames[2], frames[3:]
        if command == b"REG":
            now = time.monotonic()
            for name in args:
                self._servers[name.decode("utf-8", "replace")] = (sender, now)
        elif command == b"HAS" and len(args) == 1:
            server = self._servers.get(args[0].decode("utf-8", "replace"))
            alive = bool(server) and time.monotonic() - server[1] <= SERVER_TTL_S
            self._send(router, [sender, PROTOCOL, b"HAS", args[0], b"1" if alive else b"0"])
        elif command == b"REQ" and len(args) >= 2:
            self._forward_request(router, sender, args)
        elif command == b"REP" and len(args) >= 3:
            client, request_id, status, payload = args[0], args[1], args[2], args[3:]
            self._send(router, [client, PROTOCOL, b"REP", request_id, status, *payload])
        else:
            self.stats["malformed"] += 1

    def _forward_request(self, router: zmq.Socket, client: bytes, args: list[bytes]) -> None:
        service, request_id, payload = args[0].decode("utf-8", "replace"), args[1], args[2:]
        self.stats["requests"] += 1
        server = self._servers.get(service)
        if server and time.monotonic() - server[1] <= SERVER_TTL_S:
            if self._send(router, [server[0], PROTOCOL, b"REQ", client, args[0], request_id,
                                   *payload]):
                return
            del self._servers[service]
        self.stats["unavailable"] += 1
        self._send(router, [client, PROTOCOL, b"REP", request_id, b"unavailable",
                            *error_payload(f"no server for {service}")])

    @staticmethod
    def _send(router: zmq.Socket, frames: list[bytes]) -> bool:
        try:
            router.send_multipart(frames, flags=zmq.NOBLOCK)
            return True
        except zmq.ZMQError:  # peer gone (ROUTER_MANDATORY) or its queue is full
            return False
