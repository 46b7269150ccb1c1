"""What the kiosk's web pages ask of the lobby: conversations, tickets, teller actions, board.

Transport-free apart from the :class:`~lobbybot.node.component.Node` it is given: the
conversation runs in this process (the dialog manager), tickets come from the routing node's
services, the board from ``/lobby/board``. Whether routing is reachable is judged from the
board it publishes every second: no board for ``unavailable_after_s`` means "temporarily
unavailable", and the pages are told at once (and again when it returns). Fraud alerts
(this kiosk's conversations and any other node's, from ``/lobby/alerts``) go to staff
listeners only: the customer pages never receive them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from dialog.manager import Alert, DialogManager, Reply, TicketResult
from dialog.node import risk_alert_msg
from lobbybot.contracts import msg, srv
from lobbybot.node.component import Node
from lobbybot.transport import ServiceFailed, ServiceUnavailable
from routing.config import BranchConfig

Listener = Callable[[str, dict[str, Any]], None]
TELLER_ACTIONS = ("recall", "serve", "done", "no_show")
STATES = ("waiting", "called", "serving", "done", "no_show", "transferred")
LANGUAGES = ("zh", "en")
ALERTS_KEPT = 50  # recent alerts a staff page gets when it opens
ALERT_LEVELS = {1: "caution", 2: "high"}


class KioskError(ValueError):
    """A request the kiosk refuses (unknown service, empty text, ...): HTTP 400."""


class KioskBackend:
    def __init__(self, node: Node, config: BranchConfig, dm: DialogManager,
                 routing_timeout_s: float = 3.0, unavailable_after_s: float = 2.5,
                 clock: Callable[[], float] = time.monotonic,
                 transcriber: Callable[[Any, str], str] | None = None):
        self.node = node
        self.transcriber = transcriber  # (16 kHz audio, conversation language) -> text
        self.config = config
        self.dm = dm
        self.routing_timeout_s = routing_timeout_s
        self.unavailable_after_s = unavailable_after_s
        self.clock = clock
        self._call_next = node.client("/lobby/call_next", srv.CallNext)
        self._action = node.client("/lobby/ticket_action", srv.TicketAction)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._staff_listeners: list[Listener] = []
        self._alerts: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._board: dict[str, Any] = {"now_calling": [], "waiting": []}
        self._board_at: float | None = None
        self._available = False
        node.subscribe("/lobby/board", msg.BoardState, self._on_board)
        self._alert_pub = node.publisher("/lobby/alerts", msg.RiskAlert)
        node.subscribe("/lobby/alerts", msg.RiskAlert, self._on_alert_msg)
        dm.on_alert = self.raise_alert
        node.timer(0.25, self.check_routing)

    # -- listeners (the web server's event streams) ----------------------------------------
    def add_listener(self, listener: Listener, staff: bool = False) -> None:
        """``staff`` listeners also receive fraud alerts."""
        with self._lock:
            (self._staff_listeners if staff else self._listeners).append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            for group in (self._listeners, self._staff_listeners):
                if listener in group:
                    group.remove(listener)

    def _emit(self, kind: str, payload: dict[str, Any], staff_only: bool = False) -> None:
        with self._lock:
            listeners = list(self._staff_listeners) + ([] if staff_only else self._listeners)
        for listener in listeners:
            listener(kind, payload)

    # -- fraud alerts (staff only) ---------------------------------------------------------
    def raise_alert(self, alert: Alert) -> None:
        """An alert from this kiosk's conversations: to staff here and on /lobby/alerts."""
        self.node.logger.warning("fraud risk %s in %s: %s", alert.level, alert.session_id,
                                 ", ".join(alert.reasons))
        self._alert_pub.publish(risk_alert_msg(alert, self.node.now_ns()))
        self._add_alert(alert.as_json())

    def _on_alert_msg(self, alert: msg.RiskAlert) -> None:
        self._add_alert({
            "alert_id": alert.alert_id, "session": alert.session_id,
            "level": ALERT_LEVELS.get(alert.level, "caution"), "reasons": list(alert.reasons),
            "score": round(float(alert.score), 3), "excerpt": alert.excerpt,
            "language": alert.language, "ticket": alert.ticket_number,
            "at": alert.header.stamp.sec + alert.header.stamp.nanosec / 1e9})

    def _add_alert(self, alert: dict[str, Any]) -> None:
        with self._lock:
            if alert["alert_id"] in self._alerts:  # ours, back from the bus
                return
            self._alerts[alert["alert_id"]] = alert
            while len(self._alerts) > ALERTS_KEPT:
                self._alerts.popitem(last=False)
        self._emit("alert", alert, staff_only=True)

    def alerts(self) -> list[dict[str, Any]]:
        """Recent alerts, newest first."""
        with self._lock:
            return list(reversed(self._alerts.values()))

    # -- routing state ---------------------------------------------------------------------
    def _on_board(self, board: msg.BoardState) -> None:
        names = {c.id: c.name for c in self.config.counters.values()}
        names.update({m.id: m.name for m in self.config.machines.values()})
        services = self.config.services
        snapshot = {
            "now_calling": [{
                "ticket": c.ticket_number, "counter": c.counter_id,
                "counter_name": _text(names.get(c.counter_id), c.counter_name),
                "service": c.service, "call_count": int(c.call_count)} for c in board.now_calling],
            "waiting": [{
                "service": q.service, "name": _text(services[q.service].name if q.service in
                                                    services else None, q.service),
                "count": int(q.waiting), "next": list(q.next_numbers)} for q in board.waiting],
        }
        with self._lock:
            self._board, self._board_at = snapshot, self.clock()
        self.check_routing()
        self._emit("board", snapshot)

    def check_routing(self) -> None:
        """Periodic: routing is up while its board keeps coming; tell the pages on change."""
        with self._lock:
            available = self._board_at is not None and \
                self.clock() - self._board_at <= self.unavailable_after_s
            changed = available != self._available
            self._available = available
        if changed:
            self.node.logger.info("routing %s", "available" if available else "unavailable")
            self._emit("status", self.status())

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"routing": self._available}

    def board(self) -> dict[str, Any]:
        with self._lock:
            return self._board

    def settings(self) -> dict[str, Any]:
        """What the pages need to draw themselves: branch name, services, counters."""
        c = self.config
        return {
            "branch": {"zh": c.name.zh, "en": c.name.en},
            "services": [{"id": s.id, "prefix": s.prefix, "name": {"zh": s.name.zh,
                                                                    "en": s.name.en}}
                         for s in c.services.values()],
            "counters": [{"id": k.id, "name": {"zh": k.name.zh, "en": k.name.en},
                          "services": list(k.services)} for k in c.counters.values()],
            "idle_reset_s": self.dm.idle_reset_s,
            "speech_input": self.transcriber is not None,
        }

    # -- conversation ----------------------------------------------------------------------
    def start(self, language: str) -> dict[str, Any]:
        """A new customer at the kiosk: a fresh session (globally unique) and the greeting."""
        _check_language(language)
        session = f"kiosk-{uuid.uuid4().hex}"
        return {"session": session, **self._reply_json(self.dm.on_engaged(session, language))}

    def say(self, session: str, text: str) -> dict[str, Any]:
        _check_session(session)
        text = text.strip()
        if not text:
            raise KioskError("text is empty")
        if len(text) > 500:
            raise KioskError("text longer than 500 characters")
        reply = self.dm.on_utterance(session, text)
        u = self.dm.last_understanding
        return {**self._reply_json(reply), "understood": {
            "intent": u.intent, "confidence": round(float(u.confidence), 3)} if u else None}

    def hear(self, session: str, audio: bytes) -> dict[str, Any]:
        """Push-to-talk: a recording from the page (WAV), transcribed here, then answered
        like typed text. The audio stays in memory."""
        _check_session(session)
        if self.transcriber is None:
            raise KioskError("speech input is not available on this kiosk")
        from speech.audio import AudioError, load_audio

        try:
            samples = load_audio(audio)
        except AudioError as exc:
            raise KioskError(f"recording: {exc}") from None
        session_state = self.dm.sessions.get(session)
        heard = self.transcriber(samples, session_state.language if session_state else "")
        if not heard:
            return {"heard": "", "reply_id": "", "text": "", "language": "", "ticket": None,
                    "handoff": False, "unavailable": False}
        return {"heard": heard, **self.say(session, heard)}

    def choose(self, session: str, service: str, language: str,
               request_id: str) -> dict[str, Any]:
        """A tapped service button. The page sends the same ``request_id`` when it retries."""
        _check_session(session)
        _check_language(language)
        if service not in self.config.services:
            raise KioskError(f"unknown service {service!r}")
        if not request_id or len(request_id) > 100:
            raise KioskError("request_id must be 1..100 characters")
        return self._reply_json(self.dm.on_service_chosen(session, service, language,
                                                          request_id))

    def _reply_json(self, reply: Reply) -> dict[str, Any]:
        result = reply.ticket
        return {"reply_id": reply.reply_id, "text": reply.text, "language": reply.language,
                "handoff": reply.handoff, "unavailable": bool(result and result.unavailable),
                "ticket": self._ticket_json(result, reply.language)
                if result and result.ok else None}

    def _ticket_json(self, result: TicketResult, language: str) -> dict[str, Any]:
        place = self.config.counters.get(result.destination) or \
            self.config.machines.get(result.destination)
        service = result.service or ""
        return {"number": result.number, "service": service,
                "service_name": _text(self.config.services[service].name, service)
                if service in self.config.services else service,
                "destination": result.destination,
                "destination_name": place.name(language) if place else result.destination,
                "eta_s": round(result.eta_s, 1), "eta_min": max(1, round(result.eta_s / 60)),
                "directions": result.directions}

    # -- teller ----------------------------------------------------------------------------
    def teller(self, action: str, counter: str = "", ticket: str = "") -> dict[str, Any]:
        """Call next / recall / serve / done / no-show, as the routing node's services."""
        try:
            if action == "call_next":
                if counter not in self.config.counters:
                    raise KioskError(f"unknown counter {counter!r}")
                r = self._call_next.call(srv.CallNext.Request(counter_id=counter),
                                         self.routing_timeout_s)
                if r.error:
                    return {"ok": False, "error": r.error}
                if not r.found:
                    return {"ok": False, "error": f"nobody waiting for {counter}"}
                return {"ok": True, "ticket": _ticket_msg_json(r.ticket)}
            if action not in TELLER_ACTIONS:
                raise KioskError(f"unknown action {action!r}")
            if not ticket:
                raise KioskError("ticket number missing")
            r = self._action.call(srv.TicketAction.Request(action=action, ticket_number=ticket),
                                  self.routing_timeout_s)
        except (ServiceUnavailable, ServiceFailed) as exc:
            return {"ok": False, "unavailable": True, "error": f"routing unavailable: {exc}"}
        return {"ok": r.ok, "error": r.error,
                "ticket": _ticket_msg_json(r.ticket) if r.ok else None}


def _ticket_msg_json(ticket: msg.Ticket) -> dict[str, Any]:
    """A ticket for the teller page (staff): with the fraud guard's flag."""
    return {"number": ticket.number, "service": ticket.service, "counter": ticket.counter_id,
            "state": STATES[ticket.state] if ticket.state < len(STATES) else str(ticket.state),
            "risk": ("none", "caution", "high")[min(ticket.risk_level, 2)]}


def _text(text: Any, fallback: str) -> dict[str, str]:
    if text is None:
        return {"zh": fallback, "en": fallback}
    return {"zh": text.zh, "en": text.en}


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise KioskError(f"language must be one of {', '.join(LANGUAGES)}")


def _check_session(session: str) -> None:
    if not session.startswith("kiosk-") or len(session) > 64:
        raise KioskError("unknown session: start one first")


__all__ = ["KioskBackend", "KioskError"]
