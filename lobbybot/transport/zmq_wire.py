"""The ZMQ wire format (version 1): how a message crosses a ZMQ socket.

Topic message (PUB → bus → SUB), one multipart ZMQ message::

    frame 0   topic name, UTF-8, e.g. b"/lobby/tickets"
    frame 1   envelope, UTF-8 JSON object:
              {"v": 1, "type": "lobby_interfaces/msg/Ticket", "node": "/kiosk", "seq": 7,
               "msg": {<fields>}}
    frame 2.. binary blobs; a uint8[]/byte[] field is {"$bin": i} → frame 2+i

Fields are the .msg fields with their ROS names; nested messages are objects, arrays are
lists, NaN/Infinity are written as the JSON tokens NaN/Infinity. Services use the same
envelope inside the frames of :mod:`lobbybot.transport.zmq_bus`. Everything is validated
on receipt; failures raise :class:`WireError` with a short reason used in the counters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lobbybot.contracts import Message, MessageError, from_wire, registry, to_wire

WIRE_VERSION = 1
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # one uncompressed 1080p RGB frame fits; more is wrong
PROTOCOL = b"LB1"  # first frame of every service-protocol message


class WireError(ValueError):
    """A frame sequence that is not a valid message; ``reason`` is a short counter key."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Envelope:
    type: str
    node: str
    seq: int
    message: Message


def encode_payload(message: Message, node: str, seq: int) -> list[bytes]:
    """Envelope frame followed by the message's blob frames."""
    data, blobs = to_wire(message)
    envelope = {"v": WIRE_VERSION, "type": message.__msgtype__, "node": node, "seq": seq,
                "msg": data}
    return [json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode(), *blobs]


def encode_topic(topic: str, message: Message, node: str, seq: int) -> list[bytes]:
    return [topic.encode(), *encode_payload(message, node, seq)]


def decode_payload(frames: list[bytes], expected: type[Message]) -> Envelope:
    """Envelope + blob frames → validated message of type ``expected``."""
    if not frames:
        raise WireError("frames", "no envelope frame")
    if sum(len(f) for f in frames) > MAX_MESSAGE_BYTES:
        raise WireError("too_large", f"message over {MAX_MESSAGE_BYTES} bytes")
    try:
        envelope = json.loads(bytes(frames[0]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError("encoding", f"envelope is not UTF-8 JSON ({exc})") from None
    if not isinstance(envelope, dict):
        raise WireError("envelope", "envelope is not a JSON object")
    version = envelope.get("v")
    if version != WIRE_VERSION:
        raise WireError("version", f"wire version {version!r}, expected {WIRE_VERSION}")
    for key, kind in (("type", str), ("msg", dict)):
        if not isinstance(envelope.get(key), kind):
            raise WireError("envelope", f"envelope field {key!r} missing or not a {kind.__name__}")
    if envelope["type"] != expected.__msgtype__:
        known = envelope["type"] in registry().messages
        raise WireError("wrong_type", f"got {envelope['type']!r}{'' if known else ' (unknown)'}, "
                                      f"expected {expected.__msgtype__}")
    try:
        message = from_wire(expected, envelope["msg"], [bytes(f) for f in frames[1:]])
    except MessageError as exc:
        raise WireError("invalid_field", str(exc)) from None
    node, seq = envelope.get("node", ""), envelope.get("seq", 0)
    return Envelope(envelope["type"], node if isinstance(node, str) else "",
                    seq if isinstance(seq, int) else 0, message)


def decode_topic(frames: list[bytes]) -> tuple[str, list[bytes]]:
    """Split off and check the topic frame; returns (topic, payload frames)."""
    if len(frames) < 2:
        raise WireError("frames", f"{len(frames)} frame(s), at least 2 required")
    try:
        topic = bytes(frames[0]).decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("encoding", "topic frame is not UTF-8") from None
    return topic, frames[1:]


def error_payload(text: str) -> list[bytes]:
    return [json.dumps({"v": WIRE_VERSION, "error": text}, ensure_ascii=False).encode()]


def decode_error(frames: list[bytes]) -> str:
    try:
        return str(json.loads(bytes(frames[0]).decode("utf-8")).get("error", "unknown error"))
    except (IndexError, UnicodeDecodeError, ValueError, AttributeError):
        return "malformed error reply"
