"""ROS 2 transport: one rclpy node per component, Fast DDS underneath (the robot).

Names, remaps, namespaces and parameters are rclpy's own (from ``--ros-args``), so a node
behaves as any ROS 2 user expects. Component callbacks run in one mutually exclusive
callback group (one at a time, like the other transports); service clients use a second
group so a callback may make a blocking service call without deadlocking the executor.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from rclpy.signals import SignalHandlerOptions

from lobbybot.contracts import Message, ServiceType

from .base import (
    Client,
    Publisher,
    QoS,
    ServiceFailed,
    ServiceTimeout,
    ServiceUnavailable,
    Timer,
    Transport,
)
from .ros_convert import from_ros, ros_message_class, ros_service_for, to_ros

_QOS = {
    QoS.RELIABLE: QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                             history=HistoryPolicy.KEEP_LAST),
    QoS.SENSOR: qos_profile_sensor_data,
    QoS.LATCHED: QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                            durability=DurabilityPolicy.TRANSIENT_LOCAL,
                            history=HistoryPolicy.KEEP_LAST),
}

_init_lock = threading.Lock()


def init_ros(args: list[str] | None = None) -> None:
    """Initialise rclpy once per process. Signals are the node host's job, not rclpy's."""
    with _init_lock:
        if not rclpy.ok():
            rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)


class _RosPublisher(Publisher):
    def __init__(self, transport: RosTransport, topic, msg_type, qos: QoS):
        super().__init__(topic, msg_type, transport.stats)
        self._pub = transport.node.create_publisher(
            ros_message_class(msg_type.__msgtype__), topic, _QOS[qos])

    def _send(self, message: Message) -> None:
        self._pub.publish(to_ros(message))


class _RosTimer(Timer):
    def __init__(self, timer: Any):
        self._timer = timer

    def cancel(self) -> None:
        self._timer.cancel()


class _RosClient(Client):
    def __init__(self, transport: RosTransport, name: str, srv_type: ServiceType):
        super().__init__(name, srv_type)
        self._transport = transport
        self._client = transport.node.create_client(
            ros_service_for(srv_type), name, callback_group=transport.client_group)

    def wait_for_service(self, timeout_s: float) -> bool:
        return self._client.wait_for_service(timeout_sec=timeout_s)

    def _call(self, request: Message, timeout_s: float) -> Message:
        if not self._client.service_is_ready() and not self._client.wait_for_service(
                timeout_sec=min(timeout_s, 1.0)):
            raise ServiceUnavailable(f"no server for {self._client.srv_name}")
        future = self._client.call_async(to_ros(request))
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        if self._transport.spinning:
            finished = done.wait(timeout_s)
        else:
            rclpy.spin_until_future_complete(self._transport.node, future,
                                             executor=self._transport.executor,
                                             timeout_sec=timeout_s)
            finished = future.done()
        if not finished:
            self._client.remove_pending_request(future)
            raise ServiceTimeout(f"{self.name} did not answer within {timeout_s} s")
        if future.exception() is not None:
            raise ServiceFailed(f"{self.name}: {future.exception()}")
        response = from_ros(future.result(), self.srv_type.Response)
        error = getattr(response, "error", "")
        if error.startswith("server error:") or error.startswith("invalid request:"):
            raise ServiceFailed(f"{self.name}: {error}")
        return response


class RosTransport(Transport):
    kind = "ros"

    def __init__(self, node_name: str, namespace: str = "", ros_args: list[str] | None = None,
                 logger=None):
        init_ros(["lobbybot", "--ros-args", *ros_args] if ros_args else None)
        self.node = rclpy.create_node(node_name, namespace=namespace or None)
        super().__init__(self.node.get_name(), self.node.get_namespace(), logger)
        self.component_group = MutuallyExclusiveCallbackGroup()
        self.client_group = ReentrantCallbackGroup()
        self.executor = MultiThreadedExecutor(num_threads=2)
        self.executor.add_node(self.node)
        self.spinning = False

    def create_publisher(self, topic, msg_type, qos=QoS.RELIABLE):
        return _RosPublisher(self, topic, msg_type, qos)

    def create_subscription(self, topic, msg_type, callback, qos=QoS.RELIABLE):
        ros_cls = ros_message_class(msg_type.__msgtype__)
        resolved = self.node.resolve_topic_name(topic)

        def on_message(ros_msg: Any) -> None:
            try:
                message = from_ros(ros_msg, msg_type)
            except Exception as exc:  # noqa: BLE001 - e.g. a value our contract rejects
                self.reject("conversion", f"{type(exc).__name__}: {exc}", resolved)
                return
            self.deliver(resolved, msg_type, callback, message)

        self.node.create_subscription(ros_cls, topic, on_message, _QOS[qos],
                                      callback_group=self.component_group)

    def create_service(self, name, srv_type, handler):
        ros_srv = ros_service_for(srv_type)
        resolved = self.node.resolve_service_name(name)

        def on_request(ros_request: Any, ros_response: Any) -> Any:
            try:
                request = from_ros(ros_request, srv_type.Request)
                return to_ros(self.serve(resolved, srv_type, handler, request))
            except ServiceFailed as exc:
                # ROS 2 services have no error channel: report it in the response's
                # ``error`` field, which every lobby_interfaces response has.
                response = srv_type.Response()
                if hasattr(response, "error"):
                    response.error = str(exc).split(": ", 1)[-1]
                return to_ros(response)
            except Exception as exc:  # noqa: BLE001
                self.reject("conversion", f"{type(exc).__name__}: {exc}", resolved)
                return ros_response

        self.node.create_service(ros_srv, name, on_request, callback_group=self.component_group)

    def create_client(self, name, srv_type):
        return _RosClient(self, name, srv_type)

    def create_timer(self, period_s, callback):
        timer = self.node.create_timer(period_s, lambda: self.run_guarded("timer", callback),
                                       callback_group=self.component_group)
        return _RosTimer(timer)

    def now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds

    def spin(self, stop: threading.Event) -> None:
        self.spinning = True
        try:
            while not stop.is_set() and rclpy.ok():
                self.executor.spin_once(timeout_sec=0.05)
        finally:
            self.spinning = False

    def close(self) -> None:
        self.executor.remove_node(self.node)
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()


def shutdown_ros() -> None:
    with _init_lock:
        if rclpy.ok():
            rclpy.shutdown()
    time.sleep(0)  # let DDS threads notice
