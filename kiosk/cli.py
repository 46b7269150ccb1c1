"""``lobbybot kiosk``: routing and the kiosk web UI over the ZMQ transport, supervised.

The same as ``lobbybot launch launch/kiosk.launch.yaml --transport zmq`` with the kiosk's
options: one process each for the ZMQ bus, the routing node and the kiosk node, respawned
when they die, so a crashed routing node comes back while the tablet stays up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILE = REPO / "launch" / "kiosk.launch.yaml"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kiosk", help="kiosk tablet mode: routing + touch web UI over ZMQ",
                       description="Start the ZMQ bus, the routing node and the kiosk web UI "
                                   "(kiosk /, board /board, staff pages /teller and "
                                   "/manager). Ctrl-C stops.")
    p.add_argument("--config", help="branch configuration YAML (default config/branch.yaml)")
    p.add_argument("--port", type=int, default=8080, help="web UI port (default 8080)")
    p.add_argument("--host", default="127.0.0.1",
                   help="web UI interface (default 127.0.0.1; any other needs --token)")
    p.add_argument("--token", default="", help="web UI access token (required off loopback)")
    p.add_argument("--staff-token", default="",
                   help="staff token of the teller and manager pages (default: made once and "
                        "kept in ~/.local/share/lobbybot/staff-token)")
    p.add_argument("--staff-token-file", default="",
                   help="where the staff token is kept when --staff-token is not given")
    p.add_argument("--db", help="SQLite ticket store (default ~/.local/share/lobbybot/)")
    p.add_argument("--transport", choices=("zmq", "ros"), default="zmq",
                   help="zmq (tablet, no ROS) or ros (the robot's touch screen)")
    p.add_argument("--keys", help="CURVE key directory (sets LOBBYBOT_ZMQ_KEYS): needed when "
                                  "the ZMQ bus listens beyond loopback (LOBBYBOT_ZMQ_HOST)")
    ksub = p.add_subparsers(dest="kiosk_command", metavar="[keys DIR]")
    keys = ksub.add_parser("keys", help="make the CURVE keys of kiosk network mode",
                           description="Write the bus and node key pairs to DIR and authorize "
                                       "the node key; prints JSON with the file names.")
    keys.add_argument("directory")


def make_keys(directory: str) -> int:
    from lobbybot.transport.zmq_security import generate_keys

    try:
        made = generate_keys(directory)
    except (FileExistsError, OSError) as exc:
        print(f"lobbybot kiosk keys: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"ok": True, **made}))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.kiosk_command == "keys":
        return make_keys(args.directory)
    from lobbybot.launch.description import load_launch
    from lobbybot.launch.supervisor import Supervisor
    from lobbybot.node.params import ConfigError

    if not 0 <= args.port <= 65535:
        print(f"lobbybot kiosk: --port {args.port} out of range", file=sys.stderr)
        return 2
    overrides = {"http_port": str(args.port), "http_host": args.host, "token": args.token,
                 "staff_token": args.staff_token}
    if args.staff_token_file:
        overrides["staff_token_file"] = str(Path(args.staff_token_file).expanduser().resolve())
    if args.config:
        config = Path(args.config).expanduser().resolve()
        if not config.is_file():
            print(f"lobbybot kiosk: branch config {config} not found", file=sys.stderr)
            return 2
        overrides["branch_config"] = str(config)
    if args.db:
        overrides["db_path"] = str(Path(args.db).expanduser().resolve())
    if args.keys:
        from lobbybot.transport.zmq_security import CurveKeyError, CurveKeys

        try:
            CurveKeys.load(args.keys, need_bus_secret=True)
        except CurveKeyError as exc:
            print(f"lobbybot kiosk: {exc}", file=sys.stderr)
            return 2
        os.environ["LOBBYBOT_ZMQ_KEYS"] = str(Path(args.keys).expanduser().resolve())
    try:
        supervisor = Supervisor.for_launch(load_launch(LAUNCH_FILE, overrides), args.transport)
    except ConfigError as exc:
        print(f"lobbybot kiosk: {exc}", file=sys.stderr)
        return 2
    return supervisor.run()
