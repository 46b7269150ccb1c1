"""The component base class and the node handle a component is given.

A component is the transport-free logic of one node (a face tracker, the dialog manager,
...). It declares its parameters and, in ``__init__``, wires publishers, subscriptions,
services and timers on the :class:`Node` it receives. It never imports rclpy or zmq.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lobbybot.contracts import Message, ServiceType
from lobbybot.transport import Client, Publisher, QoS, Timer, Transport

from .params import Param, ParamValue

OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels


@dataclass
class Health:
    """What a component reports in its heartbeat."""

    level: int = OK
    message: str = "ok"
    values: dict[str, Any] = field(default_factory=dict)


class Node:
    """A component's handle on its transport, parameters, logger and clock."""

    def __init__(self, transport: Transport, params: dict[str, ParamValue],
                 logger: logging.Logger | None = None):
        self.transport = transport
        self.params = params
        self.logger = logger or transport.logger

    @property
    def name(self) -> str:
        return self.transport.node_name

    @property
    def fully_qualified_name(self) -> str:
        return self.transport.fully_qualified_name

    def publisher(self, topic: str, msg_type: type[Message], qos: QoS = QoS.RELIABLE) -> Publisher:
        return self.transport.create_publisher(topic, msg_type, qos)

    def subscribe(self, topic: str, msg_type: type[Message], callback: Callable[[Any], None],
                  qos: QoS = QoS.RELIABLE) -> None:
        self.transport.create_subscription(topic, msg_type, callback, qos)

    def service(self, name: str, srv_type: ServiceType,
                handler: Callable[[Any], Message]) -> None:
        self.transport.create_service(name, srv_type, handler)

    def client(self, name: str, srv_type: ServiceType) -> Client:
        return self.transport.create_client(name, srv_type)

    def timer(self, period_s: float, callback: Callable[[], None]) -> Timer:
        return self.transport.create_timer(period_s, callback)

    def now_ns(self) -> int:
        return self.transport.now_ns()


class Component:
    """Base class of every lobbybot node's logic."""

    NAME: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    PARAMETERS: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, node: Node) -> None:
        self.node = node

    def health(self) -> Health:
        """Override to report degraded states (camera lost, model missing, ...)."""
        return Health()

    def close(self) -> None:
        """Release devices and flush state; called once on shutdown."""
