"""Which components exist: the ``lobbybot.nodes`` entry-point group, by executable name.

The executable names are the ones ROS 2 users see (``lobby_bringup``'s console scripts and
``exec:`` in launch files); domain packages add their nodes by declaring entry points.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from .component import Component

GROUP = "lobbybot.nodes"


def available() -> dict[str, str]:
    """Executable name → ``module:Class``."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load(executable: str) -> type[Component]:
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    if executable not in found:
        known = ", ".join(sorted(found)) or "none (is lobbybot installed?)"
        raise KeyError(f"no lobbybot node named {executable!r}; available: {known}")
    cls = found[executable].load()
    if not (isinstance(cls, type) and issubclass(cls, Component)):
        raise TypeError(f"{found[executable].value} is not a lobbybot Component")
    return cls
