"""The dialog manager: one session per customer, replies only from approved content.

Turn logic (per session): greet when a customer engages; understand each utterance (intent +
slots); for a request that leads to a ticket, confirm first ("您是要挂失银行卡，对吗？"),
then ask routing for a ticket and say number, place and wait; answer questions from the FAQ
(the entry id is the reply id); on low confidence ask to rephrase, and on the second unclear
utterance in a row offer a human; complaints and requests for staff go to a human; say
goodbye; forget the session after it has been idle. The reply follows the customer's
language. The fraud guard scores every utterance and the conversation so far: on a scam
pattern the robot says a calm approved warning instead of confirming, alerts the lobby
manager (``on_alert``, once per level a session reaches) and flags any ticket of the
session; money is not moved on the robot's word while the manager is on the way. A new
utterance always gets an answer at once, even while the robot is still
speaking (barge-in): nothing is queued behind the old reply.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from lobbybot.redact import redact

from .answers import bare_answer
from .content import Content
from .fraud.guard import LEVELS, MONEY_INTENTS, NO_RISK, Risk, SessionRisk
from .nlu import NLU, Understanding

# shared/intents.md: the service each intent leads to ("—": no ticket).
INTENT_SERVICE = {
    "open_account": "personal", "close_account": "personal", "cash_deposit": "cash",
    "cash_withdrawal": "cash", "transfer": "cash", "foreign_exchange": "forex",
    "card_lost": "personal", "card_replacement": "personal", "pin_reset": "personal",
    "account_inquiry": "self_service", "update_info": "personal", "loan": "loans",
    "credit_card": "loans", "wealth_management": "wealth", "bill_payment": "self_service",
    "online_banking": "self_service", "business_banking": "business",
}
FAQ_SIMILARITY = 0.75  # nearly one of an entry's questions: answer it whatever the intent
FAQ_SIMILARITY_INFO = 0.3  # for branch_info intents a looser match is enough
# Calibrated confidence below which the robot asks again rather than act on a guess:
# less likely right than wrong.
CLARIFY_BELOW = 0.5
BARE_ANSWER_BELOW = 0.8  # the same for a yes/no that answers no question
IDLE_RESET_S = 120.0
# Scam patterns whose warning names the authorities that never ask for money by phone.
AUTHORITY_REASONS = frozenset({"safe_account", "impersonation", "secrecy", "on_phone",
                               "remote_app"})
EXCERPT_TURNS = 3  # the customer's last turns an alert quotes (redacted)


def counter_confidence(u: Understanding) -> float:
    """How sure the model is of what to do: for a request that a counter serves, the
    probability of every intent among its top readings served by the same counter. "我的卡被吞了"
    split 0.49 / 0.48 between card_replacement and card_lost is unsure which, but sure the
    customer belongs at the personal counter; the confirmation question checks the rest."""
    service = INTENT_SERVICE.get(u.intent)
    if service is None:
        return u.confidence
    return max(u.confidence, sum(p for label, p in u.top if INTENT_SERVICE.get(label) == service))


@dataclass
class TicketResult:
    ok: bool
    number: str = ""  # empty: sent to a self-service machine
    destination: str = ""
    eta_s: float = 0.0
    directions: str = ""
    error: str = ""
    unavailable: bool = False
    service: str = ""


class TicketIssuer(Protocol):
    def __call__(self, request_id: str, service: str, language: str, amount: float,
                 session_id: str, risk_level: int = 0) -> TicketResult: ...


@dataclass(frozen=True)
class Alert:
    """For staff only: a conversation the fraud guard flagged (RiskAlert on the wire)."""

    alert_id: str
    session_id: str
    level: str  # caution | high
    reasons: tuple[str, ...]
    score: float
    excerpt: str  # the customer's last words, redacted
    language: str
    ticket_number: str
    at: float  # the manager's clock (simulated time in the simulator)

    def as_json(self) -> dict:
        return {"alert_id": self.alert_id, "session": self.session_id, "level": self.level,
                "reasons": list(self.reasons), "score": round(self.score, 3),
                "excerpt": self.excerpt, "language": self.language,
                "ticket": self.ticket_number, "at": self.at}


@dataclass
class Reply:
    reply_id: str
    text: str
    language: str
    interruptible: bool = True
    intent: str = ""
    ticket: TicketResult | None = None
    handoff: bool = False  # a member of staff is needed


@dataclass
class Session:
    id: str
    language: str = "zh"
    pending: Understanding | None = None  # awaiting confirmation
    unclear: int = 0
    ticket: TicketResult | None = None
    ticket_at: float = 0.0
    turns: int = 0
    last_active: float = field(default_factory=time.monotonic)
    last_reply: str = ""  # reply id of the robot's last answer
    risk: SessionRisk | None = None  # the fraud guard's evidence so far
    risk_now: Risk = NO_RISK
    alerted: str = "none"  # highest level staff were alerted at
    warned: str = "none"  # highest level the customer was warned at
    heard: deque = field(default_factory=lambda: deque(maxlen=EXCERPT_TURNS))  # redacted


class AuditLog:
    """Append-only JSON lines: what was said (redacted) and which approved reply answered."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, session: Session, heard: str, understanding: Understanding | None,
              reply: Reply) -> None:
        if self.path is None:
            return
        record = {"ts": round(time.time(), 3), "session": session.id, "turn": session.turns,
                  "heard": redact(heard), "intent": understanding.intent if understanding
                  else "", "confidence": understanding.confidence if understanding else None,
                  "reply_id": reply.reply_id, "reply": redact(reply.text)}
        self._append(record)

    def alert(self, alert: Alert) -> None:
        if self.path is not None:
            self._append({"ts": round(time.time(), 3), "kind": "risk_alert",
                          **alert.as_json()})

    def _append(self, record: dict) -> None:
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


