"""Deterministic sample instances of any message type, with every field set.

Used by the interface probe (``lobbybot probe``), the transport tests and benchmarks to prove
that every field of every contract crosses a transport intact, not just the defaults.
"""

from __future__ import annotations

from typing import Any

from .schema import FLOAT_TYPES, INTEGER_RANGES, FieldSpec, MessageSpec
from .types import Message, registry


def sample(msg_type: type[Message], seed: int = 1) -> Message:
    """An instance of ``msg_type`` whose fields all differ from their defaults."""
    spec: MessageSpec = msg_type.__spec__
    values = {}
    for i, f in enumerate(spec.fields):
        values[f.name] = _sample_field(spec, f, seed * 31 + i)
    return msg_type(**values)


def _sample_scalar(spec: MessageSpec, f: FieldSpec, n: int) -> Any:
    allowed = spec.enum_constants(f.name)
    if allowed and not f.is_array:
        options = sorted(allowed.values())
        if len(options) == 1:
            return options[0]
        return options[1 + n % (len(options) - 1)]  # skip the first (the default)
    t = f.type_name
    if t == "bool":
        return True
    if t in INTEGER_RANGES:
        lo, hi = INTEGER_RANGES[t]
        return min(hi, max(lo, 1)) + n % min(100, hi)
    if t in FLOAT_TYPES:
        return 0.5 + n  # exactly representable in float32
    text = f"{f.name}-{n}-中文"
    return text[: f.string_upper_bound] if f.string_upper_bound else text


def _sample_field(spec: MessageSpec, f: FieldSpec, n: int) -> Any:
    if f.is_bytes:
        size = f.array_size if (f.array_size and not f.is_upper_bound) else 7
        return bytes((n + k) % 256 for k in range(size))
    count = 1
    if f.is_array:
        count = f.array_size if (f.array_size and not f.is_upper_bound) else 2
    if f.is_primitive:
        items = [_sample_scalar(spec, f, n + k) for k in range(count)]
    else:
        nested = registry().message(f.type_name)
        items = [sample(nested, n + k) for k in range(count)]
    return items if f.is_array else items[0]
