"""The lobbybot command: help everywhere, JSON where promised, clear errors on bad input."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

SUBCOMMANDS = [["doctor"], ["launch"], ["node"], ["node", "run"], ["node", "list"], ["bus"],
               ["probe"], ["interfaces"], ["interfaces", "show"], ["topic"], ["topic", "echo"],
               ["topic", "pub"]]


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert "usage: lobbybot" in result.stdout


def test_doctor_json_reports_every_dependency_with_a_fix():
    result = run_cli("doctor", "--json")
    report = json.loads(result.stdout)
    names = {check["name"] for check in report["checks"]}
    assert {"pyzmq", "rclpy (ROS 2 Jazzy)", "lobby_interfaces (built)", "espeak-ng"} <= names
    for check in report["checks"]:
        assert check["present"] or check["fix"], check
    assert result.returncode == (0 if report["ok"] else 1)


def test_interfaces_list_and_show():
    listed = run_cli("interfaces", "list").stdout.split()
    assert "lobby_interfaces/msg/TrackedFaceArray" in listed
    assert "lobby_interfaces/srv/IssueTicket" in listed
    shown = run_cli("interfaces", "show", "lobby_interfaces/Ticket").stdout
    assert "PRIORITY_VIP=4" in shown and "float32 eta_s" in shown
    missing = run_cli("interfaces", "show", "lobby_interfaces/Nope")
    assert missing.returncode == 2 and "unknown message type" in missing.stderr


def test_bad_launch_file_is_reported_not_a_traceback(tmp_path):
    path = tmp_path / "bad.launch.yaml"
    path.write_text("launch:\n  - node: {pkg: lobby_bringup}\n")
    result = run_cli("launch", str(path), "--transport", "zmq")
    assert result.returncode == 2
    assert "missing 'exec'" in result.stderr and "Traceback" not in result.stderr


def test_unknown_node_and_bad_params_fail_clearly(tmp_path):
    result = run_cli("node", "run", "no_such_node", "--transport", "zmq")
    assert result.returncode == 2
    assert "no lobbybot node named 'no_such_node'" in result.stderr
    params = tmp_path / "p.yaml"
    params.write_text("lobby_monitor:\n  ros__parameters:\n    stale_after_s: soon\n")
    result = run_cli("node", "run", "lobby_monitor", "--transport", "zmq", "--ros-args",
                     "--params-file", str(params))
    assert result.returncode == 2
    assert "parameter 'stale_after_s'" in result.stderr and "must be float" in result.stderr


def test_topic_pub_rejects_malformed_json():
    result = run_cli("topic", "pub", "/lobby/tickets", "lobby_interfaces/msg/Ticket",
                     '{"number": 3}', "--transport", "zmq")
    assert result.returncode == 2
    assert "number: expected string" in result.stderr