class DialogManager:
    def __init__(self, nlu: NLU, issue_ticket: TicketIssuer, content: Content | None = None,
                 audit: AuditLog | None = None, clock: Callable[[], float] = time.monotonic,
                 idle_reset_s: float = IDLE_RESET_S,
                 on_alert: Callable[[Alert], None] | None = None):
        self.nlu = nlu
        self.on_alert = on_alert or (lambda alert: None)
        self._alerts = itertools.count(1)
        self.issue_ticket = issue_ticket
        self.content = content or Content()
        self.audit = audit or AuditLog(None)
        self.clock = clock
        self.idle_reset_s = idle_reset_s
        self.sessions: dict[str, Session] = {}
        self.last_understanding: Understanding | None = None
        self._requests = itertools.count(1)

    # -- sessions --------------------------------------------------------------------------
    def _session(self, session_id: str) -> Session:
        now = self.clock()
        session = self.sessions.get(session_id)
        if session is None or now - session.last_active > self.idle_reset_s:
            session = Session(session_id)
            self.sessions[session_id] = session
        session.last_active = now
        return session

    def expire_idle(self) -> list[str]:
        now = self.clock()
        gone = [s for s, v in self.sessions.items() if now - v.last_active > self.idle_reset_s]
        for session_id in gone:
            del self.sessions[session_id]
        return gone

    def _say(self, session: Session, reply_id: str, understanding: Understanding | None,
             heard: str = "", **values: object) -> Reply:
        text = self.content.reply(reply_id, session.language, **values)
        reply = Reply(reply_id, text, session.language,
                      intent=understanding.intent if understanding else "")
        self.audit.write(session, heard, understanding, reply)
        return reply

    # -- events ----------------------------------------------------------------------------
    def on_engaged(self, session_id: str, language: str = "zh") -> Reply:
        """A customer walked up to the robot (face engaged): greet them."""
        fresh = session_id not in self.sessions
        session = self._session(session_id)
        session.language = language
        reply = self._say(session, "greet" if fresh else "greet_again", None)
        session.last_reply = reply.reply_id
        return reply

    def on_utterance(self, session_id: str, text: str) -> Reply:
        """A final transcript (or typed text): understand it and answer at once."""
        session = self._session(session_id)
        session.turns += 1
        u = self.nlu.understand(text)
        self.last_understanding = u
        session.language = u.language  # the reply follows the customer's language
        self._assess(session, u, text)
        reply = self._guard(session, u, text) or self._answer(session, u, text)
        session.last_reply = reply.reply_id
        return reply

    # -- fraud guard -----------------------------------------------------------------------
    def _assess(self, session: Session, u: Understanding, heard: str) -> None:
        """Add the utterance to the session's evidence; alert staff when the level rises."""
        session.heard.append(redact(heard))
        guard = getattr(self.nlu, "guard", None)
        if u.risk_evidence is None or guard is None:  # a reading without the guard
            return
        if session.risk is None:
            session.risk = SessionRisk(guard)
        session.risk_now = session.risk.add(u.risk_evidence, u.intent)
        risk = session.risk_now
        if LEVELS.index(risk.level) <= LEVELS.index(session.alerted):
            return
        session.alerted = risk.level
        alert = Alert(f"{session.id}-risk-{next(self._alerts)}", session.id, risk.level,
                      risk.reasons, risk.score, " / ".join(session.heard)[:500],
                      session.language, session.ticket.number if session.ticket else "",
                      round(self.clock(), 3))
        self.audit.alert(alert)
        self.on_alert(alert)

    def _guard(self, session: Session, u: Understanding, heard: str) -> Reply | None:
        """The reply the fraud guard asks for, or None for the usual answer."""
        risk = session.risk_now
        if risk.level == "high":
            session.pending = None  # a transfer being confirmed is not confirmed now
            if session.warned != "high":
                session.warned = "high"
                first = risk.reasons[0] if risk.reasons else ""
                reply_id = ("fraud_victim" if first == "victim_report" else
                            "fraud_warning_authority" if first in AUTHORITY_REASONS else
                            "fraud_warning")
                reply = self._say(session, reply_id, u, heard)
                reply.interruptible = False  # a safety notice plays to the end
                reply.handoff = True
                return reply
            if u.intent in MONEY_INTENTS or u.intent == "affirm" or bare_answer(heard):
                reply = self._say(session, "fraud_hold", u, heard)
                reply.handoff = True
                return reply
            return None  # other business goes on; any ticket carries the flag
        if risk.level == "caution" and session.warned == "none":
            session.warned = "caution"
            if u.intent in INTENT_SERVICE and counter_confidence(u) >= CLARIFY_BELOW:
                session.pending = u
                return self._say(session, "fraud_caution_confirm", u, heard,
                                 service=self.content.services[u.intent][session.language])
            return self._say(session, "fraud_caution", u, heard)
        return None

    def on_service_chosen(self, session_id: str, service: str, language: str,
                          request_id: str = "") -> Reply:
        """The customer tapped a service button (kiosk): no confirmation, issue at once.

        ``request_id`` is the idempotency key: a retry after routing was unreachable passes
        the same one, so a ticket issued just before a crash is returned, not duplicated.
        """
        session = self._session(session_id)
        session.turns += 1
        session.language = language
        session.pending = None
        self.last_understanding = None
        return self._issue(session, service, 0.0, None, f"[tap:{service}]", request_id)

    def _answer(self, session: Session, u: Understanding, heard: str) -> Reply:
        intent = u.intent
        if session.pending is not None:
            pending, session.pending = session.pending, None
            answer = bare_answer(heard)
            if answer is not None and answer != intent:  # a yes/no to the question asked
                u = replace(u, intent=answer, confidence=1.0, top=[(answer, 1.0)])
                self.last_understanding, intent = u, answer
            if intent == "affirm":
                return self._ticket(session, pending, heard)
            if intent == "deny":
                return self._say(session, "ask_again", u, heard)
        faq, similarity = self.content.best_faq(heard)
        asked_an_faq = faq is not None and similarity >= FAQ_SIMILARITY
        if intent in ("complaint", "human_agent") and not (
                asked_an_faq and u.confidence < CLARIFY_BELOW):
            # A hand-off unless the model is unsure and the words are an FAQ's question
            # ("老人可以优先吗" read as human_agent at 0.41): then the answer serves better.
            reply = self._say(session, "complaint" if intent == "complaint" else "human", u,
                              heard)
            reply.handoff = True
            return reply
        if faq is not None and (similarity >= FAQ_SIMILARITY or (
                intent == "branch_info" and similarity >= FAQ_SIMILARITY_INFO)):
            session.unclear = 0
            reply = Reply(faq.id, faq.answer[session.language], session.language, intent=intent)
            self.audit.write(session, heard, u, reply)
            return reply
        if intent in ("affirm", "deny") and u.confidence < BARE_ANSWER_BELOW:
            # A yes/no when nothing was asked needs to be clearly one (noise often looks so).
            return self._unclear(session, u, heard)
        if counter_confidence(u) < CLARIFY_BELOW or intent == "branch_info":
            # Not sure what was meant, or a question no FAQ entry covers: ask again.
            return self._unclear(session, u, heard)
        if intent != "out_of_scope":
            session.unclear = 0
        if intent in INTENT_SERVICE:
            session.pending = u
            service = self.content.services[intent][session.language]
            return self._say(session, "confirm", u, heard, service=service)
        if intent == "queue_status":
            return self._queue_status(session, u, heard)
        if intent == "greeting":
            return self._say(session, "greet_again", u, heard)
        if intent == "goodbye":
            reply = self._say(session, "goodbye", u, heard)
            self.sessions.pop(session.id, None)
            return reply
        if intent == "affirm":
            return self._say(session, "affirm_nothing", u, heard)
        if intent == "deny":
            return self._say(session, "ask_again", u, heard)
        return self._unclear(session, u, heard, first_reply="out_of_scope")

    def _unclear(self, session: Session, u: Understanding, heard: str,
                 first_reply: str = "clarify") -> Reply:
        """Not understood (unsure, or nothing the lobby does): ``first_reply`` the first
        time; the second time running offer staff, who may understand what the robot did
        not."""
        session.unclear += 1
        if session.unclear >= 2:
            session.unclear = 0
            reply = self._say(session, "offer_human", u, heard)
            reply.handoff = True
            return reply
        return self._say(session, first_reply, u, heard)

    def _ticket(self, session: Session, u: Understanding, heard: str) -> Reply:
        amount = next((float(s.normalized) for s in u.slots if s.name == "amount"), 0.0)
        return self._issue(session, INTENT_SERVICE[u.intent], amount, u, heard)

    def _issue(self, session: Session, service: str, amount: float,
               u: Understanding | None, heard: str, request_id: str = "") -> Reply:
        request_id = request_id or f"{session.id}-{next(self._requests)}"
        result = self.issue_ticket(request_id, service, session.language, amount, session.id,
                                   LEVELS.index(session.alerted))
        result.service = service
        if not result.ok:
            reply = self._say(session, "routing_unavailable" if result.unavailable else "closed",
                              u, heard)
            reply.handoff = result.unavailable
            reply.ticket = result  # not ok: the kiosk shows why and may retry (unavailable)
            return reply
        session.ticket, session.ticket_at = result, self.clock()
        minutes = max(1, round(result.eta_s / 60))
        if not result.number:
            reply = self._say(session, "machine", u, heard, directions=result.directions,
                              minutes=minutes)
        elif result.eta_s < 60:
            reply = self._say(session, "ticket_now", u, heard, number=result.number,
                              directions=result.directions)
        else:
            reply = self._say(session, "ticket", u, heard, number=result.number,
                              directions=result.directions, minutes=minutes)
        reply.ticket = result
        return reply

    def _queue_status(self, session: Session, u: Understanding, heard: str) -> Reply:
        ticket = session.ticket
        if ticket is None or not ticket.number:
            return self._say(session, "queue_no_ticket", u, heard)
        left = max(1, round((ticket.eta_s - (self.clock() - session.ticket_at)) / 60))
        return self._say(session, "queue_status", u, heard, number=ticket.number, minutes=left)
