"""``lobby_interfaces`` message classes by short name: ``msg.Ticket``, ``msg.Intent``, ..."""

from .types import registry


def __getattr__(name: str):
    try:
        return registry().message(f"lobby_interfaces/msg/{name}")
    except KeyError:
        raise AttributeError(name) from None


def __dir__() -> list[str]:
    return sorted(n.split("/")[-1] for n in registry().messages if "/msg/" in n
                  and n.startswith("lobby_interfaces/"))
