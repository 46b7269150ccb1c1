"""dialog node: transcripts and engaged faces in; things to say, intents and tickets out.

One conversation per engaged customer: a face that becomes engaged opens a session and is
greeted; final transcripts go to that session (or to a walk-up session when no face is
tracked, e.g. the kiosk); tickets come from the routing node's ``/lobby/issue_ticket``.
Every reply is a ``Say`` carrying the id of its template or FAQ entry. When the fraud
guard flags a conversation, a ``RiskAlert`` goes to staff on ``/lobby/alerts``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from lobbybot.contracts import msg, srv, std
from lobbybot.node.component import Component, Health, Node
from lobbybot.node.params import ConfigError, Param

from .intent.model import ModelMissing
from .issuers import ServiceIssuer
from .manager import Alert, AuditLog, DialogManager, Reply
from .nlu import NLU, Understanding


def _header(now_ns: int) -> std.Header:
    return std.Header(stamp=std.Time(sec=now_ns // 10**9, nanosec=now_ns % 10**9))


class DialogNode(Component):
    NAME = "dialog"
    DESCRIPTION = "Dialog manager: intents, confirmations, FAQ answers, tickets, hand-offs."
    PARAMETERS = (
        Param("audit_path", "", "Append the redacted audit log (JSON lines) here; '' = off."),
        Param("idle_reset_s", 120.0, "Forget a conversation after this long without a word."),
        Param("greet_language", "zh", "Language of the greeting before the customer speaks."),
        Param("routing_timeout_s", 3.0, "How long to wait for a ticket from routing."),
        Param("reacquire_s", 3.0, "A face lost this briefly and found again (vision keeps "
                                  "its id) continues the same conversation."),
    )

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        try:
            nlu = NLU()
        except ModelMissing as exc:
            raise ConfigError(str(exc)) from None
        audit = str(node.params["audit_path"])
        issuer = ServiceIssuer(node.client("/lobby/issue_ticket", srv.IssueTicket),
                               float(node.params["routing_timeout_s"]))
        self.dm = DialogManager(nlu, issuer, audit=AuditLog(Path(audit) if audit else None),
                                idle_reset_s=float(node.params["idle_reset_s"]),
                                clock=lambda: node.now_ns() / 1e9,  # simulated time too
                                on_alert=self._publish_alert)
        self.greet_language = str(node.params["greet_language"])
        self._say = node.publisher("/speech/say", msg.Say)
        self._intent = node.publisher("/dialog/intent", msg.Intent)
        self._alerts = node.publisher("/lobby/alerts", msg.RiskAlert)
        self.alerts = 0
        node.subscribe("/speech/transcript", msg.Transcript, self.on_transcript)
        node.subscribe("/humans/faces/tracked_faces", msg.TrackedFaceArray, self.on_faces)
        node.subscribe("/speech/tts_status", msg.TtsStatus, self.on_tts_status)
        node.timer(5.0, self.dm.expire_idle)
        node.timer(0.5, self._forget_lost)
        self._engaged: set[str] = set()
        self._active = ""  # the session transcripts go to
        self._lost_at: float | None = None  # when the active face was last lost
        self.reacquire_s = float(node.params["reacquire_s"])
        self._speaking: str = ""  # say_id being spoken
        self._says = itertools.count(1)
        self._walkups = itertools.count(1)
        self.barge_ins = 0
        self.handoffs = 0

    def on_faces(self, faces: msg.TrackedFaceArray) -> None:
        """Greet a newly engaged face; keep the conversation through a brief loss.

        The vision node keeps a face's id when it loses it for a moment and finds it again
        (it compares appearance, see vision/reid.py), so the same id back within
        ``reacquire_s`` continues the conversation, and any other id is a new customer.
        """
        now = self.node.now_ns() / 1e9
        engaged = {f.id for f in faces.faces if f.engaged}
        active_face = self._active[5:] if self._active.startswith("face-") else ""
        if active_face in engaged:
            self._lost_at = None  # still here, or back
        elif active_face and self._lost_at is None:
            self._lost_at = now
        for face_id in sorted(engaged - self._engaged - {active_face}):
            session = f"face-{face_id}"
            if self._lost_at is not None:
                self.dm.sessions.pop(self._active, None)  # the previous customer has gone
            self._active, self._lost_at = session, None
            self._publish(self.dm.on_engaged(session, self.greet_language), session)
        self._engaged = engaged
        self._forget_lost(now)

    def _forget_lost(self, now: float | None = None) -> None:
        now = self.node.now_ns() / 1e9 if now is None else now
        if self._lost_at is not None and now - self._lost_at > self.reacquire_s:
            self.dm.sessions.pop(self._active, None)  # the customer walked away
            self._active, self._lost_at = "", None

    def on_transcript(self, transcript: msg.Transcript) -> None:
        if not transcript.is_final or not transcript.text.strip():
            return
        if self._speaking:
            self.barge_ins += 1  # answered now, not queued behind the reply being spoken
            self.node.logger.info("barge-in during %s", self._speaking)
        if not self._active:
            self._active = f"walkup-{next(self._walkups)}"
        reply = self.dm.on_utterance(self._active, transcript.text)
        understanding = self.dm.last_understanding
        if understanding is not None:
            self._publish_intent(understanding, transcript.utterance_id, self._active)
        self._publish(reply, self._active)

    def on_tts_status(self, status: msg.TtsStatus) -> None:
        if status.state == msg.TtsStatus.STATE_SPEAKING:
            self._speaking = status.say_id
        elif status.say_id == self._speaking:
            self._speaking = ""

    def _publish(self, reply: Reply, session: str) -> None:
        if reply.handoff:
            self.handoffs += 1
        self._say.publish(msg.Say(
            header=_header(self.node.now_ns()), say_id=f"{self.node.name}-{next(self._says)}",
            session_id=session, text=reply.text, language=reply.language,
            interruptible=reply.interruptible, reply_id=reply.reply_id))

    def _publish_intent(self, u: Understanding, utterance_id: str, session: str) -> None:
        self._intent.publish(msg.Intent(
            header=_header(self.node.now_ns()), utterance_id=utterance_id, session_id=session,
            label=u.intent, confidence=float(u.confidence), language=u.language,
            slots=[msg.Slot(name=s.name, value=s.value, normalized=s.normalized)
                   for s in u.slots]))

    def _publish_alert(self, alert: Alert) -> None:
        self.alerts += 1
        self.node.logger.warning("fraud risk %s in %s: %s", alert.level, alert.session_id,
                                 ", ".join(alert.reasons))
        self._alerts.publish(risk_alert_msg(alert, self.node.now_ns()))

    def health(self) -> Health:
        return Health(values={"sessions": len(self.dm.sessions), "barge_ins": self.barge_ins,
                              "handoffs": self.handoffs, "risk_alerts": self.alerts})


def risk_alert_msg(alert: Alert, now_ns: int) -> msg.RiskAlert:
    level = msg.RiskAlert.LEVEL_HIGH if alert.level == "high" else msg.RiskAlert.LEVEL_CAUTION
    return msg.RiskAlert(header=_header(now_ns), alert_id=alert.alert_id,
                         session_id=alert.session_id, level=level,
                         reasons=list(alert.reasons[:8]), score=float(alert.score),
                         excerpt=alert.excerpt[:500], language=alert.language,
                         ticket_number=alert.ticket_number)
