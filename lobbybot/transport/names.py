"""ROS 2 name resolution and remapping, for the transports that are not ROS.

rclpy resolves names itself; the in-process and ZMQ transports use this so that a launch
file's namespaces and remaps mean the same thing on every transport.
"""

from __future__ import annotations

import re

_VALID = re.compile(r"^(~|~/)?/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


def validate_name(name: str) -> None:
    if not _VALID.match(name) or "//" in name:
        raise ValueError(f"invalid ROS name {name!r}")


def expand(name: str, namespace: str, node_name: str) -> str:
    """Expand a relative or private (``~``) name to an absolute one, as rcl does."""
    validate_name(name)
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    if name.startswith("/"):
        return name
    if name == "~":
        return f"{ns}/{node_name}"
    if name.startswith("~/"):
        return f"{ns}/{node_name}/{name[2:]}"
    return f"{ns}/{name}"


def resolve(name: str, namespace: str, node_name: str, remaps: dict[str, str]) -> str:
    """Absolute name of ``name`` for this node after applying ``from:=to`` remaps."""
    full = expand(name, namespace, node_name)
    for source, target in remaps.items():
        if expand(source, namespace, node_name) == full:
            return expand(target, namespace, node_name)
    return full
