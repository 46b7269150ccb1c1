"""Conversion between lobbybot message dataclasses and rclpy message objects.

Generic over the schema, so every contract converts the same way. Byte arrays travel as
``array.array('B')`` on the ROS side (rclpy's fast path; a ``bytes`` value would be checked
element by element), ``byte`` scalars as 1-byte ``bytes`` as rclpy expects.
"""

from __future__ import annotations

import array
import importlib
from functools import cache
from typing import Any

from lobbybot.contracts import Message, ServiceType, registry


@cache
def ros_message_class(full_name: str) -> Any:
    """``pkg/msg/Name`` or ``pkg/srv/Name_Request`` → the rclpy class."""
    package, kind, name = full_name.split("/")
    if kind == "srv":
        service, half = name.rsplit("_", 1)
        return getattr(ros_service_class(f"{package}/srv/{service}"), half)
    return getattr(importlib.import_module(f"{package}.msg"), name)


@cache
def ros_service_class(full_name: str) -> Any:
    package, _, name = full_name.split("/")
    return getattr(importlib.import_module(f"{package}.srv"), name)


def to_ros(message: Message) -> Any:
    ros = ros_message_class(message.__msgtype__)()
    for f in message.__spec__.fields:
        value = getattr(message, f.name)
        if f.is_bytes:
            value = array.array("B", value)
        elif f.is_primitive:
            if f.type_name == "byte":
                value = [bytes([v]) for v in value] if f.is_array else bytes([value])
        elif f.is_array:
            value = [to_ros(v) for v in value]
        else:
            value = to_ros(value)
        setattr(ros, f.name, value)
    return ros


def from_ros(ros: Any, msg_type: type[Message]) -> Message:
    values: dict[str, Any] = {}
    for f in msg_type.__spec__.fields:
        value = getattr(ros, f.name)
        if f.is_bytes:
            value = value.tobytes() if hasattr(value, "tobytes") else bytes(value)
        elif f.is_primitive:
            if f.type_name == "byte":
                value = [v[0] for v in value] if f.is_array else value[0]
            elif f.is_array:
                value = value.tolist() if hasattr(value, "tolist") else list(value)
        elif f.is_array:
            nested = registry().message(f.type_name)
            value = [from_ros(v, nested) for v in value]
        else:
            value = from_ros(value, registry().message(f.type_name))
        values[f.name] = value
    return msg_type(**values)


def ros_service_for(srv_type: ServiceType) -> Any:
    return ros_service_class(srv_type.name)
