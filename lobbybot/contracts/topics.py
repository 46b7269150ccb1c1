"""The default topic and service names of the lobby graph, with their types and QoS.

Nodes use these names; a launch file may remap them. Faces follow REP-155's ``/humans/...``
namespace (ROS4HRI); lobby-specific state lives under ``/lobby``, speech under ``/speech``
and ``/audio``. Written down here once and rendered into docs/contracts.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicInfo:
    name: str
    type: str
    qos: str  # reliable | sensor | latched
    description: str


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    type: str
    description: str


TOPICS: tuple[TopicInfo, ...] = (
    TopicInfo("/head_camera/image_raw", "sensor_msgs/msg/Image", "sensor",
              "Robot head camera frames (faces)."),
    TopicInfo("/lobby_camera/image_raw", "sensor_msgs/msg/Image", "sensor",
              "Ceiling camera frames over the queues."),
    TopicInfo("/humans/faces/tracked_faces", "lobby_interfaces/msg/TrackedFaceArray", "reliable",
              "Faces tracked in each head-camera frame, with distance and engagement."),
    TopicInfo("/lobby/queues", "lobby_interfaces/msg/QueueState", "reliable",
              "People waiting per counter zone, smoothed, 1-2 Hz."),
    TopicInfo("/audio/in", "lobby_interfaces/msg/AudioChunk", "sensor",
              "Microphone (or simulated) audio towards the ASR."),
    TopicInfo("/audio/out", "lobby_interfaces/msg/AudioChunk", "sensor",
              "Synthesised speech when the output is a topic (simulator, remote speaker)."),
    TopicInfo("/speech/transcript", "lobby_interfaces/msg/Transcript", "reliable",
              "Partial and final transcripts of customer utterances."),
    TopicInfo("/dialog/intent", "lobby_interfaces/msg/Intent", "reliable",
              "Intent and slots the dialog understood from each final transcript."),
    TopicInfo("/speech/say", "lobby_interfaces/msg/Say", "reliable",
              "Things for the robot to say (from the dialog)."),
    TopicInfo("/speech/tts_status", "lobby_interfaces/msg/TtsStatus", "reliable",
              "Progress of each Say: speaking, done, interrupted (barge-in), failed."),
    TopicInfo("/lobby/tickets", "lobby_interfaces/msg/Ticket", "reliable",
              "Every ticket issued or changed."),
    TopicInfo("/lobby/counter_calls", "lobby_interfaces/msg/CounterCall", "reliable",
              "A teller calls a ticket to a counter (board, announcements)."),
    TopicInfo("/lobby/board", "lobby_interfaces/msg/BoardState", "latched",
              "Display board: now calling, waiting per service; on change and every second."),
    TopicInfo("/lobby/alerts", "lobby_interfaces/msg/RiskAlert", "reliable",
              "Anti-fraud alerts for staff: a conversation that looks like a scam in progress."),
    TopicInfo("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", "reliable",
              "Heartbeat of every node, 1 Hz: health and transport counters."),
    TopicInfo("/diagnostics_agg", "diagnostic_msgs/msg/DiagnosticArray", "reliable",
              "lobby_monitor's summary of all nodes, STALE when a heartbeat stops."),
    TopicInfo("/clock", "rosgraph_msgs/msg/Clock", "reliable",
              "Simulated time, when nodes run with use_sim_time."),
)

SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo("/lobby/issue_ticket", "lobby_interfaces/srv/IssueTicket",
                "Issue a ticket for a service and route the customer (idempotent by request_id)."),
    ServiceInfo("/lobby/call_next", "lobby_interfaces/srv/CallNext",
                "A teller asks for the next ticket at a counter."),
    ServiceInfo("/lobby/ticket_action", "lobby_interfaces/srv/TicketAction",
                "Recall, serve, done, no-show or transfer one ticket."),
)
