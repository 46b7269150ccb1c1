"""The ``lobbybot`` command. Subcommands print JSON where a program reads them.

Subcommands of later capabilities (asr, tts, vision, sim, kiosk) are added by the issues
that build them; this module only registers what exists.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from typing import Any

from lobbybot import __version__

TRANSPORT_HELP = "ros (rclpy + Fast DDS), zmq (kiosk, via the ZMQ bus) or inproc"


def _split_ros_args(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--ros-args" in argv:
        i = argv.index("--ros-args")
        return argv[:i], argv[i:]
    return argv, []


def cmd_doctor(args: argparse.Namespace) -> int:
    from lobbybot.doctor import format_rows, run_checks

    rows = run_checks()
    if args.json:
        print(json.dumps({"ok": all(r["present"] for r in rows if r["needed_for"] == "core"),
                          "checks": rows}, ensure_ascii=False))
    else:
        print(format_rows(rows))
    return 0 if all(r["present"] for r in rows if r["needed_for"] == "core") else 1


def cmd_launch(args: argparse.Namespace) -> int:
    from lobbybot.launch.description import load_launch
    from lobbybot.launch.supervisor import Supervisor
    from lobbybot.node.params import ConfigError

    overrides = {}
    for item in args.launch_args:
        if ":=" not in item:
            print(f"lobbybot launch: launch argument {item!r} must be NAME:=VALUE",
                  file=sys.stderr)
            return 2
        key, value = item.split(":=", 1)
        overrides[key] = value
    try:
        description = load_launch(args.file, overrides)
        supervisor = Supervisor.for_launch(description, args.transport)
    except ConfigError as exc:
        print(f"lobbybot launch: {exc}", file=sys.stderr)
        return 2
    return supervisor.run()


def cmd_node(args: argparse.Namespace, ros_args: list[str]) -> int:
    from lobbybot.node import registry

    if args.node_command == "list":
        for name, target in sorted(registry.available().items()):
            cls = registry.load(name)
            print(f"{name:<20} {target}\n{'':<20} {cls.DESCRIPTION}")
        return 0
    from lobbybot.logs import setup_logging
    from lobbybot.node.host import run_node

    setup_logging()
    return run_node(args.executable, args.transport, ros_args)


def cmd_bus(args: argparse.Namespace) -> int:
    from lobbybot.launch.lifetime import stop_on_signals
    from lobbybot.logs import setup_logging
    from lobbybot.transport.zmq_bus import ZmqBus
    from lobbybot.transport.zmq_endpoints import ZmqEndpoints
    from lobbybot.transport.zmq_security import CurveKeys

    setup_logging()
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        endpoints = ZmqEndpoints.from_env()
        if args.port:
            endpoints = ZmqEndpoints(endpoints.host, args.port)
        ZmqBus(endpoints, keys=CurveKeys.from_env(need_bus_secret=True)).run(stop)
    except (OSError, ValueError) as exc:
        print(f"lobbybot bus: {exc}", file=sys.stderr)
        return 2
    return 0


def _client_transport(kind: str, name: str) -> Any:
    from lobbybot.node.host import make_transport
    from lobbybot.node.params import RosArgs

    return make_transport(kind, name, [], RosArgs())


def _close(transport: Any) -> None:
    transport.close()
    if transport.kind == "ros":
        from lobbybot.transport.ros import shutdown_ros
        shutdown_ros()


def cmd_probe(args: argparse.Namespace) -> int:
    from lobbybot.probe_client import run_probe

    transport = _client_transport(args.transport, "probe_client")
    try:
        result = run_probe(transport, args.timeout)
    finally:
        _close(transport)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


def cmd_interfaces(args: argparse.Namespace) -> int:
    from lobbybot.contracts import registry

    reg = registry()
    if args.interfaces_command == "list":
        for name in [*reg.messages, *reg.services]:
            print(name)
    elif args.interfaces_command == "show":
        try:
            cls = reg.service(args.type) if "/srv/" in args.type else reg.message(args.type)
        except KeyError as exc:
            print(f"lobbybot interfaces: {exc.args[0]}", file=sys.stderr)
            return 2
        specs = [cls.spec.request, cls.spec.response] if hasattr(cls, "spec") else [cls.__spec__]
        for i, spec in enumerate(specs):
            if i:
                print("---")
            for key, value in spec.constants.items():
                print(f"{key}={value!r}")
            for f in spec.fields:
                print(f"{f.type_text()} {f.name}" + (f"  # {f.comment}" if f.comment else ""))
    else:
        from lobbybot.contracts.docs import render
        print(render(), end="")
    return 0


def _merge(base: Any, given: Any) -> Any:
    if isinstance(base, dict) and isinstance(given, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in given.items()}}
    return given


def cmd_topic(args: argparse.Namespace) -> int:
    from lobbybot.contracts import MessageError, from_wire, registry, to_wire

    try:
        msg_type = registry().message(args.type)
    except KeyError as exc:
        print(f"lobbybot topic: {exc.args[0]}", file=sys.stderr)
        return 2
    transport = _client_transport(args.transport, "lobbybot_topic")
    stop = threading.Event()
    try:
        if args.topic_command == "pub":
            try:
                # Like `ros2 topic pub`: fields not given keep their defaults.
                defaults, blobs = to_wire(msg_type())
                message = from_wire(msg_type, _merge(defaults, json.loads(args.json)), blobs)
            except (ValueError, MessageError) as exc:
                print(f"lobbybot topic pub: {exc}", file=sys.stderr)
                return 2
            publisher = transport.create_publisher(args.topic, msg_type)
            if not publisher.wait_for_subscribers(args.wait):  # as ros2 topic pub does
                print(f"lobbybot topic pub: nobody subscribes to {args.topic} "
                      f"(waited {args.wait} s); publishing anyway", file=sys.stderr)
            for _ in range(args.times):
                publisher.publish(message)
                stop.wait(args.period)
            return 0
        count = [0]

        def on_message(message: Any) -> None:
            data, blobs = to_wire(message)
            print(json.dumps({"topic": args.topic, "msg": data,
                              "blobs": [len(b) for b in blobs]}, ensure_ascii=False),
                  flush=True)
            count[0] += 1
            if args.count and count[0] >= args.count:
                stop.set()

        transport.create_subscription(args.topic, msg_type, on_message)
        with contextlib.suppress(KeyboardInterrupt):
            transport.spin(stop)
        return 0
    finally:
        stop.set()
        _close(transport)


def cmd_nlu(args: argparse.Namespace) -> int:
    from dialog.intent.model import ModelMissing
    from dialog.nlu import NLU

    try:
        nlu = NLU()
    except ModelMissing as exc:
        print(f"lobbybot nlu: {exc}", file=sys.stderr)
        return 2
    if args.text:
        lines = iter(args.text)
    else:  # one utterance per line from stdin; undecodable bytes are reported, not fatal
        stdin = sys.stdin.buffer
        lines = (raw.decode("utf-8", "strict") if _utf8(raw) else None
                 for raw in iter(stdin.readline, b""))
    status = 0
    for number, text in enumerate(lines, 1):
        if text is None:
            print(json.dumps({"line": number, "error": "not valid UTF-8"}), flush=True)
            status = 1
            continue
        text = text.rstrip("\r\n")
        print(json.dumps(nlu.understand(text).as_json(), ensure_ascii=False), flush=True)
    return status


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def cmd_chat(args: argparse.Namespace) -> int:
    from dialog import chat

    try:
        return chat.run(args, _client_transport)
    finally:
        if args.routing == "ros":
            from lobbybot.transport.ros import shutdown_ros
            shutdown_ros()


def cmd_teller(args: argparse.Namespace) -> int:
    from routing import teller

    transport = _client_transport(args.transport, "teller_cli")
    try:
        return teller.run(args, transport)
    finally:
        _close(transport)


def cmd_kiosk(args: argparse.Namespace) -> int:
    from kiosk import cli

    return cli.run(args)


def cmd_vision(args: argparse.Namespace) -> int:
    from vision import cli

    return cli.run(args)


def cmd_asr(args: argparse.Namespace) -> int:
    from speech import cli

    return cli.run_asr(args)


def cmd_tts(args: argparse.Namespace) -> int:
    from speech import cli

    return cli.run_tts(args)


def cmd_sim(args: argparse.Namespace) -> int:
    from sim import cli

    return cli.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lobbybot", description="Bank-lobby receptionist robot and kiosk runtime.")
    parser.add_argument("--version", action="version", version=f"lobbybot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("doctor", help="check dependencies and models; print how to fix")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("nlu", help="intent and slots of utterances (JSON line each)",
                       description="Classify utterances (zh/en/mixed) with the INT8 intent model "
                                   "and extract slots; one JSON object per utterance. Without "
                                   "TEXT, reads one utterance per line from stdin.")
    p.add_argument("text", nargs="*", help="utterance(s)")
    p.set_defaults(func=cmd_nlu)

    from dialog import chat

    chat.add_parser(sub)
    sub.choices["chat"].set_defaults(func=cmd_chat)

    from kiosk import cli as kiosk_cli

    kiosk_cli.add_parser(sub)
    sub.choices["kiosk"].set_defaults(func=cmd_kiosk)

    from vision import cli as vision_cli

    vision_cli.add_parser(sub)
    sub.choices["vision"].set_defaults(func=cmd_vision)

    from speech import cli as speech_cli

    speech_cli.add_parsers(sub)
    sub.choices["asr"].set_defaults(func=cmd_asr)
    sub.choices["tts"].set_defaults(func=cmd_tts)

    from sim import cli as sim_cli

    sim_cli.add_parser(sub)
    sub.choices["sim"].set_defaults(func=cmd_sim)

    p = sub.add_parser("launch", help="run a ROS 2 YAML launch file: one process per node",
                       description="Run a launch file from launch/ with respawn and log "
                                   "prefixes; Ctrl-C stops every node.")
    p.add_argument("file", help="launch file, e.g. launch/foundation.launch.yaml")
    p.add_argument("launch_args", nargs="*", metavar="NAME:=VALUE", help="launch arguments")
    p.add_argument("--transport", choices=("ros", "zmq"), default="ros", help=TRANSPORT_HELP)
    p.set_defaults(func=cmd_launch)

    p = sub.add_parser("node", help="list nodes or run one node in this process")
    node_sub = p.add_subparsers(dest="node_command", required=True, metavar="ACTION")
    node_sub.add_parser("list", help="nodes available to launch files")
    run = node_sub.add_parser("run", help="run one node: lobbybot node run EXEC [--ros-args ...]")
    run.add_argument("executable", help="node executable name (see 'lobbybot node list')")
    run.add_argument("--transport", choices=("ros", "zmq", "inproc"), default="ros",
                     help=TRANSPORT_HELP)
    p.set_defaults(func=cmd_node, wants_ros_args=True)

    p = sub.add_parser("bus", help="run the ZMQ bus (kiosk mode's broker)",
                       description="Binds LOBBYBOT_ZMQ_HOST (127.0.0.1) ports "
                                   "LOBBYBOT_ZMQ_PORT..+2 (7650-7652).")
    p.add_argument("--port", type=int, default=0, help="first of the three ports")
    p.set_defaults(func=cmd_bus)

    p = sub.add_parser("probe", help="send every contract through a running interface_probe "
                                     "node and print the JSON result")
    p.add_argument("--transport", choices=("ros", "zmq"), default="ros", help=TRANSPORT_HELP)
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for echoes")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("interfaces", help="list or show message types; render the contract docs")
    isub = p.add_subparsers(dest="interfaces_command", required=True, metavar="ACTION")
    isub.add_parser("list", help="every message and service type")
    show = isub.add_parser("show", help="fields of one type, e.g. lobby_interfaces/msg/Ticket")
    show.add_argument("type")
    isub.add_parser("docs", help="print docs/contracts.md")
    p.set_defaults(func=cmd_interfaces)

    from routing import teller

    teller.add_parser(sub, TRANSPORT_HELP)
    sub.choices["teller"].set_defaults(func=cmd_teller)

    p = sub.add_parser("topic", help="echo or publish a topic on any transport (JSON)")
    tsub = p.add_subparsers(dest="topic_command", required=True, metavar="ACTION")
    echo = tsub.add_parser("echo", help="print each message as a JSON line")
    pub = tsub.add_parser("pub", help="publish a message given as JSON fields")
    for q in (echo, pub):
        q.add_argument("topic")
        q.add_argument("type", help="e.g. lobby_interfaces/msg/Ticket")
        q.add_argument("--transport", choices=("ros", "zmq"), default="ros", help=TRANSPORT_HELP)
    echo.add_argument("--count", type=int, default=0, help="stop after N messages")
    pub.add_argument("json", help='fields as JSON, e.g. \'{"number": "A001"}\'; '
                                  'others keep their defaults')
    pub.add_argument("--times", type=int, default=1)
    pub.add_argument("--wait", type=float, default=5.0,
                     help="seconds to wait for a subscriber before publishing")
    pub.add_argument("--period", type=float, default=0.5)
    p.set_defaults(func=cmd_topic)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv, ros_args = _split_ros_args(argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # launch arguments (NAME:=VALUE) may follow options such as --transport
        if args.command == "launch" and all(":=" in e for e in extra):
            args.launch_args += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "wants_ros_args", False):
        return args.func(args, ros_args)
    if ros_args:
        print("lobbybot: --ros-args is only accepted by 'lobbybot node run'", file=sys.stderr)
        return 2
    return args.func(args)
