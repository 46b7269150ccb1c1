"""Message contracts shared by every lobbybot component and transport.

Usage::

    from lobbybot.contracts import msg, srv, std
    ticket = msg.Ticket(number="A001", service="cash", priority=msg.Ticket.PRIORITY_NORMAL)
    request = srv.IssueTicket.Request(request_id="r1", service="cash")

``msg``/``srv`` hold ``lobby_interfaces``; ``std`` holds the standard ROS types we use.
See docs/contracts.md (generated from the .msg/.srv files) for every field.
"""

from .codec import MessageError, from_wire, to_wire, validate
from .types import Message, Registry, ServiceType, registry, type_name

__all__ = [
    "Message", "MessageError", "Registry", "ServiceType", "from_wire", "registry",
    "to_wire", "type_name", "validate",
]
