"""CURVE security for the ZMQ bus when it listens beyond loopback (kiosk network mode).

Keys are made once with ``lobbybot kiosk keys DIR`` (pyzmq's own certificate files) and
found through ``LOBBYBOT_ZMQ_KEYS=DIR``:

- ``DIR/bus.key_secret`` — the bus's key pair (the secret stays on the bus's machine);
- ``DIR/bus.key`` — the bus's public key, which every node needs;
- ``DIR/node.key_secret`` — a node key pair (copy DIR to each device, minus bus.key_secret);
- ``DIR/authorized/`` — public keys of the nodes the bus accepts (ZAP, pyzmq's authenticator).

With keys set, every socket is encrypted and authenticated, loopback included; an
unauthorized peer's handshake is refused, so it sees no topic and reaches no service.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

ENV = "LOBBYBOT_ZMQ_KEYS"


class CurveKeyError(ValueError):
    """Keys missing or unreadable: the message names the file and the command that makes it."""


@dataclass(frozen=True)
class CurveKeys:
    directory: Path
    bus_public: bytes
    node_public: bytes
    node_secret: bytes
    bus_secret: bytes | None  # only where the bus runs

    @classmethod
    def load(cls, directory: str | Path, need_bus_secret: bool = False) -> CurveKeys:
        directory = Path(directory).expanduser()
        try:
            bus_public, _ = zmq.auth.load_certificate(directory / "bus.key")
            node_public, node_secret = zmq.auth.load_certificate(directory / "node.key_secret")
            bus_secret = None
            if (directory / "bus.key_secret").exists():
                _, bus_secret = zmq.auth.load_certificate(directory / "bus.key_secret")
        except (OSError, ValueError) as exc:
            raise CurveKeyError(f"cannot read CURVE keys in {directory}: {exc} "
                            f"(make them with: lobbybot kiosk keys {directory})") from None
        if need_bus_secret and bus_secret is None:
            raise CurveKeyError(f"{directory / 'bus.key_secret'} missing: the bus needs its secret "
                            "key (lobbybot kiosk keys DIR, on the bus's machine)")
        if node_secret is None:
            raise CurveKeyError(f"{directory / 'node.key_secret'} has no secret key")
        return cls(directory, bus_public, node_public, node_secret, bus_secret)

    @classmethod
    def from_env(cls, need_bus_secret: bool = False) -> CurveKeys | None:
        directory = os.environ.get(ENV, "")
        return cls.load(directory, need_bus_secret) if directory else None

    def secure_server(self, sock: zmq.Socket) -> None:
        sock.curve_secretkey = self.bus_secret
        sock.curve_publickey = self.bus_public
        sock.curve_server = True

    def secure_client(self, sock: zmq.Socket) -> None:
        sock.curve_serverkey = self.bus_public
        sock.curve_publickey = self.node_public
        sock.curve_secretkey = self.node_secret

    def start_authenticator(self, context: zmq.Context) -> ThreadAuthenticator:
        """ZAP handler: only node keys in ``authorized/`` complete the handshake."""
        auth = ThreadAuthenticator(context)
        auth.start()
        auth.configure_curve(domain="*", location=str(self.directory / "authorized"))
        return auth


def generate_keys(directory: str | Path) -> dict[str, str]:
    """Make the bus and node key pairs and authorize the node key; refuses to overwrite."""
    directory = Path(directory).expanduser()
    if (directory / "bus.key_secret").exists():
        raise FileExistsError(f"{directory} already holds keys (bus.key_secret); "
                              "remove them first to make new ones")
    authorized = directory / "authorized"
    authorized.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    _, bus_secret = zmq.auth.create_certificates(directory, "bus")
    node_public, node_secret = zmq.auth.create_certificates(directory, "node")
    for secret in (bus_secret, node_secret):
        Path(secret).chmod(0o600)
    shutil.copy(node_public, authorized / "node.key")
    return {"directory": str(directory), "bus_public": str(directory / "bus.key"),
            "bus_secret": bus_secret, "node_secret": node_secret,
            "authorized": str(authorized)}
