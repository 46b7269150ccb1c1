"""Standard ROS message classes lobbybot uses, by short name: ``std.Header``, ``std.Image``.

Short names are unique across the vendored packages (builtin_interfaces, std_msgs,
sensor_msgs, diagnostic_msgs, rosgraph_msgs).
"""

from .types import registry

_PACKAGES = ("builtin_interfaces", "std_msgs", "sensor_msgs", "diagnostic_msgs", "rosgraph_msgs")


def __getattr__(name: str):
    for package in _PACKAGES:
        cls = registry().messages.get(f"{package}/msg/{name}")
        if cls is not None:
            return cls
    raise AttributeError(name)
