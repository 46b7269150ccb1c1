"""Transports: the same component code over in-process, ROS 2 (rclpy) and ZMQ.

``rclpy`` and ``zmq`` are imported only by the transport that needs them, so the kiosk runs
without ROS installed and unit tests run without either.
"""

from .base import (
    Client,
    Publisher,
    QoS,
    ServiceFailed,
    ServiceTimeout,
    ServiceUnavailable,
    Timer,
    Transport,
    TransportStats,
)

TRANSPORTS = ("ros", "zmq", "inproc")

__all__ = [
    "TRANSPORTS", "Client", "Publisher", "QoS", "ServiceFailed", "ServiceTimeout",
    "ServiceUnavailable", "Timer", "Transport", "TransportStats",
]
