"""``lobby_interfaces`` services by short name: ``srv.IssueTicket.Request``, ..."""

from .types import registry


def __getattr__(name: str):
    try:
        return registry().service(f"lobby_interfaces/srv/{name}")
    except KeyError:
        raise AttributeError(name) from None


def __dir__() -> list[str]:
    return sorted(n.split("/")[-1] for n in registry().services)
