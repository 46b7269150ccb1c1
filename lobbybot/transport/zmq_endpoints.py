"""Where the ZMQ bus listens. Loopback only unless CURVE security is configured."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7650


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except OSError:
            return False


@dataclass(frozen=True)
class ZmqEndpoints:
    """Three consecutive TCP ports on one host: publish-in, subscribe-out, services."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @classmethod
    def from_env(cls) -> ZmqEndpoints:
        """``LOBBYBOT_ZMQ_HOST`` / ``LOBBYBOT_ZMQ_PORT`` (first of the three ports)."""
        port_text = os.environ.get("LOBBYBOT_ZMQ_PORT", str(DEFAULT_PORT))
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"LOBBYBOT_ZMQ_PORT must be a number, got {port_text!r}") from None
        if not 1 <= port <= 65533:
            raise ValueError(f"LOBBYBOT_ZMQ_PORT {port} out of range 1..65533")
        return cls(os.environ.get("LOBBYBOT_ZMQ_HOST", DEFAULT_HOST), port)

    def _url(self, offset: int) -> str:
        return f"tcp://{self.host}:{self.port + offset}"

    @property
    def publish(self) -> str:
        """Nodes' PUB sockets connect here (the bus's XSUB)."""
        return self._url(0)

    @property
    def subscribe(self) -> str:
        """Nodes' SUB sockets connect here (the bus's XPUB)."""
        return self._url(1)

    @property
    def services(self) -> str:
        """Service servers and clients connect here (the bus's ROUTER)."""
        return self._url(2)

    def as_env(self) -> dict[str, str]:
        return {"LOBBYBOT_ZMQ_HOST": self.host, "LOBBYBOT_ZMQ_PORT": str(self.port)}
