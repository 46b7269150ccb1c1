"""Simulated people: customers who walk, talk and queue, and tellers who call and serve.

Customers follow a small state machine driven by what the real nodes do: they walk up to
the robot, wait to be greeted (the faces node must see them and the dialog greet them),
speak, answer the confirmation, read their ticket from routing, walk to the queue zone of the
counter they were sent to, and go to the counter when it calls them. Positions are floor
metres in the branch frame; time is simulated seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .scenario import Customer

WALK_SPEED = 1.2  # m/s
YES = {"zh": "对", "en": "yes"}
NO = {"zh": "不是", "en": "no"}
TICKET_REPLIES = {"ticket", "ticket_now", "machine"}
END_REPLIES = {"out_of_scope", "offer_human", "human", "complaint", "closed",
               "routing_unavailable", "goodbye"}


@dataclass
class Walker:
    x: float
    y: float
    target: tuple[float, float] | None = None
    via: list[tuple[float, float]] = field(default_factory=list)  # waypoints before target

    def go(self, points: list[tuple[float, float]]) -> None:
        self.via, self.target = list(points[:-1]), points[-1]

    def step(self, dt: float) -> bool:
        """Move towards the next waypoint or the target; True once at the target."""
        if self.via:
            final, self.target = self.target, self.via[0]
            if self._move(dt):
                self.via.pop(0)
            self.target = final
            return False
        return self._move(dt)

    def _move(self, dt: float) -> bool:
        if self.target is None:
            return True
        dx, dy = self.target[0] - self.x, self.target[1] - self.y
        distance = math.hypot(dx, dy)
        reach = WALK_SPEED * dt
        if distance <= reach:
            self.x, self.y = self.target
            self.target = None
            return True
        self.x += dx / distance * reach
        self.y += dy / distance * reach
        return False


@dataclass
class CustomerAgent:
    spec: Customer
    walker: Walker
    billboard: int
    state: str = "waiting_for_robot"  # → to_robot, at_robot, to_zone, waiting, to_counter,
    #                                    at_counter, leaving, gone
    session: str = ""
    said: list[str] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)  # speech: audio — the ASR's transcripts
    next_utterance: int = 0
    speak_at: float | None = None  # when the customer says the next thing
    pending_text: str = ""
    arrived_robot_at: float = 0.0
    greeted_at: float | None = None
    replies: list[str] = field(default_factory=list)
    reply_texts: list[str] = field(default_factory=list)
    intent: str = ""
    ticket: str = ""
    service: str = ""
    destination: str = ""
    issued_at: float | None = None
    called_at: float | None = None
    counter_called: str = ""
    served_at: float | None = None
    done_at: float | None = None
    outcome: str = ""
    latencies_ms: list[float] = field(default_factory=list)
    zone: str = ""  # the queue zone the customer stands in, "" elsewhere
    zone_target: str = ""  # the zone the customer is walking to
    ticket_due: float | None = None  # told a ticket was issued; its message expected by then
    barge_ins: int = 0
    repeated: bool = False  # said their request again after "sorry, I didn't catch that"

    @property
    def lang(self) -> str:
        return self.spec.lang

    def facing(self, toward: tuple[float, float]) -> float:
        return math.atan2(toward[1] - self.walker.y, toward[0] - self.walker.x)


@dataclass
class Teller:
    counter: str
    state: str = "free"  # free → calling → serving
    ticket: str = ""
    next_try: float = 0.0
    serve_until: float = 0.0
    served: int = 0
