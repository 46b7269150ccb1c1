"""Message and service schemas, parsed from the ROS 2 .msg/.srv files.

The .msg/.srv files of ``robot_ws/src/lobby_interfaces`` are the single source of truth for
every transport. They are parsed with ROS's own parser (``rosidl_adapter``, pure Python), so
the kiosk (no ROS installed) validates exactly what the robot's rclpy would. Standard types
we use (Header, Image, DiagnosticArray, ...) are vendored copies of the upstream files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rosidl_adapter.parser import parse_message_string, parse_service_string

INTERFACES_DIR = Path(__file__).parent / "interfaces"

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "byte": (0, 255),
    "char": (0, 255),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
FLOAT_TYPES = {"float32", "float64"}
BYTES_TYPES = {"uint8", "byte"}  # arrays of these are carried as Python ``bytes``


@dataclass(frozen=True)
class FieldSpec:
    """One field of a message, as declared in its .msg file."""

    name: str
    type_name: str  # primitive name ("uint32", "string") or full message name
    is_primitive: bool
    is_array: bool = False
    array_size: int | None = None  # exact size, or the upper bound when is_upper_bound
    is_upper_bound: bool = False
    string_upper_bound: int | None = None
    default: object = None
    comment: str = ""

    @property
    def is_bytes(self) -> bool:
        return self.is_array and self.is_primitive and self.type_name in BYTES_TYPES

    def type_text(self) -> str:
        """The type as written in a .msg file, e.g. ``uint8[]`` or ``string<=8``."""
        base = self.type_name
        if self.string_upper_bound is not None:
            base += f"<={self.string_upper_bound}"
        if self.is_array:
            if self.array_size is None:
                base += "[]"
            elif self.is_upper_bound:
                base += f"[<={self.array_size}]"
            else:
                base += f"[{self.array_size}]"
        return base


@dataclass(frozen=True)
class MessageSpec:
    """A message type: ``pkg/msg/Name`` (or ``pkg/srv/Name_Request`` for service halves)."""

    full_name: str
    fields: tuple[FieldSpec, ...]
    constants: dict[str, object] = field(default_factory=dict)
    comment: str = ""

    @property
    def package(self) -> str:
        return self.full_name.split("/")[0]

    @property
    def short_name(self) -> str:
        return self.full_name.split("/")[-1]

    def enum_constants(self, field_name: str) -> dict[str, object]:
        """Constants ``FIELD_*`` declared for a field: the field must hold one of them."""
        prefix = field_name.upper() + "_"
        return {k: v for k, v in self.constants.items() if k.startswith(prefix)}


@dataclass(frozen=True)
class ServiceSpec:
    full_name: str  # pkg/srv/Name
    request: MessageSpec
    response: MessageSpec
    comment: str = ""


def _comment(annotations: dict) -> str:
    return " ".join(line.strip() for line in annotations.get("comment", []) if line.strip())


def _field_spec(parsed_field, package: str) -> FieldSpec:
    t = parsed_field.type
    primitive = t.is_primitive_type()
    type_name = t.type if primitive else f"{t.pkg_name or package}/msg/{t.type}"
    return FieldSpec(
        name=parsed_field.name,
        type_name=type_name,
        is_primitive=primitive,
        is_array=t.is_array,
        array_size=t.array_size,
        is_upper_bound=bool(t.is_upper_bound),
        string_upper_bound=getattr(t, "string_upper_bound", None),
        default=parsed_field.default_value,
        comment=_comment(parsed_field.annotations),
    )


def _message_spec(parsed, full_name: str, package: str) -> MessageSpec:
    return MessageSpec(
        full_name=full_name,
        fields=tuple(_field_spec(f, package) for f in parsed.fields),
        constants={c.name: c.value for c in parsed.constants},
        comment=_comment(parsed.annotations),
    )


def parse_msg_file(path: Path, package: str) -> MessageSpec:
    parsed = parse_message_string(package, path.stem, path.read_text(encoding="utf-8"))
    return _message_spec(parsed, f"{package}/msg/{path.stem}", package)


def parse_srv_file(path: Path, package: str) -> ServiceSpec:
    parsed = parse_service_string(package, path.stem, path.read_text(encoding="utf-8"))
    base = f"{package}/srv/{path.stem}"
    return ServiceSpec(
        full_name=base,
        request=_message_spec(parsed.request, base + "_Request", package),
        response=_message_spec(parsed.response, base + "_Response", package),
        comment=_comment(parsed.request.annotations),
    )


def load_specs(
    root: Path = INTERFACES_DIR,
) -> tuple[dict[str, MessageSpec], dict[str, ServiceSpec]]:
    """Parse every ``<pkg>/msg/*.msg`` and ``<pkg>/srv/*.srv`` below ``root``."""
    messages: dict[str, MessageSpec] = {}
    services: dict[str, ServiceSpec] = {}
    for pkg_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for msg_file in sorted(pkg_dir.glob("msg/*.msg")):
            spec = parse_msg_file(msg_file, pkg_dir.name)
            messages[spec.full_name] = spec
        for srv_file in sorted(pkg_dir.glob("srv/*.srv")):
            srv = parse_srv_file(srv_file, pkg_dir.name)
            services[srv.full_name] = srv
            messages[srv.request.full_name] = srv.request
            messages[srv.response.full_name] = srv.response
    for spec in messages.values():
        for f in spec.fields:
            if not f.is_primitive and f.type_name not in messages:
                raise ValueError(f"{spec.full_name}.{f.name}: unknown type {f.type_name}")
    return messages, services
