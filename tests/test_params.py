"""Parameters: the same ROS params YAML and --ros-args configure a node on every transport."""

from __future__ import annotations

import pytest

from lobbybot.node.params import ConfigError, Param, load_parameters, parse_ros_args

SPECS = (Param("stale_after_s", 3.0, ""), Param("label", "x", ""), Param("retries", 2, ""),
         Param("enabled", True, ""))


def test_ros_args_are_parsed():
    args = parse_ros_args(["--ros-args", "-r", "__node:=mon", "-r", "__ns:=/b1", "-r",
                           "/diagnostics:=/d2", "-p", "retries:=5", "--params-file", "f.yaml",
                           "--log-level", "debug"])
    assert (args.node_name, args.namespace) == ("mon", "/b1")
    assert args.remaps == {"/diagnostics": "/d2"}
    assert args.overrides == {"retries": 5}
    assert [str(p) for p in args.params_files] == ["f.yaml"]


def test_precedence_default_then_files_then_overrides(tmp_path):
    common = tmp_path / "common.yaml"
    common.write_text("/**:\n  ros__parameters:\n    stale_after_s: 5\n    label: all\n"
                      "other_node:\n  ros__parameters:\n    label: other\n")
    mine = tmp_path / "mine.yaml"
    mine.write_text("/b1/mon:\n  ros__parameters:\n    label: mine\n    unknown: 1\n")
    args = parse_ros_args(["--ros-args", "--params-file", str(common), "--params-file",
                           str(mine), "-p", "enabled:=false"])
    values = load_parameters(SPECS, "/b1/mon", args)
    assert values == {"stale_after_s": 5.0, "label": "mine", "retries": 2, "enabled": False}


@pytest.mark.parametrize("content, problem", [
    ("mon:\n  ros__parameters:\n    retries: many\n", "parameter 'retries'.*must be int"),
    ("mon:\n  ros__parameters:\n    enabled: 1\n", "parameter 'enabled'.*must be bool"),
    ("mon: [1, 2]\n", "needs a 'ros__parameters' mapping"),
    ("mon: {ros__parameters: {", "not valid YAML"),
])
def test_bad_params_files_give_clear_errors(tmp_path, content, problem):
    path = tmp_path / "p.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=problem):
        load_parameters(SPECS, "/mon", parse_ros_args(["--ros-args", "--params-file", str(path)]))


def test_node_keys_follow_ros_rules(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("mon:\n  ros__parameters: {retries: 1}\n"
                    "/**/mon:\n  ros__parameters: {label: any-ns}\n"
                    "/b1/mon:\n  ros__parameters: {retries: 3}\n")
    args = parse_ros_args(["--ros-args", "--params-file", str(path)])
    assert load_parameters(SPECS, "/b1/mon", args)["retries"] == 3
    assert load_parameters(SPECS, "/b2/mon", args)["retries"] == 2  # "mon" means "/mon"
    assert load_parameters(SPECS, "/b2/mon", args)["label"] == "any-ns"
    assert load_parameters(SPECS, "/mon", args)["retries"] == 1


def test_missing_params_file_is_named(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="cannot read params file .*nope.yaml"):
        load_parameters(SPECS, "/mon", parse_ros_args(["--ros-args", "--params-file",
                                                        str(missing)]))
