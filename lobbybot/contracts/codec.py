"""Validation and wire (de)serialisation of messages, shared by every transport.

The wire form is JSON-compatible data plus out-of-band binary blobs: a ``uint8[]``/``byte[]``
field is written as ``{"$bin": i}``, the index of a separate binary frame, so camera images
and audio cross ZMQ without base64. Decoding is strict: unknown or missing fields, wrong
types, out-of-range integers, overlong strings/arrays and undeclared enum values are
rejected with a :class:`MessageError` naming the field.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from .schema import FLOAT_TYPES, INTEGER_RANGES, FieldSpec, MessageSpec
from .types import Message, registry

FLOAT32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


class MessageError(ValueError):
    """A message does not match its declared type; ``path`` names the offending field."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


def _check_scalar(f: FieldSpec, value: Any, path: str, spec: MessageSpec) -> Any:
    t = f.type_name
    if t == "bool":
        if not isinstance(value, bool):
            raise MessageError(path, f"expected bool, got {type(value).__name__}")
        return value
    if t in INTEGER_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise MessageError(path, f"expected {t} integer, got {type(value).__name__}")
        lo, hi = INTEGER_RANGES[t]
        if not lo <= value <= hi:
            raise MessageError(path, f"{value} out of range for {t} [{lo}, {hi}]")
        return value
    if t in FLOAT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MessageError(path, f"expected {t}, got {type(value).__name__}")
        value = float(value)
        if t == "float32" and math.isfinite(value) and abs(value) > FLOAT32_MAX:
            raise MessageError(path, f"{value} out of range for float32")
        return value
    # string / wstring
    if not isinstance(value, str):
        raise MessageError(path, f"expected string, got {type(value).__name__}")
    if f.string_upper_bound is not None and len(value) > f.string_upper_bound:
        raise MessageError(path, f"string longer than {f.string_upper_bound}")
    return value


def _check_length(f: FieldSpec, n: int, path: str) -> None:
    if f.array_size is None:
        return
    if f.is_upper_bound and n > f.array_size:
        raise MessageError(path, f"{n} elements, at most {f.array_size} allowed")
    if not f.is_upper_bound and n != f.array_size:
        raise MessageError(path, f"{n} elements, exactly {f.array_size} required")


def _check_enum(spec: MessageSpec, f: FieldSpec, value: Any, path: str) -> None:
    allowed = spec.enum_constants(f.name)
    if allowed and not f.is_array and value not in allowed.values():
        names = ", ".join(f"{k}={v!r}" for k, v in allowed.items())
        raise MessageError(path, f"{value!r} is not one of {names}")


def validate(message: Message, path: str = "") -> None:
    """Check a message instance field by field; raises :class:`MessageError`."""
    if not isinstance(message, Message):
        raise MessageError(path, f"expected a message, got {type(message).__name__}")
    spec = message.__spec__
    for f in spec.fields:
        fpath = f"{path}.{f.name}" if path else f.name
        value = getattr(message, f.name)
        if f.is_bytes:
            if not isinstance(value, bytes | bytearray | memoryview):
                raise MessageError(fpath, f"expected bytes, got {type(value).__name__}")
            _check_length(f, len(value), fpath)
        elif f.is_array:
            if not isinstance(value, list | tuple):
                raise MessageError(fpath, f"expected a list, got {type(value).__name__}")
            _check_length(f, len(value), fpath)
            for i, item in enumerate(value):
                _check_item(spec, f, item, f"{fpath}[{i}]")
        else:
            _check_item(spec, f, value, fpath)
            _check_enum(spec, f, value, fpath)


def _check_item(spec: MessageSpec, f: FieldSpec, value: Any, path: str) -> None:
    if f.is_primitive:
        _check_scalar(f, value, path, spec)
        return
    expected = registry().message(f.type_name)
    if type(value) is not expected:
        raise MessageError(path, f"expected {f.type_name}, got {type(value).__name__}")
    validate(value, path)


def to_wire(message: Message) -> tuple[dict[str, Any], list[bytes]]:
    """Message → (JSON-compatible dict, binary blobs referenced as ``{"$bin": i}``)."""
    blobs: list[bytes] = []
    return _encode(message, blobs), blobs


def _encode(message: Message, blobs: list[bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in message.__spec__.fields:
        value = getattr(message, f.name)
        if f.is_bytes:
            blobs.append(bytes(value))
            out[f.name] = {"$bin": len(blobs) - 1}
        elif f.is_primitive:
            out[f.name] = list(value) if f.is_array else value
        elif f.is_array:
            out[f.name] = [_encode(v, blobs) for v in value]
        else:
            out[f.name] = _encode(value, blobs)
    return out


def from_wire(msg_type: type[Message], data: Any, blobs: list[bytes] | tuple = (),
              path: str = "") -> Message:
    """(dict, blobs) → validated message of ``msg_type``; raises :class:`MessageError`."""
    if not isinstance(data, dict):
        raise MessageError(path, f"expected an object, got {type(data).__name__}")
    spec = msg_type.__spec__
    names = {f.name for f in spec.fields}
    unknown = sorted(set(data) - names)
    if unknown:
        raise MessageError(path, f"unknown field(s) {', '.join(unknown)} for {spec.full_name}")
    missing = [n for n in (f.name for f in spec.fields) if n not in data]
    if missing:
        raise MessageError(path, f"missing field(s) {', '.join(missing)} for {spec.full_name}")
    values: dict[str, Any] = {}
    for f in spec.fields:
        fpath = f"{path}.{f.name}" if path else f.name
        raw = data[f.name]
        if f.is_bytes:
            values[f.name] = _blob(raw, blobs, fpath)
            _check_length(f, len(values[f.name]), fpath)
        elif f.is_array:
            if not isinstance(raw, list):
                raise MessageError(fpath, f"expected a list, got {type(raw).__name__}")
            _check_length(f, len(raw), fpath)
            values[f.name] = [_decode_item(spec, f, v, blobs, f"{fpath}[{i}]")
                              for i, v in enumerate(raw)]
        else:
            values[f.name] = _decode_item(spec, f, raw, blobs, fpath)
            _check_enum(spec, f, values[f.name], fpath)
    return msg_type(**values)


def _decode_item(spec: MessageSpec, f: FieldSpec, raw: Any, blobs, path: str) -> Any:
    if f.is_primitive:
        return _check_scalar(f, raw, path, spec)
    return from_wire(registry().message(f.type_name), raw, blobs, path)


def _blob(raw: Any, blobs, path: str) -> bytes:
    if not (isinstance(raw, dict) and set(raw) == {"$bin"}):
        raise MessageError(path, 'expected a binary reference {"$bin": index}')
    index = raw["$bin"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(blobs):
        raise MessageError(path, f"binary reference {index!r} does not name a frame")
    return bytes(blobs[index])
