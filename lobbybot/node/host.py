"""Run one component as one node process on a chosen transport.

``lobbybot node run EXEC --transport ros|zmq|inproc [--ros-args ...]`` ends up here: it
creates the transport, resolves parameters (rclpy's own on ROS, the same YAML elsewhere),
starts the heartbeat, spins until SIGINT/SIGTERM and shuts down cleanly (exit 0).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from lobbybot.launch.lifetime import stop_on_signals
from lobbybot.transport import Transport

from . import registry
from .component import Component, Node
from .heartbeat import Heartbeat
from .params import ConfigError, Param, ParamValue, RosArgs, load_parameters, parse_ros_args

HOST_PARAMETERS = (
    Param("heartbeat_period_s", 1.0, "Period of the /diagnostics heartbeat, seconds."),
)


def make_transport(kind: str, node_name: str, ros_args: list[str], args: RosArgs,
                   bus: Any = None) -> Transport:
    name = args.node_name or node_name
    if kind == "ros":
        from lobbybot.transport.ros import RosTransport
        return RosTransport(node_name, ros_args=ros_args)
    if kind == "zmq":
        from lobbybot.transport.zmq_transport import ZmqTransport
        return ZmqTransport(name, args.namespace, args.remaps)
    if kind == "inproc":
        from lobbybot.transport.inproc import InProcessBus, InProcessTransport
        return InProcessTransport(bus or InProcessBus(), name, args.namespace, args.remaps)
    raise ConfigError(f"unknown transport {kind!r}: use ros, zmq or inproc")


def declare_parameters(transport: Transport, specs: tuple[Param, ...],
                       args: RosArgs) -> dict[str, ParamValue]:
    """Resolve parameters (default < params files < ``-p``) and, on ROS, declare them.

    rcl alone would let a node-specific params-file entry beat a ``-p`` (which applies to
    ``/**``), so a launch file's ``{name, value}`` would lose to lobby.params.yaml: the
    value resolved here is declared with rclpy's override ignored, on every transport alike.
    """
    values = load_parameters(specs, transport.fully_qualified_name, args)
    if transport.kind != "ros":
        return values
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.exceptions import InvalidParameterTypeException

    for spec in specs:
        try:
            param = transport.node.declare_parameter(
                spec.name, values[spec.name], ParameterDescriptor(description=spec.description),
                ignore_override=True)
        except InvalidParameterTypeException as exc:
            raise ConfigError(f"parameter {spec.name!r}: {exc}") from None
        values[spec.name] = param.value
    return values


class NodeProcess:
    """One component on one transport, with heartbeat, ready to spin."""

    def __init__(self, component_cls: type[Component], transport: Transport, args: RosArgs):
        self.transport = transport
        params = declare_parameters(transport, HOST_PARAMETERS + component_cls.PARAMETERS, args)
        self.node = Node(transport, params,
                         logging.getLogger(f"lobbybot{transport.fully_qualified_name}"))
        self.node.logger.debug("parameters: %s", params)
        self.component = component_cls(self.node)
        self.heartbeat = Heartbeat(self.node, self.component, float(params["heartbeat_period_s"]))

    def spin(self, stop: threading.Event) -> None:
        self.transport.spin(stop)

    def close(self) -> None:
        try:
            self.component.close()
        finally:
            self.transport.close()


def run_node(executable: str, transport_kind: str, ros_args: list[str]) -> int:
    """Process entry point; returns the exit code."""
    log = logging.getLogger(f"lobbybot/{executable}")
    stop = threading.Event()
    stop_on_signals(stop, lambda sig: log.info("received %s, shutting down", sig.name))
    try:
        component_cls = registry.load(executable)
        args = parse_ros_args(ros_args)
        transport = make_transport(transport_kind, component_cls.NAME or executable,
                                   ros_args, args)
        process = NodeProcess(component_cls, transport, args)
    except (ConfigError, KeyError, TypeError, ValueError, OSError) as exc:
        log.error("cannot start %s: %s", executable, exc)
        return 2
    log.info("%s started on %s transport", transport.fully_qualified_name, transport_kind)
    try:
        process.spin(stop)
    finally:
        process.close()
        if transport_kind == "ros":
            from lobbybot.transport.ros import shutdown_ros
            shutdown_ros()
    log.info("%s stopped", transport.fully_qualified_name)
    return 0


def console_main() -> None:
    """Entry of the per-node executables installed by lobby_bringup (``ros2 run``/launch).

    The executable's file name is the node name; the transport is ROS 2 unless
    ``LOBBYBOT_TRANSPORT`` says otherwise.
    """
    import os
    import sys
    from pathlib import Path

    from lobbybot.logs import setup_logging

    setup_logging()
    argv = sys.argv[1:]
    ros_args = argv[argv.index("--ros-args"):] if "--ros-args" in argv else []
    raise SystemExit(run_node(Path(sys.argv[0]).name,
                              os.environ.get("LOBBYBOT_TRANSPORT", "ros"), ros_args))
