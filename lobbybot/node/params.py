"""Node parameters: declared with defaults by each component, overridden from ROS params YAML.

On the ROS transport rclpy reads ``--ros-args --params-file F -p name:=value`` itself; for
the ZMQ and in-process transports this module reads the same arguments and the same YAML
format (``node_name: {ros__parameters: {...}}``, ``/**`` for every node), so one params file
configures a node identically on every transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ParamValue = bool | int | float | str | list


class ConfigError(ValueError):
    """A parameter or configuration problem, with a message naming what and where."""


@dataclass(frozen=True)
class Param:
    """A parameter a component declares: name, default (which fixes its type), meaning."""

    name: str
    default: ParamValue
    description: str


@dataclass
class RosArgs:
    """The parts of ``--ros-args`` the non-ROS transports understand."""

    node_name: str | None = None
    namespace: str = ""
    remaps: dict[str, str] = field(default_factory=dict)
    params_files: list[Path] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)


def parse_ros_args(argv: list[str]) -> RosArgs:
    """Parse ``--ros-args -r a:=b -p k:=v --params-file F`` (``--`` ends the section)."""
    out = RosArgs()
    inside = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--ros-args":
            inside = True
        elif arg == "--":
            inside = False
        elif inside and arg in ("-r", "--remap", "-p", "--param", "--params-file"):
            if i + 1 >= len(argv):
                raise ConfigError(f"{arg} needs a value")
            value = argv[i + 1]
            i += 1
            if arg == "--params-file":
                out.params_files.append(Path(value))
            else:
                if ":=" not in value:
                    raise ConfigError(f"{arg} {value!r}: expected NAME:=VALUE")
                key, val = value.split(":=", 1)
                if arg in ("-p", "--param"):
                    out.overrides[key] = yaml.safe_load(val) if val else ""
                elif key == "__node":
                    out.node_name = val
                elif key == "__ns":
                    out.namespace = val
                else:
                    out.remaps[key] = val
        elif inside and arg.startswith("--"):
            pass  # e.g. --log-level: rclpy's business, harmless to ignore here
        i += 1
    return out


def _node_keys(fqn: str) -> list[str]:
    """Params-file keys that address node ``fqn``, most general first (rcl's rules:
    ``/**`` every node, ``/**/name`` that name in any namespace, else the full name with or
    without its leading slash)."""
    name = fqn.rsplit("/", 1)[-1]
    return ["/**", f"/**/{name}", fqn.lstrip("/"), fqn]


def _coerce(param: Param, value: Any, where: str) -> ParamValue:
    expected = type(param.default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"parameter {param.name!r} ({where}) must be {expected.__name__}, "
                      f"got {type(value).__name__} {value!r}")


def load_parameters(specs: tuple[Param, ...], fqn: str, args: RosArgs) -> dict[str, ParamValue]:
    """Resolve every declared parameter: default < params files (in order) < ``-p``."""
    values: dict[str, ParamValue] = {p.name: p.default for p in specs}
    by_name = {p.name: p for p in specs}
    for path in args.params_files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read params file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"params file {path} is not valid YAML: {exc}") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"params file {path}: top level must be a mapping of node names")
        for key in _node_keys(fqn):
            section = doc.get(key)
            if section is None:
                continue
            params = section.get("ros__parameters") if isinstance(section, dict) else None
            if not isinstance(params, dict):
                raise ConfigError(f"params file {path}: {key!r} needs a 'ros__parameters' mapping")
            for name, value in params.items():
                if name in by_name:
                    values[name] = _coerce(by_name[name], value, f"{path}")
    for name, value in args.overrides.items():
        if name in by_name:
            values[name] = _coerce(by_name[name], value, "-p override")
    return values
