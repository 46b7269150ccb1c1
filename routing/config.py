"""The branch configuration: services, counters, self-service machines, priority rules.

A YAML file (``config/branch.yaml`` is the example branch). Validation is strict and every
error names the file and line, because a typo here sends customers to the wrong counter.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVICE_IDS = ("cash", "personal", "loans", "wealth", "forex", "business", "self_service",
               "manager")  # the service column of shared/intents.md
PRIORITY_REASONS = ("elderly", "disabled", "pregnant", "vip")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")


class BranchConfigError(ValueError):
    """A configuration problem; the message starts with ``file:line:``."""


class _Mapping(dict):
    line = 0
    key_lines: dict


def _key_line(node: Any, what: str) -> int:
    """Line of the key a ``what`` like "counter c1.hours" names, else of the mapping."""
    key = what.replace(" ", ".").rsplit(".", 1)[-1]
    return getattr(node, "key_lines", {}).get(key) or getattr(node, "line", 0)


class _Sequence(list):
    line = 0


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping and sequence."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping()
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise BranchConfigError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    mapping.line = node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _Sequence:
    seq = _Sequence(loader.construct_object(child, deep=True) for child in node.value)
    seq.line = node.start_mark.line + 1
    return seq


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


@dataclass(frozen=True)
class Text:
    """A text in both languages of the branch."""

    zh: str
    en: str

    def __call__(self, language: str) -> str:
        return self.zh if language.startswith("zh") else self.en


@dataclass(frozen=True)
class Pose:
    x: float
    y: float
    theta: float = 0.0


@dataclass(frozen=True)
class Service:
    id: str
    prefix: str
    name: Text
    service_time_s: float  # prior mean, before observed times take over


@dataclass(frozen=True)
class Counter:
    id: str
    name: Text
    services: tuple[str, ...]
    pose: Pose
    zone: str  # vision queue zone in front of it ("" when no camera covers it)
    hours: tuple[tuple[dt.time, dt.time], ...]
    open: bool = True
    directions: Text | None = None

    def is_open(self, now: dt.datetime) -> bool:
        if not self.open:
            return False
        t = now.time()
        return any(start <= t < end for start, end in self.hours)


@dataclass(frozen=True)
class Machine:
    id: str
    name: Text
    services: tuple[str, ...]
    pose: Pose
    zone: str
    max_amount: float  # largest amount it handles (0: no money involved / no limit check)
    service_time_s: float
    open: bool = True
    directions: Text | None = None


@dataclass(frozen=True)
class PriorityRules:
    reasons: tuple[str, ...] = PRIORITY_REASONS
    # Starvation protection: after this many priority calls in a row at a counter, a
    # waiting normal ticket is called next.
    max_consecutive: int = 2
    # A normal ticket waiting longer than this is served before new priority tickets.
    max_wait_s: float = 1800.0


@dataclass(frozen=True)
class CallRules:
    recall_after_s: float = 60.0  # a called ticket may be recalled after this
    no_show_after_s: float = 120.0  # recalled and still absent after this → no-show


@dataclass(frozen=True)
class LobbyCamera:
    """The ceiling camera over the queues: one polygon per zone, in image pixels, or on the
    floor (metres, branch frame) with ``homography`` mapping image pixels to the floor."""

    width: int
    height: int
    zones: dict[str, tuple[tuple[float, float], ...]]
    zones_in: str = "image"  # or "floor"
    homography: tuple[tuple[float, float, float], ...] | None = None


@dataclass(frozen=True)
class BranchConfig:
    branch_id: str
    name: Text
    timezone: str
    currency: str
    services: dict[str, Service]
    counters: dict[str, Counter]
    machines: dict[str, Machine]
    priority: PriorityRules = field(default_factory=PriorityRules)
    calls: CallRules = field(default_factory=CallRules)
    source: str = ""
    lobby_camera: LobbyCamera | None = None

    def counter_of_zone(self, zone: str) -> str:
        """The counter (or machine) whose queue zone this is; '' if none."""
        places = [*self.counters.values(), *self.machines.values()]
        return next((p.id for p in places if p.zone == zone), "")

    def counters_for(self, service: str) -> list[Counter]:
        return [c for c in self.counters.values() if service in c.services]

    def service_by_prefix(self, prefix: str) -> Service | None:
        return next((s for s in self.services.values() if s.prefix == prefix), None)


class ConfigReader:
    """Line-aware YAML with typed access; errors (of class ``error``) name file and line.

    The branch config uses it, and so do other YAML formats of the project (scenarios).
    """

    def __init__(self, source: str, error: type[ValueError] = BranchConfigError):
        self.source = source
        self.error = error

    def load(self, text: str) -> Any:
        try:
            return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
        except BranchConfigError as exc:  # a duplicate key, "line N: ..."
            raise self.error(f"{self.source}:{str(exc).removeprefix('line ')}") from None
        except yaml.YAMLError as exc:
            raise self.error(f"{self.source}: not valid YAML: {exc}") from None

    def fail(self, node: Any, message: str, what: str = "") -> ValueError:
        line = _key_line(node, what) if what else getattr(node, "line", 0)
        return self.error(f"{self.source}:{line}: {message}" if line else
                          f"{self.source}: {message}")

    def mapping(self, node: Any, what: str, allowed: set[str], required: set[str]) -> _Mapping:
        if not isinstance(node, dict):
            raise self.fail(node, f"{what} must be a mapping")
        unknown = sorted(set(node) - allowed)
        if unknown:
            raise self.fail(node, f"{what}: unknown key(s) {', '.join(map(str, unknown))}; "
                                  f"allowed: {', '.join(sorted(allowed))}", str(unknown[0]))
        missing = sorted(required - set(node))
        if missing:
            raise self.fail(node, f"{what}: missing {', '.join(missing)}")
        return node

    def text(self, parent: Any, value: Any, what: str) -> Text:
        if isinstance(value, str):
            return Text(value, value)
        m = self.mapping(value, what, {"zh", "en"}, {"zh", "en"})
        if not all(isinstance(m[k], str) and m[k].strip() for k in ("zh", "en")):
            raise self.fail(m, f"{what}: zh and en must be non-empty texts")
        return Text(m["zh"], m["en"])

    def number(self, parent: Any, value: Any, what: str, minimum: float = 0.0) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.fail(parent, f"{what} must be a number ≥ {minimum:g}, got {value!r}",
                            what)
        return float(value)

    def ident(self, parent: Any, value: Any, what: str) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            raise self.fail(parent, f"{what} must be a lower-case id like 'c1', got {value!r}",
                            what)
        return value

    def pose(self, parent: Any, value: Any, what: str) -> Pose:
        m = self.mapping(value, what, {"x", "y", "theta"}, {"x", "y"})
        return Pose(self.number(m, m["x"], f"{what}.x", -1e6), self.number(m, m["y"], f"{what}.y",
                                                                          -1e6),
                    self.number(m, m.get("theta", 0.0), f"{what}.theta", -10.0))

    def services_list(self, parent: Any, value: Any, what: str, known: dict) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(parent, f"{what} must list at least one service")
        for service in value:
            if service not in known:
                raise self.fail(value, f"{what}: unknown service {service!r}; "
                                       f"configured: {', '.join(known)}")
        if len(set(value)) != len(value):
            raise self.fail(value, f"{what}: a service is listed twice")
        return tuple(value)

    def hours(self, parent: Any, value: Any, what: str) -> tuple[tuple[dt.time, dt.time], ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise self.fail(parent, f"{what} must be 'HH:MM-HH:MM' or a list of them")
        spans = []
        for item in items:
            match = _HOURS.match(str(item))
            if not match:
                raise self.fail(parent, f"{what}: {item!r} is not 'HH:MM-HH:MM'")
            h1, m1, h2, m2 = map(int, match.groups())
            if h2 == 24 and m2:
                raise self.fail(parent, f"{what}: {item!r}: a day ends at 24:00")
            # 24:00 is the end of the day (a 24-hour self-service area: "00:00-24:00").
            start, end = dt.time(h1, m1), dt.time.max if h2 == 24 else dt.time(h2, m2)
            if end <= start:
                raise self.fail(parent, f"{what}: {item!r} ends before it starts")
            spans.append((start, end))
        return tuple(spans)


def parse_branch_config(text: str, source: str = "<branch config>") -> BranchConfig:
    r = ConfigReader(source)
    doc = r.load(text)
    top = r.mapping(doc, "branch config",
                    {"branch", "services", "counters", "machines", "priority", "calls",
                     "lobby_camera"},
                    {"branch", "services", "counters"})
    branch = r.mapping(top["branch"], "branch", {"id", "name", "timezone", "currency"},
                       {"id", "name"})

    services: dict[str, Service] = {}
    svc_node = r.mapping(top["services"], "services", set(SERVICE_IDS), set())
    prefixes: dict[str, str] = {}
    for sid, body in svc_node.items():
        m = r.mapping(body, f"service {sid}", {"prefix", "name", "service_time_s"},
                      {"prefix", "name", "service_time_s"})
        prefix = m["prefix"]
        if not (isinstance(prefix, str) and len(prefix) == 1 and prefix.isupper()):
            raise r.fail(m, f"service {sid}: prefix must be one capital letter, got {prefix!r}")
        if prefix in prefixes:
            raise r.fail(m, f"service {sid}: prefix {prefix} already used by {prefixes[prefix]}")
        prefixes[prefix] = sid
        services[sid] = Service(sid, prefix, r.text(m, m["name"], f"service {sid}.name"),
                                r.number(m, m["service_time_s"], f"service {sid}.service_time_s",
                                         1.0))
    if not services:
        raise r.fail(svc_node, "services: configure at least one service")

    ids: dict[str, str] = {}

    def claim(node: Any, ident: str, kind: str) -> None:
        if ident in ids:
            raise r.fail(node, f"{kind} id {ident!r} is already used by a {ids[ident]}")
        ids[ident] = kind

    counters: dict[str, Counter] = {}
    counter_list = top["counters"]
    if not isinstance(counter_list, list) or not counter_list:
        raise r.fail(top, "counters must be a non-empty list")
    for body in counter_list:
        m = r.mapping(body, "counter", {"id", "name", "services", "pose", "zone", "hours",
                                        "open", "directions"},
                      {"id", "name", "services", "pose", "hours"})
        cid = r.ident(m, m["id"], "counter id")
        claim(m, cid, "counter")
        if "services" in m and (not isinstance(m["services"], list) or not m["services"]):
            raise r.fail(m, f"counter {cid} handles no services")
        counters[cid] = Counter(
            cid, r.text(m, m["name"], f"counter {cid}.name"),
            r.services_list(m, m["services"], f"counter {cid}.services", services),
            r.pose(m, m["pose"], f"counter {cid}.pose"), str(m.get("zone", "")),
            r.hours(m, m["hours"], f"counter {cid}.hours"), bool(m.get("open", True)),
            r.text(m, m["directions"], f"counter {cid}.directions") if "directions" in m
            else None)

    machines: dict[str, Machine] = {}
    for body in top.get("machines", []) or []:
        m = r.mapping(body, "machine", {"id", "name", "services", "pose", "zone", "max_amount",
                                        "service_time_s", "open", "directions"},
                      {"id", "name", "services", "pose", "service_time_s"})
        mid = r.ident(m, m["id"], "machine id")
        claim(m, mid, "machine")
        machines[mid] = Machine(
            mid, r.text(m, m["name"], f"machine {mid}.name"),
            r.services_list(m, m["services"], f"machine {mid}.services", services),
            r.pose(m, m["pose"], f"machine {mid}.pose"), str(m.get("zone", "")),
            r.number(m, m.get("max_amount", 0), f"machine {mid}.max_amount"),
            r.number(m, m["service_time_s"], f"machine {mid}.service_time_s", 1.0),
            bool(m.get("open", True)),
            r.text(m, m["directions"], f"machine {mid}.directions") if "directions" in m
            else None)

    for sid in services:
        if not any(sid in c.services for c in counters.values()) and not any(
                sid in mc.services for mc in machines.values()):
            raise r.fail(svc_node, f"service {sid} is handled by no counter and no machine")

    priority = PriorityRules()
    if "priority" in top:
        m = r.mapping(top["priority"], "priority", {"reasons", "max_consecutive", "max_wait_s"},
                      set())
        reasons = tuple(m.get("reasons", PRIORITY_REASONS))
        bad = [x for x in reasons if x not in PRIORITY_REASONS]
        if bad:
            raise r.fail(m, f"priority.reasons: unknown {bad}; known: {PRIORITY_REASONS}")
        priority = PriorityRules(
            reasons, int(r.number(m, m.get("max_consecutive", 2), "priority.max_consecutive", 1)),
            r.number(m, m.get("max_wait_s", 1800), "priority.max_wait_s", 60))
    calls = CallRules()
    if "calls" in top:
        m = r.mapping(top["calls"], "calls", {"recall_after_s", "no_show_after_s"}, set())
        calls = CallRules(r.number(m, m.get("recall_after_s", 60), "calls.recall_after_s"),
                          r.number(m, m.get("no_show_after_s", 120), "calls.no_show_after_s"))
    zones = {c.zone for c in counters.values() if c.zone} | \
        {mc.zone for mc in machines.values() if mc.zone}
    camera = _lobby_camera(r, top["lobby_camera"], zones) if "lobby_camera" in top else None
    return BranchConfig(
        branch_id=r.ident(branch, branch["id"], "branch.id"),
        name=r.text(branch, branch["name"], "branch.name"),
        timezone=str(branch.get("timezone", "Asia/Shanghai")),
        currency=str(branch.get("currency", "CNY")),
        services=services, counters=counters, machines=machines, priority=priority,
        calls=calls, source=source, lobby_camera=camera)


def _lobby_camera(r: ConfigReader, node: Any, known_zones: set[str]) -> LobbyCamera:
    m = r.mapping(node, "lobby_camera", {"width", "height", "zones", "zones_in", "homography"},
                  {"width", "height", "zones"})
    width = int(r.number(m, m["width"], "lobby_camera.width", 1))
    height = int(r.number(m, m["height"], "lobby_camera.height", 1))
    zones_in = m.get("zones_in", "image")
    if zones_in not in ("image", "floor"):
        raise r.fail(m, f"lobby_camera.zones_in must be image or floor, got {zones_in!r}",
                     "zones_in")
    homography = None
    if zones_in == "floor":
        h = m.get("homography")
        if not (isinstance(h, list) and len(h) == 3 and all(
                isinstance(row, list) and len(row) == 3 for row in h)):
            raise r.fail(m, "lobby_camera.homography (image → floor) must be a 3×3 list "
                            "when zones_in is floor")
        homography = tuple(tuple(r.number(row, v, "lobby_camera.homography", -1e9) for v in row)
                           for row in h)
    zone_node = r.mapping(m["zones"], "lobby_camera.zones", set(known_zones), set())
    zones = {}
    for zone, points in zone_node.items():
        if not isinstance(points, list) or len(points) < 3 or not all(
                isinstance(p, list) and len(p) == 2 for p in points):
            raise r.fail(zone_node, f"lobby_camera.zones.{zone} must list at least three "
                                    "[x, y] points", zone)
        zones[zone] = tuple((r.number(p, p[0], f"zone {zone} x", -1e6),
                             r.number(p, p[1], f"zone {zone} y", -1e6)) for p in points)
    return LobbyCamera(width, height, zones, zones_in, homography)


def load_branch_config(path: str | Path) -> BranchConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BranchConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_branch_config(text, str(path))
