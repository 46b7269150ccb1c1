"""Parse a ROS 2 YAML launch file into the processes to run.

Supported (the subset of launch_yaml lobbybot's files use): ``arg`` (name, default,
description), ``let``, ``node`` (pkg, exec, name, namespace, param [name/value or from],
remap, env, args, respawn, respawn_delay, output, if/unless) and the substitutions
``$(var)``, ``$(env NAME [default])``, ``$(find-pkg-share PKG)``, ``$(find-pkg-prefix PKG)``
and ``$(dirname)``. Anything else is an error naming the unsupported entry, never ignored.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lobbybot.node.params import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
_SUBST = re.compile(r"\$\(([a-z-]+)((?:\s+[^)\s]+)*)\s*\)")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass
class NodeSpec:
    package: str
    executable: str
    name: str
    namespace: str = ""
    params_files: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    remaps: list[tuple[str, str]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    respawn: bool = False
    respawn_delay: float = 0.0
    output: str = "screen"

    def ros_args(self) -> list[str]:
        """The ``--ros-args`` section ROS 2 would pass this node."""
        out = ["--ros-args", "-r", f"__node:={self.name}"]
        if self.namespace:
            out += ["-r", f"__ns:={self.namespace}"]
        for path in self.params_files:
            out += ["--params-file", path]
        for key, value in self.params.items():
            out += ["-p", f"{key}:={json.dumps(value, ensure_ascii=False)}"]  # YAML ⊃ JSON
        for source, target in self.remaps:
            out += ["-r", f"{source}:={target}"]
        return out


@dataclass
class LaunchDescription:
    path: Path
    args: dict[str, str]
    nodes: list[NodeSpec]


def find_package_share(package: str) -> Path:
    """The source package in this checkout's robot_ws, else ``share/PKG`` on AMENT_PREFIX_PATH.

    Source first, like lobbybot's own editable install: an edited launch or params file takes
    effect without a colcon rebuild. (``ros2 launch`` on a full install uses the share copy.)
    """
    source = REPO_ROOT / "robot_ws" / "src" / package
    if (source / "package.xml").exists():
        return source
    for prefix in filter(None, os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)):
        candidate = Path(prefix) / "share" / package
        if (candidate / "package.xml").exists():
            return candidate
    raise ConfigError(f"package {package!r} not found on AMENT_PREFIX_PATH or in robot_ws/src")


class _Context:
    def __init__(self, path: Path, overrides: dict[str, str]):
        self.path = path
        self.overrides = overrides
        self.vars: dict[str, str] = {}

    def substitute(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if not isinstance(value, str):
            return value
        return _SUBST.sub(self._one, value)

    def _one(self, match: re.Match[str]) -> str:
        kind, rest = match.group(1), match.group(2).split()
        if kind == "var":
            if not rest or rest[0] not in self.vars:
                raise ConfigError(f"{self.path}: $(var {' '.join(rest)}) is not a declared arg")
            return self.vars[rest[0]]
        if kind == "env":
            if not rest:
                raise ConfigError(f"{self.path}: $(env) needs a variable name")
            if rest[0] in os.environ:
                return os.environ[rest[0]]
            if len(rest) > 1:
                return " ".join(rest[1:])
            raise ConfigError(f"{self.path}: environment variable {rest[0]} is not set")
        if kind in ("find-pkg-share", "find-pkg-prefix"):
            share = find_package_share(rest[0])
            return str(share if kind == "find-pkg-share" else share.parent.parent)
        if kind == "dirname":
            return str(self.path.parent)
        raise ConfigError(f"{self.path}: unsupported substitution $({kind})")


def _typed(raw: Any, substituted: Any) -> Any:
    """A value built by substitution is read as YAML, as launch_ros does: "8080" → 8080."""
    if not (isinstance(raw, str) and "$(" in raw and isinstance(substituted, str)):
        return substituted
    try:
        value = yaml.safe_load(substituted)
    except yaml.YAMLError:
        return substituted
    return substituted if value is None or isinstance(value, (dict, list)) else value


def _as_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{where}: {value!r} is not a boolean")


def _node(ctx: _Context, spec: dict[str, Any], index: int) -> NodeSpec | None:
    where = f"{ctx.path}: node #{index}"
    known = {"pkg", "exec", "name", "namespace", "param", "remap", "env", "args", "respawn",
             "respawn_delay", "output", "if", "unless", "ros_args"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ConfigError(f"{where}: unsupported key(s) {', '.join(unknown)}")
    if "if" in spec and not _as_bool(ctx.substitute(spec["if"]), where):
        return None
    if "unless" in spec and _as_bool(ctx.substitute(spec["unless"]), where):
        return None
    for key in ("pkg", "exec"):
        if key not in spec:
            raise ConfigError(f"{where}: missing {key!r}")
    node = NodeSpec(
        package=ctx.substitute(spec["pkg"]), executable=ctx.substitute(spec["exec"]),
        name=ctx.substitute(spec.get("name", spec["exec"])),
        namespace=ctx.substitute(spec.get("namespace", "")),
        respawn=_as_bool(ctx.substitute(spec.get("respawn", False)), where),
        respawn_delay=float(ctx.substitute(spec.get("respawn_delay", 0.0))),
        output=ctx.substitute(spec.get("output", "screen")),
        args=str(ctx.substitute(spec.get("args", ""))).split(),
    )
    for entry in spec.get("param", []) or []:
        if "from" in entry:
            path = Path(ctx.substitute(entry["from"]))
            if not path.exists():
                raise ConfigError(f"{where}: params file {path} does not exist")
            node.params_files.append(str(path))
        elif "name" in entry and "value" in entry:
            node.params[entry["name"]] = _typed(entry["value"], ctx.substitute(entry["value"]))
        else:
            raise ConfigError(f"{where}: a param needs 'from' or 'name' and 'value'")
    for entry in spec.get("remap", []) or []:
        node.remaps.append((ctx.substitute(entry["from"]), ctx.substitute(entry["to"])))
    for entry in spec.get("env", []) or []:
        node.env[entry["name"]] = str(ctx.substitute(entry["value"]))
    return node


def load_launch(path: str | Path, overrides: dict[str, str] | None = None) -> LaunchDescription:
    """Read a YAML launch file; ``overrides`` are ``name:=value`` launch arguments."""
    path = Path(path).resolve()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read launch file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"launch file {path} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("launch"), list):
        raise ConfigError(f"{path}: expected a top-level 'launch:' list")
    ctx = _Context(path, dict(overrides or {}))
    nodes: list[NodeSpec] = []
    declared: dict[str, str] = {}
    for index, entry in enumerate(doc["launch"]):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(f"{path}: entry #{index} must be a single-key mapping")
        (kind, body), = entry.items()
        if kind == "arg":
            name = body["name"]
            if name in ctx.overrides:
                value = ctx.overrides[name]
            elif "default" in body:
                value = str(ctx.substitute(body["default"]))
            else:
                raise ConfigError(f"{path}: launch argument {name!r} is required ({name}:=...)")
            ctx.vars[name] = declared[name] = value
        elif kind == "let":
            ctx.vars[body["name"]] = str(ctx.substitute(body["value"]))
        elif kind == "node":
            node = _node(ctx, body, index)
            if node is not None:
                nodes.append(node)
        else:
            raise ConfigError(f"{path}: unsupported launch action {kind!r}")
    unknown = sorted(set(ctx.overrides) - set(declared))
    if unknown:
        raise ConfigError(f"{path}: unknown launch argument(s) {', '.join(unknown)}; "
                          f"declared: {', '.join(sorted(declared)) or 'none'}")
    names = [f"{n.namespace.rstrip('/')}/{n.name}" for n in nodes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: node name(s) used twice: {', '.join(duplicates)}")
    return LaunchDescription(path, declared, nodes)
