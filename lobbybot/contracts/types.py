"""Python classes for every message and service, generated at import from the schemas.

Components build and read messages as plain dataclasses (``msg.Ticket(number="A001")``);
the transports convert them to ROS messages or to the ZMQ wire format. Generating them from
the .msg files keeps one definition for all three transports.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from .schema import FLOAT_TYPES, INTEGER_RANGES, FieldSpec, MessageSpec, ServiceSpec, load_specs


class Message:
    """Base of every generated message class."""

    __msgtype__: ClassVar[str]
    __spec__: ClassVar[MessageSpec]

    def __repr__(self) -> str:
        parts = []
        for f in self.__spec__.fields:
            value = getattr(self, f.name)
            if isinstance(value, bytes | bytearray) and len(value) > 16:
                text = f"<{len(value)} bytes>"
            else:
                text = repr(value)
            parts.append(f"{f.name}={text}")
        return f"{self.__msgtype__}({', '.join(parts)})"


@dataclass(frozen=True)
class ServiceType:
    """A service: its name and its request/response message classes."""

    name: str
    Request: type[Message]
    Response: type[Message]
    spec: ServiceSpec


def _zero(f: FieldSpec, classes: dict[str, type]) -> Any:
    if f.is_primitive:
        if f.type_name == "bool":
            return False
        if f.type_name in FLOAT_TYPES:
            return 0.0
        if f.type_name in INTEGER_RANGES:
            return 0
        return ""
    return classes[f.type_name]()


def _default_factory(f: FieldSpec, classes: dict[str, type]):
    if f.is_bytes:
        size = 0 if (f.array_size is None or f.is_upper_bound) else f.array_size
        default = bytes(f.default) if f.default else bytes(size)
        return lambda: default
    if f.is_array:
        if f.default:
            values = list(f.default)
            return lambda: list(values)
        if f.array_size is not None and not f.is_upper_bound:
            return lambda: [_zero(f, classes) for _ in range(f.array_size)]
        return list
    if f.default is not None:
        value = f.default
        return lambda: value
    return lambda: _zero(f, classes)


def _python_type(f: FieldSpec, classes: dict[str, type]) -> Any:
    if f.is_bytes:
        return bytes
    if f.is_primitive:
        base: Any = {"bool": bool, "string": str, "wstring": str}.get(f.type_name)
        if base is None:
            base = float if f.type_name in FLOAT_TYPES else int
    else:
        base = classes[f.type_name]
    return list[base] if f.is_array else base


def _build_class(spec: MessageSpec, classes: dict[str, type]) -> type[Message]:
    fields = [
        (f.name, _python_type(f, classes),
         dataclasses.field(default_factory=_default_factory(f, classes)))
        for f in spec.fields
    ]
    namespace: dict[str, Any] = {"__msgtype__": spec.full_name, "__spec__": spec}
    namespace.update(spec.constants)
    namespace["__doc__"] = spec.comment or spec.full_name
    cls = dataclasses.make_dataclass(
        spec.short_name, fields, bases=(Message,), namespace=namespace, repr=False, eq=True
    )
    cls.__module__ = "lobbybot.contracts." + spec.package
    return cls


class Registry:
    """All known message and service types, by full ROS name."""

    def __init__(self, messages: dict[str, MessageSpec], services: dict[str, ServiceSpec]):
        self.messages: dict[str, type[Message]] = {}
        pending = dict(messages)
        # Build dependencies first: a class's default factory needs its nested classes.
        while pending:
            progressed = False
            for name, spec in list(pending.items()):
                deps = [f.type_name for f in spec.fields if not f.is_primitive]
                if all(d in self.messages for d in deps):
                    self.messages[name] = _build_class(spec, self.messages)
                    del pending[name]
                    progressed = True
            if not progressed:
                raise ValueError(f"recursive message definitions: {sorted(pending)}")
        self.services = {
            name: ServiceType(name, self.messages[s.request.full_name],
                              self.messages[s.response.full_name], s)
            for name, s in services.items()
        }

    @staticmethod
    def _canonical(name: str, kind: str) -> str:
        parts = name.strip("/").split("/")
        if len(parts) == 2:
            return f"{parts[0]}/{kind}/{parts[1]}"
        return "/".join(parts)

    def message(self, name: str) -> type[Message]:
        """Message class by name: ``pkg/msg/Name`` or ``pkg/Name``."""
        try:
            return self.messages[self._canonical(name, "msg")]
        except KeyError:
            raise KeyError(f"unknown message type {name!r}") from None

    def service(self, name: str) -> ServiceType:
        try:
            return self.services[self._canonical(name, "srv")]
        except KeyError:
            raise KeyError(f"unknown service type {name!r}") from None


@cache
def registry() -> Registry:
    """The registry of all interfaces shipped with lobbybot (parsed once per process)."""
    return Registry(*load_specs())


def type_name(msg_type: type[Message] | ServiceType) -> str:
    return msg_type.name if isinstance(msg_type, ServiceType) else msg_type.__msgtype__
