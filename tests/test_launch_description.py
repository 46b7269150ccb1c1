"""Launch files: the ROS 2 YAML format, arguments, substitutions and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lobbybot.launch.description import load_launch
from lobbybot.launch.supervisor import node_command
from lobbybot.node import registry
from lobbybot.node.params import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.launch.yaml"
    path.write_text(text)
    return path


def test_shipped_launch_files_load_and_only_name_real_nodes():
    files = sorted((REPO / "launch").glob("*.launch.yaml"))
    assert files
    for path in files:
        for node in load_launch(path).nodes:
            assert node.executable in registry.available(), f"{path.name}: {node.executable}"
            for params_file in node.params_files:
                assert Path(params_file).exists()


def test_every_node_has_a_ros_executable_in_lobby_bringup():
    scripts = {p.name for p in (REPO / "robot_ws/src/lobby_bringup/scripts").iterdir()}
    assert scripts == set(registry.available())


def test_args_substitutions_and_node_options(tmp_path, monkeypatch):
    monkeypatch.setenv("LOBBY_BRANCH", "b7")
    params = tmp_path / "p.yaml"
    params.write_text("/**: {ros__parameters: {}}\n")
    path = write(tmp_path, """
launch:
  - arg: {name: ns, default: lobby}
  - arg: {name: with_probe, default: "false"}
  - let: {name: params, value: "$(dirname)/p.yaml"}
  - node:
      pkg: lobby_bringup
      exec: lobby_monitor
      name: mon
      namespace: /$(var ns)
      respawn: "true"
      respawn_delay: 2.5
      param:
        - from: $(var params)
        - {name: stale_after_s, value: 4.5}
      remap:
        - {from: /diagnostics, to: /$(env LOBBY_BRANCH)/diagnostics}
      env:
        - {name: BRANCH, value: $(env LOBBY_BRANCH)}
  - node:
      if: $(var with_probe)
      pkg: lobby_bringup
      exec: interface_probe
""")
    description = load_launch(path, {"ns": "b7"})
    assert [n.name for n in description.nodes] == ["mon"]
    node = description.nodes[0]
    assert node.namespace == "/b7" and node.respawn and node.respawn_delay == 2.5
    assert node.params_files == [str(params)]
    assert node.env == {"BRANCH": "b7"}
    assert node.ros_args() == ["--ros-args", "-r", "__node:=mon", "-r", "__ns:=/b7",
                               "--params-file", str(params), "-p", "stale_after_s:=4.5",
                               "-r", "/diagnostics:=/b7/diagnostics"]
    command = node_command(node, "zmq")
    assert command[1:6] == ["-m", "lobbybot", "node", "run", "lobby_monitor"]
    assert load_launch(path, {"with_probe": "true"}).nodes[1].name == "interface_probe"


@pytest.mark.parametrize("body, problem", [
    ("launch:\n  - include: {file: x}\n", "unsupported launch action 'include'"),
    ("launch:\n  - node: {pkg: p}\n", "missing 'exec'"),
    ("launch:\n  - node: {pkg: p, exec: e, colour: red}\n", "unsupported key.*colour"),
    ("launch:\n  - node: {pkg: p, exec: e, name: $(var nope)}\n", r"\$\(var nope\) is not a"),
    ("launch:\n  - node: {pkg: p, exec: e, name: $(anon x)}\n", r"unsupported substitution"),
    ("launch:\n  - arg: {name: must}\n", "launch argument 'must' is required"),
    ("launch:\n  - node: {pkg: p, exec: e, respawn: maybe}\n", "'maybe' is not a boolean"),
    ("launch:\n  - node: {pkg: p, exec: e}\n  - node: {pkg: p, exec: e}\n", "used twice"),
    ("launch:\n  - node: {pkg: p, exec: e, param: [{from: /no/such.yaml}]}\n", "does not exist"),
    ("nodes: []\n", "expected a top-level 'launch:' list"),
])
def test_launch_errors_name_the_problem(tmp_path, body, problem):
    with pytest.raises(ConfigError, match=problem):
        load_launch(write(tmp_path, body))


def test_unknown_launch_argument_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown launch argument.*typo"):
        load_launch(write(tmp_path, "launch:\n  - arg: {name: a, default: x}\n"), {"typo": "1"})


def test_unknown_executable_is_refused(tmp_path):
    node = load_launch(write(tmp_path, "launch:\n  - node: {pkg: p, exec: ghost}\n")).nodes[0]
    with pytest.raises(ConfigError, match="executable 'ghost' of package 'p' not found"):
        node_command(node, "ros")
