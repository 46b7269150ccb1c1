"""Scenario files (YAML): who walks into the simulated branch, what they say, what must happen.

Format (docs/simulator.md)::

    name: morning_rush
    description: 24 customers in the first hour, zh and en
    branch: config/branch.yaml        # relative to the checkout
    world: sim/worlds/lobby.sdf
    start: "09:00"                    # branch local time the simulation starts at
    seed: 7
    service_time_scale: 0.25          # tellers serve 4× faster than the branch config says
    speech: text                      # text: typed transcripts | audio: voices → real ASR
    customers:
      - id: c01
        at: 5                          # seconds after the start
        lang: zh
        says: ["我想存两万块钱"]        # first utterance; confirmations answered "对"/"yes"
        behaviour: normal              # normal | interrupts | ignores_robot | declines
        voice: "piper:en_US-joe-medium:1.0"   # audio mode; default: round robin per language
        expect: {intent: cash_deposit, service: cash}   # or {intent: ..., ticket: false}
    faults:
      - {at: 60, kind: camera_drop, camera: lobby_camera, duration: 30}
      - {at: 90, kind: node_crash, node: routing}
      - {at: 120, kind: noisy_audio, duration: 60, snr_db: 5}   # lobby babble (audio mode)

Every error names the file and line; a scenario that does not load runs nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routing.config import ConfigReader

REPO = Path(__file__).resolve().parents[1]
BEHAVIOURS = ("normal", "interrupts", "ignores_robot", "declines")
SPEECH_MODES = ("text", "audio")
FAULTS = {"camera_drop": {"camera", "duration"}, "node_crash": {"node"},
          "noisy_audio": {"duration"}}
LANGUAGES = ("zh", "en")


class ScenarioError(ValueError):
    """A scenario that cannot run; the message starts with ``file:line:``."""


@dataclass(frozen=True)
class Expectation:
    intent: str = ""
    service: str = ""
    counter: str = ""
    ticket: bool = True


@dataclass(frozen=True)
class Customer:
    id: str
    at: float
    lang: str
    says: tuple[str, ...]
    behaviour: str = "normal"
    priority: str = "normal"
    expect: Expectation = field(default_factory=Expectation)
    voice: str = ""  # audio mode: piper:VOICE[:SCALE] or espeak-ng:VOICE[:WPM]


@dataclass(frozen=True)
class Fault:
    at: float
    kind: str
    camera: str = ""
    node: str = ""
    duration: float = 0.0
    snr_db: float = 5.0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    branch: Path
    world: Path
    start: dt.time
    seed: int
    service_time_scale: float
    customers: tuple[Customer, ...]
    faults: tuple[Fault, ...]
    source: str
    speech: str = "text"

    @property
    def duration_hint_s(self) -> float:
        return max((c.at for c in self.customers), default=0.0)


class _Reader(ConfigReader):
    """The branch config's reader (line-aware YAML), raising :class:`ScenarioError`."""

    def __init__(self, source: str):
        super().__init__(source, ScenarioError)

    def number_at(self, node: Any, key: str, what: str, default: float | None = None,
               minimum: float = 0.0) -> float:
        value = node.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.fail(node, f"{what} must be a number ≥ {minimum:g}, got {value!r}", key)
        return float(value)

    def choice(self, node: Any, key: str, what: str, options: tuple[str, ...],
               default: str) -> str:
        value = node.get(key, default)
        if value not in options:
            raise self.fail(node, f"{what} must be one of {', '.join(options)}, got {value!r}",
                            key)
        return str(value)


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    r = _Reader(source)
    doc = r.load(text)
    top = r.mapping(doc, "scenario", {"name", "description", "branch", "world", "start", "seed",
                                      "service_time_scale", "customers", "faults", "speech"},
                    {"name", "customers"})
    start_text = str(top.get("start", "09:00"))
    try:
        start = dt.time.fromisoformat(start_text)
    except ValueError:
        raise r.fail(top, f"start must be HH:MM, got {start_text!r}", "start") from None
    paths = {}
    for key, default in (("branch", "config/branch.yaml"), ("world", "sim/worlds/lobby.sdf")):
        path = Path(str(top.get(key, default)))
        path = path if path.is_absolute() else REPO / path
        if not path.is_file():
            raise r.fail(top, f"{key} file {path} not found", key)
        paths[key] = path
    customers = []
    seen: set[str] = set()
    items = top["customers"]
    if not isinstance(items, list) or not items:
        raise r.fail(top, "customers must be a non-empty list", "customers")
    for item in items:
        c = r.mapping(item, "customer", {"id", "at", "lang", "says", "behaviour", "priority",
                                         "expect", "voice"}, {"id", "at", "lang"})
        cid = str(c["id"])
        if cid in seen:
            raise r.fail(c, f"customer id {cid!r} used twice", "id")
        seen.add(cid)
        behaviour = r.choice(c, "behaviour", f"customer {cid}: behaviour", BEHAVIOURS, "normal")
        says = c.get("says", [])
        if not isinstance(says, list) or not all(isinstance(s, str) and s.strip() for s in says):
            raise r.fail(c, f"customer {cid}: says must be a list of non-empty texts", "says")
        priority = r.choice(c, "priority", f"customer {cid}: priority",
                            ("normal", "elderly", "disabled", "pregnant", "vip"), "normal")
        if not says and behaviour != "ignores_robot" and priority == "normal":
            raise r.fail(c, f"customer {cid}: says nothing (only ignores_robot customers and "
                            "priority customers, who go to the desk, may)", "id")
        expect = Expectation()
        if "expect" in c:
            e = r.mapping(c["expect"], f"customer {cid}: expect",
                          {"intent", "service", "counter", "ticket"}, set())
            expect = Expectation(str(e.get("intent", "")), str(e.get("service", "")),
                                 str(e.get("counter", "")), bool(e.get("ticket", True)))
        customers.append(Customer(
            cid, r.number_at(c, "at", f"customer {cid}: at"),
            r.choice(c, "lang", f"customer {cid}: lang", LANGUAGES, "zh"), tuple(says),
            behaviour, priority, expect, _voice(r, c, cid)))
    faults = []
    for item in top.get("faults", []) or []:
        f = r.mapping(item, "fault", {"at", "kind", "camera", "node", "duration", "snr_db"},
                      {"at", "kind"})
        kind = r.choice(f, "kind", "fault kind", tuple(FAULTS), "")
        missing = sorted(FAULTS[kind] - set(f))
        if missing:
            raise r.fail(f, f"fault {kind} needs {', '.join(missing)}")
        faults.append(Fault(r.number_at(f, "at", "fault at"), kind, str(f.get("camera", "")),
                            str(f.get("node", "")),
                            r.number_at(f, "duration", "fault duration", 0.0),
                            r.number_at(f, "snr_db", "fault snr_db", 5.0, -20.0)))
    return Scenario(
        name=str(top["name"]), description=str(top.get("description", "")),
        branch=paths["branch"], world=paths["world"], start=start,
        seed=int(r.number_at(top, "seed", "seed", 1)),
        service_time_scale=r.number_at(top, "service_time_scale", "service_time_scale", 1.0, 0.01),
        customers=tuple(sorted(customers, key=lambda c: c.at)), faults=tuple(faults),
        source=source, speech=r.choice(top, "speech", "speech", SPEECH_MODES, "text"))


def _voice(r: _Reader, c: Any, cid: str) -> str:
    voice = str(c.get("voice", ""))
    if voice and voice.split(":", 1)[0] not in ("piper", "espeak-ng"):
        raise r.fail(c, f"customer {cid}: voice must be piper:VOICE[:SCALE] or "
                        f"espeak-ng:VOICE[:WPM], got {voice!r}", "voice")
    return voice


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(text, str(path))
