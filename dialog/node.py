"""dialog node: transcripts and engaged faces in; things to say, intents and tickets out.

One conversation per engaged customer: a face that becomes engaged opens a session and is
greeted; final transcripts go to that session (or to a walk-up session when no face is
tracked, e.g. the kiosk); tickets come from the routing node's ``/lobby/issue_ticket``.
Every reply is a ``Say`` carrying the id of its template or FAQ entry.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from lobbybot.contracts import msg, srv, std
from lobbybot.node.component import Component, Health, Node
from lobbybot.node.params import ConfigError, Param

from .intent.model import ModelMissing
from .issuers import ServiceIssuer
from .manager import AuditLog, DialogManager, Reply
from .nlu import NLU, Understanding


def _box(face: msg.TrackedFace) -> tuple[float, float, float, float]:
    return (face.bbox.x_offset, face.bbox.y_offset, face.bbox.width, face.bbox.height)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box (a face seen again a bit nearer still overlaps)."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return iw * ih / smaller if smaller > 0 else 0.0


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
        Param("reacquire_s", 3.0, "A face lost this briefly and found again (new track id) "
                                  "continues the same conversation."),
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
                                clock=lambda: node.now_ns() / 1e9)  # simulated time too
        self.greet_language = str(node.params["greet_language"])
        self._say = node.publisher("/speech/say", msg.Say)
        self._intent = node.publisher("/dialog/intent", msg.Intent)
        node.subscribe("/speech/transcript", msg.Transcript, self.on_transcript)
        node.subscribe("/humans/faces/tracked_faces", msg.TrackedFaceArray, self.on_faces)
        node.subscribe("/speech/tts_status", msg.TtsStatus, self.on_tts_status)
        node.timer(5.0, self.dm.expire_idle)
        node.timer(0.5, self._forget_lost)
        self._engaged: set[str] = set()
        self._active = ""  # the session transcripts go to
        self._lost_at: float | None = None  # when the active face was last lost
        self._active_box = (0.0, 0.0, 0.0, 0.0)  # where the active face was last seen
        self.reacquire_s = float(node.params["reacquire_s"])
        self._speaking: str = ""  # say_id being spoken
        self._says = itertools.count(1)
        self._walkups = itertools.count(1)
        self.barge_ins = 0
        self.handoffs = 0

    def on_faces(self, faces: msg.TrackedFaceArray) -> None:
        """Greet a newly engaged face; keep the conversation through a brief loss.

        A tracker can lose a face for a moment (someone walks past, a missed detection) and
        find it again under a new id. A face that engages within ``reacquire_s`` of the
        active one vanishing, where that face was, while the robot waits for an answer,
        continues that conversation; anyone else is a new customer and is greeted.
        """
        now = self.node.now_ns() / 1e9
        engaged = {f.id: f for f in faces.faces if f.engaged}
        active_face = self._active[5:] if self._active.startswith("face-") else ""
        if active_face in engaged:
            self._active_box = _box(engaged[active_face])
        elif active_face and self._lost_at is None:
            self._lost_at = now
        for face_id in sorted(set(engaged) - self._engaged):
            session = f"face-{face_id}"
            if self._lost_at is not None and now - self._lost_at <= self.reacquire_s \
                    and _overlap(self._active_box, _box(engaged[face_id])) >= 0.3 \
                    and self.dm.awaiting_answer(self._active):
                self.dm.rename_session(self._active, session)  # the same customer, new id
                self._active, self._lost_at = session, None
                continue
            if self._lost_at is not None:
                self.dm.sessions.pop(self._active, None)  # the previous customer has gone
            self._active, self._lost_at = session, None
            self._active_box = _box(engaged[face_id])
            self._publish(self.dm.on_engaged(session, self.greet_language), session)
        self._engaged = set(engaged)
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

    def health(self) -> Health:
        return Health(values={"sessions": len(self.dm.sessions), "barge_ins": self.barge_ins,
                              "handoffs": self.handoffs})
