"""Run a scenario: the real node graph against the simulated lobby, in simulated time.

The routing, dialog, faces and queues components run unchanged on the in-process transport,
whose clock and timers follow simulated time, so a quiet minute costs nothing and the run is
faster than real time whenever the nodes keep up. The simulator is one more node on the bus:
it renders the head and lobby cameras from the Drake world and publishes the frames, speaks
for the customers — typed final transcripts, or (``speech: audio``) synthesised voices on
``/audio/in`` that the real ``listen`` node (VAD + whisper) has to hear — plays the robot's
TTS timing, and acts as the tellers.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import math
import os
import queue
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from lobbybot.contracts import msg, srv, std
from lobbybot.launch.lifetime import die_with_parent
from lobbybot.node.host import NodeProcess
from lobbybot.node.params import RosArgs
from lobbybot.transport import ServiceFailed, ServiceUnavailable
from lobbybot.transport.inproc import InProcessBus, InProcessTransport
from routing.config import BranchConfig, load_branch_config
from speech.audio import RATE, encode_s16le
from vision.frames import bgr_to_image_fields

from .agents import END_REPLIES, NO, TICKET_REPLIES, YES, CustomerAgent, Teller, Walker
from .scenario import Scenario
from .voices import CustomerVoices
from .world import World

PRIORITIES = {"normal": 0, "elderly": 1, "disabled": 2, "pregnant": 3, "vip": 4}
TICK_S = 0.1
HEAD_FPS_NEAR = 4.0  # head camera frames while someone is at the robot
HEAD_FPS_IDLE = 1.0
LOBBY_FPS = 0.5
GREET_TIMEOUT_S = 8.0
PROGRESS_EVERY_S = 30.0  # ros: a wall-clock line on stderr, so a stalled run says where
ENTRANCE = (7.0, 0.2)
EXIT = (6.2, -0.6)
UNHEARD_REPEAT_S = 6.0  # robot silent this long after a customer spoke: they say it again
SIDE_LINE = (5.6, 0.6)  # where customers wait for their turn at the robot


class SimClock:
    """Simulated time: seconds since the scenario start, and wall-clock ns for stamps."""

    def __init__(self, epoch_ns: int):
        self.epoch_ns = epoch_ns
        self.t = 0.0

    def now_ns(self) -> int:
        return self.epoch_ns + int(self.t * 1e9)

    def seconds(self) -> float:
        return self.t


@dataclass
class SimResult:
    scenario: str
    customers: list[dict[str, Any]]
    totals: dict[str, Any]
    events: list[str] = field(default_factory=list)


def _epoch_ns(config: BranchConfig, start: dt.time) -> int:
    zone = ZoneInfo(config.timezone)
    day = dt.datetime.now(zone).date()
    while day.weekday() >= 5:  # a weekday, so the branch is open
        day -= dt.timedelta(days=1)
    return int(dt.datetime.combine(day, start, zone).timestamp() * 1e9)


class RosGraph:
    """The lobby node graph as real processes (``lobbybot launch``) on ROS 2, on /clock."""

    def __init__(self, scenario: Scenario, work_dir: Path, env: dict[str, str],
                 speech: str = "text"):
        self.env = env
        # Spoken scenarios: the listen node hears the simulator's /audio/in and the speak
        # node voices the replies onto /audio/out (its tts_status drives the echo gate).
        speech_args = ["with_speech:=true", "audio_source:=topic", "audio_output:=topic"] \
            if speech == "audio" else ["with_speech:=false"]
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "lobbybot", "launch", "launch/lobby.launch.yaml",
             "--transport", "ros", "use_sim_time:=true", *speech_args,
             f"branch_config:={scenario.branch}", f"db_path:={work_dir / 'tickets.sqlite'}"],
            cwd=Path(__file__).resolve().parents[1], env={**os.environ, **env,
                                                          "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, preexec_fn=die_with_parent())
        self.lines: queue.Queue[str] = queue.Queue()
        self.recent: collections.deque[str] = collections.deque(maxlen=60)
        self.pids: dict[str, int] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            if match := re.search(r"started (\w+) \(pid (\d+)\)", line):
                self.pids[match.group(1)] = int(match.group(2))
            self.lines.put(line.rstrip())
            self.recent.append(line.rstrip())

    def check_alive(self) -> None:
        """The launched graph must outlive the run: say why it did not."""
        if self.popen.poll() is not None:
            tail = "\n".join(self.recent)
            raise RuntimeError(f"the launched node graph exited (status {self.popen.returncode})"
                               f"; its last lines:\n{tail}")

    def wait_started(self, names: tuple[str, ...], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        pending = set(names)
        while pending:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"nodes {sorted(pending)} did not start") from None
            pending = {n for n in pending if f"/{n} started on" not in line}

    def kill(self, name: str) -> None:
        if name in self.pids:
            os.kill(self.pids[name], signal.SIGKILL)  # the launch supervisor respawns it

    def close(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGINT)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)


class LobbySim:
    def __init__(self, scenario: Scenario, work_dir: Path | None = None,
                 transport: str = "inproc", realtime_factor: float = 1.0,
                 speech: str | None = None):
        self.scenario = scenario
        self.speech = speech or scenario.speech
        self.transport_kind = transport
        self.realtime_factor = realtime_factor
        self.config = load_branch_config(scenario.branch)
        self.rng = random.Random(scenario.seed)
        self.clock = SimClock(_epoch_ns(self.config, scenario.start))
        self.bus = InProcessBus(clock_ns=self.clock.now_ns, monotonic=self.clock.seconds)
        self._tmp = tempfile.TemporaryDirectory(prefix="lobbybot-sim-") if work_dir is None \
            else None
        self.work_dir = Path(self._tmp.name) if self._tmp else Path(work_dir)
        people = sum(1 for c in scenario.customers) + 2
        self.world = World(scenario.world, self.config, billboards=min(people, 40))
        self.robot_xy = self.world.model_pose("robot")[:2]
        self.robot_spot = (self.robot_xy[0], self.robot_xy[1] - 1.0)
        self.nodes: dict[str, NodeProcess] = {}
        self._node_specs = {
            "routing": ("routing.node", "RoutingNode", {
                "branch_config": str(scenario.branch),
                "db_path": str(self.work_dir / "tickets.sqlite")}),
            "dialog": ("dialog.node", "DialogNode", {}),
            "faces": ("vision.node", "FacesNode", {"max_fps": 15.0}),
            "queues": ("vision.node", "QueuesNode", {
                "branch_config": str(scenario.branch), "max_fps": 2.0}),
        }
        if self.speech == "audio":
            self._node_specs["listen"] = ("speech.node", "ListenNode", {
                "source": "topic", "lang": "auto"})
        self.graph: RosGraph | None = None
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        if transport == "ros":
            self.graph = RosGraph(scenario, self.work_dir, {}, self.speech)
            try:
                self.graph.wait_started(tuple(self._node_specs))
            except RuntimeError:
                self.graph.close()
                raise
            from lobbybot.transport.ros import RosTransport

            self.io = RosTransport("lobby_sim")
            self._clock_pub = self.io.create_publisher("/clock", std.Clock)
        else:
            for name in self._node_specs:
                self._start_node(name)
            self.io = InProcessTransport(self.bus, "lobby_sim")
        self._head = self.io.create_publisher("/head_camera/image_raw", std.Image)
        self._lobby = self.io.create_publisher("/lobby_camera/image_raw", std.Image)
        self._transcript = self.io.create_publisher("/speech/transcript", msg.Transcript)
        self._mic = self.io.create_publisher("/audio/in", msg.AudioChunk)
        if self.speech == "audio":
            self.io.create_subscription("/speech/transcript", msg.Transcript,
                                        lambda m: self._inbox.put((self._on_heard, m)))
        self.voices = CustomerVoices(scenario.seed)
        self.heard: list[tuple[str, str, str]] = []  # (lang, what was said, what ASR heard)
        self._awaiting: tuple[CustomerAgent, str] | None = None
        self._awaiting_since = 0.0
        self._words_end = 0.0  # when the customer's last words end on the microphone
        self._noisy_until = 0.0
        self._noisy_snr_db = 5.0
        self._tts = self.io.create_publisher("/speech/tts_status", msg.TtsStatus)
        self._real_speaker = self.graph is not None and self.speech == "audio"
        for topic, msg_type, handler in (
                ("/speech/say", msg.Say, self._on_say),
                ("/dialog/intent", msg.Intent, self._on_intent),
                ("/lobby/tickets", msg.Ticket, self._on_ticket),
                ("/lobby/counter_calls", msg.CounterCall, self._on_call),
                ("/lobby/queues", msg.QueueState, self._on_queues)):
            self.io.create_subscription(
                topic, msg_type, lambda m, h=handler: self._inbox.put((h, m)))
        self._call_next = self.io.create_client("/lobby/call_next", srv.CallNext)
        self._action = self.io.create_client("/lobby/ticket_action", srv.TicketAction)
        self._issue = self.io.create_client("/lobby/issue_ticket", srv.IssueTicket)
        self.customers: list[CustomerAgent] = []
        self._pending = list(scenario.customers)
        self._free_billboards = list(range(len(self.world.billboards)))
        self.tellers = {c: Teller(c) for c in self.config.counters}
        self._tickets: dict[str, msg.Ticket] = {}  # request_id prefix (session) → ticket
        self._spoken: dict[str, tuple[float, CustomerAgent]] = {}  # utterance id → (wall t, who)
        self._utterances = 0
        self._speaking_until: dict[str, float] = {}
        self._next_head = 0.0
        self._next_lobby = 0.0
        self._camera_down_until: dict[str, float] = {}
        self._restart_at: dict[str, float] = {}
        self.queue_errors: list[float] = []
        self.occupied_errors: list[float] = []  # only where someone really stands
        self.events: list[str] = []
        self.faults = sorted(scenario.faults, key=lambda f: f.at)

    # -- node lifecycle (faults restart nodes like the launch supervisor does) --------------
    def _start_node(self, name: str) -> None:
        import importlib

        module, cls, params = self._node_specs[name]
        component = getattr(importlib.import_module(module), cls)
        self.nodes[name] = NodeProcess(component, InProcessTransport(self.bus, name),
                                       RosArgs(overrides=dict(params)))

    def _crash_node(self, name: str) -> None:
        if self.graph is not None:
            self.graph.kill(name)
            self.events.append(f"{self.clock.t:7.1f}s fault: node {name} killed (SIGKILL)")
            return
        node = self.nodes.pop(name, None)
        if node is None:
            return
        self.bus.remove_node(node.transport)
        node.close()
        self.events.append(f"{self.clock.t:7.1f}s fault: node {name} crashed")
        self._restart_at[name] = self.clock.t + 2.0

    # -- what the nodes say ------------------------------------------------------------------
    def _agent_for_session(self, session: str) -> CustomerAgent | None:
        return next((c for c in self.customers if c.session == session), None)

    def _on_say(self, say: msg.Say) -> None:
        now = self.clock.t
        chars = len(say.text)
        self._speaking_until[say.say_id] = now + chars * (0.18 if say.language == "zh" else 0.06)
        if not self._real_speaker:  # else the launched speak node reports what it voices
            self._tts.publish(msg.TtsStatus(say_id=say.say_id,
                                            state=msg.TtsStatus.STATE_SPEAKING))
        agent = self._agent_for_session(say.session_id)
        if agent is None:  # a new session: the customer at the robot (greeted, or re-tracked)
            agent = next((c for c in self.customers if c.state == "at_robot"), None)
            if agent is not None:
                agent.session = say.session_id
        if agent is None:
            return
        for utterance, (sent_wall, who) in list(self._spoken.items()):
            if who is agent:
                agent.latencies_ms.append((time.perf_counter() - sent_wall) * 1000)
                del self._spoken[utterance]
        agent.replies.append(say.reply_id)
        agent.reply_texts.append(say.text)
        self._react(agent, say.reply_id, now)

    def _react(self, agent: CustomerAgent, reply_id: str, now: float) -> None:
        spec = agent.spec
        if reply_id in ("greet", "greet_again"):
            if agent.greeted_at is None:
                agent.greeted_at = now
                # Polite customers let the robot finish; interrupting ones talk over it.
                wait = 0.3 if spec.behaviour == "interrupts" else 0.8 + self._speech_left(now)
                self._say_next(agent, now + wait)
        elif reply_id == "confirm":
            answer = NO[agent.lang] if spec.behaviour == "declines" else YES[agent.lang]
            # Interrupting customers answer while the robot is still asking (barge-in).
            delay = 0.3 if spec.behaviour == "interrupts" else 0.6 + self._speech_left(now)
            agent.pending_text, agent.speak_at = answer, now + delay
        elif reply_id == "machine":  # no ticket: routing sent them to a self-service machine
            self._to_machine(agent, now)
        elif reply_id in TICKET_REPLIES:
            # Over ROS 2 the ticket (routing's topic) may arrive after the reply (dialog's).
            agent.ticket_due = now + 3.0
            self._check_ticket(agent, now)
        elif reply_id in ("clarify", "ask_again", "queue_no_ticket", "affirm_nothing"):
            if agent.next_utterance < len(spec.says) and spec.behaviour != "declines":
                self._say_next(agent, now + 0.8 + self._speech_left(now))
            elif reply_id == "clarify" and not agent.repeated and spec.says and \
                    spec.behaviour != "declines":
                # Not caught and nothing else to say: people say it again, once.
                agent.repeated = True
                agent.pending_text = spec.says[0]
                agent.speak_at = now + 0.8 + self._speech_left(now)
            else:
                agent.outcome = agent.outcome or f"left_after_{reply_id}"
                self._leave(agent)
        elif reply_id in END_REPLIES:
            agent.outcome = reply_id
            self._leave(agent)
        else:  # an FAQ answer: the question was answered
            agent.outcome = f"answered:{reply_id}"
            self._leave(agent)

    def _check_ticket(self, agent: CustomerAgent, now: float) -> None:
        ticket = self._tickets.get(agent.session)
        if ticket is not None:
            agent.ticket_due = None
            self._take_ticket(agent, ticket, now)
        elif now > agent.ticket_due:
            agent.ticket_due = None
            agent.outcome = "ticket_missing"
            self._leave(agent)

    def _speech_left(self, now: float) -> float:
        return max([0.0, *(until - now for until in self._speaking_until.values())])

    def _say_next(self, agent: CustomerAgent, at: float) -> None:
        says = agent.spec.says
        if agent.next_utterance < len(says):
            agent.pending_text = says[agent.next_utterance]
            agent.next_utterance += 1
            agent.speak_at = at

    def _speak(self, agent: CustomerAgent) -> None:
        self._utterances += 1
        uid = f"{agent.spec.id}-{self._utterances}"
        if any(until > self.clock.t for until in self._speaking_until.values()):
            agent.barge_ins += 1
        agent.said.append(agent.pending_text)
        self._spoken[uid] = (time.perf_counter(), agent)
        if self.speech == "audio":  # the words go out on the microphone stream
            duration = self.voices.say(agent.spec, agent.pending_text)
            self._awaiting = (agent, agent.pending_text)
            self._awaiting_since = self.clock.t
            self._words_end = self.clock.t + duration
            agent.pending_text, agent.speak_at = "", None
            return
        self._transcript.publish(msg.Transcript(
            header=std.Header(stamp=_stamp(self.clock.now_ns())), utterance_id=uid,
            text=agent.pending_text, language=agent.lang, confidence=0.95, is_final=True))
        agent.pending_text, agent.speak_at = "", None

    def _on_heard(self, transcript: msg.Transcript) -> None:
        if not transcript.is_final or self._awaiting is None:
            return
        agent, said = self._awaiting
        self._awaiting = None
        self.heard.append((agent.lang, said, transcript.text))
        agent.heard.append(transcript.text)

    def _stream_microphone(self) -> None:
        """One tick of the robot's microphone; then hold simulated time while the ASR
        (wall-clock work) transcribes, as if it were instant."""
        snr = self._noisy_snr_db if self.clock.t < self._noisy_until else None
        block = self.voices.next_block(int(TICK_S * RATE), snr)
        self._mic.publish(msg.AudioChunk(
            header=std.Header(stamp=_stamp(self.clock.now_ns())), sample_rate=RATE,
            channels=1, encoding="s16le", data=encode_s16le(block), source="sim"))
        self._drain()
        listen = self.nodes.get("listen")
        deadline = time.perf_counter() + 30.0
        while listen is not None and listen.component.listener.busy and \
                time.perf_counter() < deadline:
            time.sleep(0.003)
            self._drain()
        self._drain()
        if self._awaiting is not None and not self.voices.speaking and \
                self.clock.t - self._words_end > UNHEARD_REPEAT_S:
            agent, said = self._awaiting
            if not agent.repeated and agent.state == "at_robot" and not agent.pending_text:
                # The robot stays silent: people say it again, once.
                agent.repeated = True
                self.heard.append((agent.lang, said, ""))
                agent.heard.append("")
                self.events.append(f"{self.clock.t:7.1f}s {agent.spec.id} says it again "
                                   "(the robot stayed silent)")
                self._awaiting = None
                agent.pending_text, agent.speak_at = said, self.clock.t
                return
        if self._awaiting is not None and not self.voices.speaking and \
                self.clock.t - self._awaiting_since > 30.0:
            agent, said = self._awaiting
            self._awaiting = None
            self.heard.append((agent.lang, said, ""))
            agent.heard.append("")
            self.events.append(f"{self.clock.t:7.1f}s the robot heard nothing of {agent.spec.id}")

    def _on_intent(self, intent: msg.Intent) -> None:
        agent = self._agent_for_session(intent.session_id)
        if agent is not None and not agent.intent and intent.label not in ("greeting",):
            agent.intent = intent.label

    def _on_ticket(self, ticket: msg.Ticket) -> None:
        if ticket.state == msg.Ticket.STATE_WAITING and ticket.request_id:
            session = ticket.request_id.rsplit("-", 1)[0]
            self._tickets.setdefault(session, ticket)

    def _on_call(self, call: msg.CounterCall) -> None:
        agent = next((c for c in self.customers if c.ticket == call.ticket_number
                      and c.state in ("to_zone", "waiting")), None)
        if agent is None:
            return
        agent.called_at = agent.called_at or self.clock.t
        agent.counter_called = call.counter_id
        counter = self.config.counters[call.counter_id]
        agent.state, agent.zone = "to_counter", ""
        self._walk(agent, _in_front(counter.pose.x, counter.pose.y, counter.pose.theta, 0.6))

    def _on_queues(self, state: msg.QueueState) -> None:
        truth = self.true_zone_counts()
        for zone in state.zones:
            if zone.zone_id in truth:
                error = abs(zone.count - truth[zone.zone_id])
                self.queue_errors.append(error)
                if truth[zone.zone_id]:
                    self.occupied_errors.append(error)

    def true_zone_counts(self) -> dict[str, int]:
        zones = self.config.lobby_camera.zones if self.config.lobby_camera else {}
        counts = {z: 0 for z in zones}
        for agent in self.customers:
            if agent.state == "waiting" and agent.zone in counts:
                counts[agent.zone] += 1
        return counts

    # -- customers ---------------------------------------------------------------------------
    def _spawn(self, spec) -> None:
        board = self._free_billboards.pop(0) if self._free_billboards else -1
        agent = CustomerAgent(spec, Walker(*ENTRANCE), board)
        if spec.priority != "normal":
            self.customers.append(agent)
            self._priority_ticket(agent, self.clock.t)
            return
        if spec.behaviour == "ignores_robot":
            service = spec.expect.service or "cash"
            counters = [c for c in self.config.counters_for(service) if c.zone]
            counter = self.rng.choice(counters) if counters else None
            agent.state = "to_zone"
            agent.zone_target = counter.zone if counter else ""
            self._walk(agent, self._zone_slot(agent.zone_target) if counter else EXIT)
            agent.outcome = "walk_in"
        else:
            self._walk(agent, SIDE_LINE)
        self.customers.append(agent)

    def _take_ticket(self, agent: CustomerAgent, ticket: msg.Ticket, now: float) -> None:
        agent.ticket, agent.service = ticket.number, ticket.service
        agent.destination, agent.issued_at = ticket.counter_id, now
        agent.outcome = "ticket" if ticket.number else "machine"
        place = self.config.counters.get(ticket.counter_id) or \
            self.config.machines.get(ticket.counter_id)
        agent.state = "to_zone"
        agent.zone_target = place.zone if place is not None else ""
        if agent.zone_target and self.config.lobby_camera and \
                agent.zone_target in self.config.lobby_camera.zones:
            self._walk(agent, self._zone_slot(agent.zone_target))
        elif place is not None:
            self._walk(agent, _in_front(place.pose.x, place.pose.y, place.pose.theta, 1.2))

    def _to_machine(self, agent: CustomerAgent, now: float) -> None:
        from dialog.manager import INTENT_SERVICE

        agent.service = INTENT_SERVICE.get(agent.intent, "")
        machine = next((m for m in self.config.machines.values()
                        if agent.service in m.services), None)
        agent.destination = machine.id if machine else ""
        agent.outcome, agent.state, agent.issued_at = "machine", "to_zone", now
        self._walk(agent, _in_front(machine.pose.x, machine.pose.y, machine.pose.theta, 0.8)
                   if machine else EXIT)
        agent.done_at = now + 60  # uses the machine a minute, then leaves

    def _priority_ticket(self, agent: CustomerAgent, now: float) -> None:
        """Elderly, disabled, pregnant, VIP: the lobby manager issues a priority ticket."""
        reply = self._issue.call(srv.IssueTicket.Request(
            request_id=f"desk-{agent.spec.id}", service=agent.spec.expect.service or "cash",
            priority=PRIORITIES[agent.spec.priority], language=agent.lang,
            session_id=f"desk-{agent.spec.id}"))
        if reply.accepted:
            self._take_ticket(agent, reply.ticket, now)
        else:
            agent.outcome = f"desk_refused: {reply.error}"
            self._leave(agent)

    def _zone_slot(self, zone: str) -> tuple[float, float]:
        polygon = np.array(self.config.lobby_camera.zones[zone])
        taken = sum(1 for c in self.customers if getattr(c, "zone_target", "") == zone
                    and c.state in ("to_zone", "waiting"))
        x0, y0 = polygon.min(axis=0)
        x1, y1 = polygon.max(axis=0)
        column, row = taken % 2, (taken // 2) % 3  # well inside: feet are seen, not guessed
        return (x0 + (x1 - x0) * (0.3 + 0.4 * column), y1 - (y1 - y0) * (0.35 + 0.2 * row))

    def _walk(self, agent: CustomerAgent, target: tuple[float, float]) -> None:
        """Walk to ``target`` around the robot (and the customer talking to it), never
        between the robot's camera and that customer."""
        w, (rx, ry) = agent.walker, self.robot_xy
        points = [target]
        if (w.y < ry) != (target[1] < ry):  # crossing the robot's line: go round its side
            side = rx - 1.6 if target[0] <= rx else rx + 1.6
            near, far = (ry - 0.8, ry + 0.8) if w.y < ry else (ry + 0.8, ry - 0.8)
            points = [(side, near), (side, far), target]
        w.go(points)

    def _leave(self, agent: CustomerAgent) -> None:
        agent.state, agent.zone = "leaving", ""
        self._walk(agent, EXIT)

    def _step_customers(self, now: float) -> None:
        while self._pending and self._pending[0].at <= now:
            self._spawn(self._pending.pop(0))
        robot_busy = any(c.state in ("to_robot", "at_robot") for c in self.customers)
        for agent in self.customers:
            arrived = agent.walker.step(TICK_S)
            if agent.state == "waiting_for_robot" and arrived and not robot_busy:
                agent.state = "to_robot"
                agent.walker.go([self.robot_spot])
                robot_busy = True
            elif agent.state == "to_robot" and arrived:
                agent.state, agent.arrived_robot_at = "at_robot", now
            elif agent.state == "at_robot":
                if agent.ticket_due is not None:
                    self._check_ticket(agent, now)
                    continue
                if agent.greeted_at is None and not agent.said and \
                        now - agent.arrived_robot_at > GREET_TIMEOUT_S:
                    agent.outcome = "not_greeted"
                    self._say_next(agent, now)  # speaks anyway: a walk-up session
                if agent.speak_at is not None and now >= agent.speak_at:
                    self._speak(agent)
                if now - agent.arrived_robot_at > 60 and agent.state == "at_robot":
                    agent.outcome = agent.outcome or "stuck_at_robot"
                    self._leave(agent)
            elif agent.state == "to_zone" and arrived:
                agent.state = "waiting"
                agent.zone = getattr(agent, "zone_target", "")
                if agent.outcome == "walk_in":
                    agent.done_at = now + self.rng.uniform(60, 120)
            elif agent.state == "waiting" and agent.done_at and now >= agent.done_at:
                self._leave(agent)
            elif agent.state == "to_counter" and arrived:
                agent.state = "at_counter"
            elif agent.state == "leaving" and arrived:
                agent.state = "gone"
                if agent.billboard >= 0:
                    self._free_billboards.append(agent.billboard)
                    agent.billboard = -1

    def _step_tellers(self, now: float) -> None:
        for teller in self.tellers.values():
            if teller.state == "free" and now >= teller.next_try:
                reply = self._call_next.call(srv.CallNext.Request(counter_id=teller.counter))
                if reply.found:
                    teller.state, teller.ticket = "calling", reply.ticket.number
                else:
                    teller.next_try = now + 2.0
            elif teller.state == "calling":
                agent = next((c for c in self.customers if c.ticket == teller.ticket), None)
                if agent is None or agent.state == "gone":
                    self._action.call(srv.TicketAction.Request(action="no_show",
                                                               ticket_number=teller.ticket))
                    teller.state = "free"
                elif agent.state == "at_counter":
                    self._action.call(srv.TicketAction.Request(action="serve",
                                                               ticket_number=teller.ticket))
                    mean = self.config.services[agent.service].service_time_s * \
                        self.scenario.service_time_scale
                    teller.serve_until = now + self.rng.lognormvariate(
                        math.log(mean) - 0.045, 0.3)
                    teller.state, agent.served_at = "serving", now
            elif teller.state == "serving" and now >= teller.serve_until:
                self._action.call(srv.TicketAction.Request(action="done",
                                                           ticket_number=teller.ticket))
                agent = next((c for c in self.customers if c.ticket == teller.ticket), None)
                if agent is not None:
                    agent.outcome = "served"
                    self._leave(agent)
                teller.state, teller.served, teller.next_try = "free", teller.served + 1, now + 1

    # -- cameras -----------------------------------------------------------------------------
    def _place_billboards(self) -> None:
        """The face board while a customer faces the robot, the body board elsewhere."""
        head = self.world.camera_pose("head_camera").translation()
        lobby = self.world.camera_pose("lobby_camera").translation()
        for agent in self.customers:
            if agent.billboard < 0:
                continue
            face = self.world.billboards[agent.billboard]
            body = self.world.bodies[agent.billboard]
            xy = (agent.walker.x, agent.walker.y)
            if agent.state == "gone":
                self.world.place(face, (0, 0), 0, hidden=True)
                self.world.place(body, (0, 0), 0, hidden=True)
            elif agent.state in ("to_robot", "at_robot"):
                self.world.place(face, xy, agent.facing((head[0], head[1])))
                self.world.place(body, (0, 0), 0, hidden=True)
            else:
                # Waiting people face the lobby camera; walkers face where they go (the
                # back of a board shows nothing).
                toward = (lobby[0], lobby[1]) if agent.state in ("waiting", "to_zone") else \
                    (agent.walker.x, agent.walker.y + (1 if agent.state == "leaving" else -1))
                self.world.place(face, (0, 0), 0, hidden=True)
                self.world.place(body, xy, agent.facing(toward))

    def _publish_frames(self, now: float) -> None:
        near = any(c.state in ("to_robot", "at_robot") for c in self.customers)
        self._place_billboards()
        if now >= self._next_head and now >= self._camera_down_until.get("head_camera", 0):
            self._next_head = now + 1.0 / (HEAD_FPS_NEAR if near else HEAD_FPS_IDLE)
            self._head.publish(self._image(self.world.render("head_camera"), "head_camera"))
        if now >= self._next_lobby and now >= self._camera_down_until.get("lobby_camera", 0):
            self._next_lobby = now + 1.0 / LOBBY_FPS
            self._lobby.publish(self._image(self.world.render("lobby_camera"), "lobby_camera"))

    def _image(self, rgb: np.ndarray, frame_id: str) -> std.Image:
        image = std.Image(**bgr_to_image_fields(rgb[:, :, ::-1], "rgb8"))
        image.header = std.Header(stamp=_stamp(self.clock.now_ns()), frame_id=frame_id)
        return image

    # -- main loop ---------------------------------------------------------------------------
    def _apply_faults(self, now: float) -> None:
        while self.faults and self.faults[0].at <= now:
            fault = self.faults.pop(0)
            if fault.kind == "camera_drop":
                self._camera_down_until[fault.camera] = now + fault.duration
                self.events.append(f"{now:7.1f}s fault: {fault.camera} dropped for "
                                   f"{fault.duration:g} s")
            elif fault.kind == "node_crash":
                self._crash_node(fault.node)
            elif fault.kind == "noisy_audio":
                self._noisy_until, self._noisy_snr_db = now + fault.duration, fault.snr_db
                effect = "" if self.speech == "audio" else " (no effect on typed transcripts)"
                self.events.append(f"{now:7.1f}s fault: lobby babble at {fault.snr_db:g} dB "
                                   f"SNR for {fault.duration:g} s{effect}")
        for name, at in list(self._restart_at.items()):
            if now >= at:
                del self._restart_at[name]
                self._start_node(name)
                self.events.append(f"{now:7.1f}s node {name} restarted")

    def _drain(self) -> None:
        """Let the nodes work, then handle what they said (on this thread)."""
        if self.graph is None:
            for _ in range(1000):
                if not self.bus.spin_once(0.0):
                    break
        while True:
            try:
                handler, message = self._inbox.get_nowait()
            except queue.Empty:
                return
            handler(message)
            if self.graph is None:  # a reaction may have published: let the nodes answer
                for _ in range(1000):
                    if not self.bus.spin_once(0.0):
                        break

    def run(self, max_s: float | None = None) -> SimResult:
        limit = max_s or self.scenario.duration_hint_s + 1800
        if self.graph is None:
            return self._run(limit)
        # Real processes: this process's own node spins on a thread, stopped and joined
        # before anything closes it (rclpy must never destroy a node another thread spins).
        stop = threading.Event()
        spinner = threading.Thread(target=self.io.spin, args=(stop,), daemon=True,
                                   name="sim-spin")
        spinner.start()
        try:
            self._wait_for_graph()
            return self._run(limit)
        finally:
            stop.set()
            spinner.join()

    def _run(self, limit: float) -> SimResult:
        started = time.perf_counter()
        next_progress = started + PROGRESS_EVERY_S
        self._drain()
        sim_started = self.clock.t
        while self.clock.t < limit:
            self.clock.t += TICK_S
            now = self.clock.t
            if self.graph is not None:  # real processes: keep pace with the wall clock
                self.graph.check_alive()
                if time.perf_counter() >= next_progress:
                    next_progress += PROGRESS_EVERY_S
                    print(self._progress(now), file=sys.stderr, flush=True)
                self._clock_pub.publish(std.Clock(clock=_stamp(self.clock.now_ns())))
                ahead = (now - sim_started) / self.realtime_factor - \
                    (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
            self._apply_faults(now)
            self._step_customers(now)
            if self.graph is not None or "routing" in self.nodes:
                # routing restarting: the tellers try again next tick
                with contextlib.suppress(ServiceUnavailable, ServiceFailed):
                    self._step_tellers(now)
            self._speaking_until = {k: v for k, v in self._speaking_until.items() if v > now}
            self._publish_frames(now)
            self._drain()
            if self.speech == "audio":
                self._stream_microphone()
            if not self._pending and all(c.state == "gone" for c in self.customers):
                break
        return self._result(time.perf_counter() - started)

    def _progress(self, now: float) -> str:
        """Where the run is: simulated time and how many customers/tellers are in each
        state (a run that never ends shows which state everyone is stuck in)."""
        customers = collections.Counter(c.state for c in self.customers)
        tellers = collections.Counter(t.state for t in self.tellers.values())
        return (f"lobbybot sim: t={now:.0f}s, {len(self._pending)} customers still to come, "
                f"customers {dict(customers)}, tellers {dict(tellers)}")

    def _wait_for_graph(self, timeout_s: float = 60.0) -> None:
        """Discovery: every node hears the simulator and routing answers."""
        deadline = time.monotonic() + timeout_s
        publishers = [self._head, self._lobby, self._transcript, self._clock_pub]
        if self.speech == "audio":
            publishers.append(self._mic)
        for publisher in publishers:
            if not publisher.wait_for_subscribers(max(0.1, deadline - time.monotonic())):
                raise RuntimeError(f"nobody subscribes to {publisher.topic}")
        if not self._call_next.wait_for_service(max(0.1, deadline - time.monotonic())):
            raise RuntimeError("routing's /lobby/call_next is not available")
        self._check_graph_is_ours()

    def _check_graph_is_ours(self, settle_s: float = 2.0, timeout_s: float = 6.0) -> None:
        """A node graph left running on the same ROS domain (e.g. by a run that was killed)
        would answer the simulator too: two dialog nodes greeting each customer. Refuse.
        Node names arrive by discovery, so look until every node was seen and a moment more."""
        ours = set(self._node_specs)
        started = time.monotonic()
        first_twice = None
        while True:
            names = [n.lstrip("/") for n in self.io.graph_node_names()]
            twice = sorted(n for n in ours if names.count(n) > 1)
            now = time.monotonic()
            first_twice = first_twice or (now if twice else None)
            if first_twice:  # found one: a moment more to name them all
                if len(twice) == len(ours) or now - first_twice > settle_s:
                    break
            elif now - started > timeout_s or (now - started > settle_s
                                               and set(names) >= ours):
                break
            time.sleep(0.1)
        if twice:
            domain = os.environ.get("ROS_DOMAIN_ID", "0")
            raise RuntimeError(
                f"another node graph is running on ROS_DOMAIN_ID={domain}: nodes "
                f"{', '.join('/' + n for n in twice)} run twice. Stop it "
                "(pkill -f 'lobbybot launch') or set another ROS_DOMAIN_ID")

    def _result(self, wall_s: float) -> SimResult:
        rows, routed, routing_ok, intents, intents_ok, latencies, waits = [], 0, 0, 0, 0, [], []
        for agent in self.customers:
            spec = agent.spec
            expect = spec.expect
            routing_correct = None
            if spec.behaviour != "ignores_robot" and (expect.service or not expect.ticket):
                routed += 1
                if expect.ticket:
                    routing_correct = agent.service == expect.service and (
                        not expect.counter or agent.destination == expect.counter)
                else:
                    routing_correct = not agent.ticket and not agent.service
                routing_ok += routing_correct
            intent_correct = None
            if expect.intent:
                intents += 1
                intent_correct = agent.intent == expect.intent
                intents_ok += intent_correct
            latencies += agent.latencies_ms
            wait = agent.called_at - agent.issued_at if agent.called_at and agent.issued_at \
                else None
            if wait is not None:
                waits.append(wait)
            rows.append({
                "id": spec.id, "lang": spec.lang, "behaviour": spec.behaviour,
                "arrived_s": spec.at, "greeted": agent.greeted_at is not None,
                "said": agent.said, "replies": agent.replies, "robot_said": agent.reply_texts,
                "intent": agent.intent, "expected_intent": expect.intent,
                "intent_correct": intent_correct, "ticket": agent.ticket,
                "service": agent.service, "expected_service": expect.service,
                "destination": agent.destination, "counter": agent.counter_called,
                "routing_correct": routing_correct,
                "wait_s": None if wait is None else round(wait, 1), "outcome": agent.outcome,
                "heard": agent.heard,
                "barge_ins": agent.barge_ins})
        sim_s = self.clock.t
        totals = {
            "customers": len(self.customers),
            "greeted": sum(1 for a in self.customers if a.greeted_at is not None),
            "routing_accuracy": round(routing_ok / routed, 3) if routed else None,
            "intent_accuracy": round(intents_ok / intents, 3) if intents else None,
            # speech: audio only — what the listen node heard against what was said
            "wer": self._error_rate("en"), "cer_zh": self._error_rate("zh"),
            "reply_latency_ms": {
                "p50": round(statistics.median(latencies), 1) if latencies else None,
                "p95": round(float(np.percentile(latencies, 95)), 1) if latencies else None},
            "mean_wait_s": round(statistics.mean(waits), 1) if waits else None,
            "queue_count_mae": round(statistics.mean(self.queue_errors), 3)
            if self.queue_errors else None,
            "queue_count_mae_occupied": round(statistics.mean(self.occupied_errors), 3)
            if self.occupied_errors else None,
            "barge_ins": sum(a.barge_ins for a in self.customers),
            "sim_s": round(sim_s, 1), "wall_s": round(wall_s, 1),
            "speed_x": round(sim_s / wall_s, 2) if wall_s > 0 else None,
        }
        return SimResult(self.scenario.name, rows, totals, self.events)

    def _error_rate(self, lang: str) -> float | None:
        pairs = [(said, heard) for lg, said, heard in self.heard if lg == lang]
        if not pairs:
            return None
        from speech.testset import error_rate

        return round(error_rate([p[0] for p in pairs], [p[1] for p in pairs], lang), 3)

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()
        self.io.close()
        if self.graph is not None:
            self.graph.close()
            from lobbybot.transport.ros import shutdown_ros

            shutdown_ros()
        self.world.close()
        if self._tmp is not None:
            self._tmp.cleanup()


def _stamp(ns: int) -> std.Time:
    return std.Time(sec=ns // 10**9, nanosec=ns % 10**9)


def _in_front(x: float, y: float, theta: float, distance: float = 0.9) -> tuple[float, float]:
    """A spot ``distance`` in front of a counter facing ``theta``."""
    return x + distance * math.cos(theta), y + distance * math.sin(theta)
