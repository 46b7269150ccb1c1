"""interface_probe: echoes every contract so a transport can be proven end to end.

For every ``lobby_interfaces`` message (and ``sensor_msgs/Image`` for throughput) it
republishes what arrives on ``/lobbybot/probe/in/<type>`` to ``/lobbybot/probe/out/<type>``;
for every service it serves ``/lobbybot/probe/<service>``, answering the canonical sample
response when the request equals the canonical sample request. ``lobbybot probe`` and
``bench/transport.py`` drive it from another process. A diagnostic tool, like ROS's
demo_nodes; it carries no product logic.
"""

from __future__ import annotations

import re

from lobbybot.contracts import Message, registry, std
from lobbybot.contracts.samples import sample
from lobbybot.node.component import Component, Health, Node
from lobbybot.transport import QoS, ServiceFailed

PREFIX = "/lobbybot/probe"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def probed_messages() -> dict[str, type[Message]]:
    """Topic suffix → message type: every lobby_interfaces message plus Image."""
    types = {snake(c.__name__): c for n, c in registry().messages.items()
             if n.startswith("lobby_interfaces/msg/")}
    types["image"] = std.Image
    return types


def probed_services() -> dict[str, object]:
    return {snake(s.name.split("/")[-1]): s for s in registry().services.values()}


class InterfaceProbe(Component):
    NAME = "interface_probe"
    DESCRIPTION = ("Echoes every lobby_interfaces message and answers every service "
                   "(transport check).")

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        self.echoed = 0
        for suffix, msg_type in probed_messages().items():
            qos = QoS.SENSOR if msg_type is std.Image else QoS.RELIABLE
            out = node.publisher(f"{PREFIX}/out/{suffix}", msg_type, qos)
            node.subscribe(f"{PREFIX}/in/{suffix}", msg_type,
                           lambda m, out=out: self._echo(out, m), qos)
        for suffix, srv_type in probed_services().items():
            node.service(f"{PREFIX}/{suffix}", srv_type,
                         lambda req, srv_type=srv_type: self._answer(srv_type, req))

    def _echo(self, out, message: Message) -> None:
        out.publish(message)
        self.echoed += 1

    @staticmethod
    def _answer(srv_type, request: Message) -> Message:
        if request != sample(srv_type.Request):
            raise ServiceFailed("request differs from the probe sample (corrupted in transit?)")
        return sample(srv_type.Response)

    def health(self) -> Health:
        return Health(values={"echoed": self.echoed})
