"""``lobbybot chat``: talk to the receptionist in a terminal (typed text instead of speech).

Routing is the real ticket book in this process (``--routing inproc``, the default, with a
throw-away SQLite file) or the running routing node over ZMQ or ROS 2.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="talk to the receptionist from a terminal",
                       description="Interactive text conversation with the dialog manager. "
                                   "One utterance per line; Ctrl-D ends.")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="greeting language")
    p.add_argument("--routing", choices=("inproc", "zmq", "ros"), default="inproc")
    p.add_argument("--branch-config", default=str(Path(__file__).resolve().parents[1] /
                                                   "config" / "branch.yaml"))
    p.add_argument("--audit", help="append the redacted audit log to this file")


def run(args: argparse.Namespace, make_transport: Any) -> int:
    from routing.config import BranchConfigError, load_branch_config

    from .intent.model import ModelMissing
    from .issuers import BookIssuer, ServiceIssuer
    from .manager import AuditLog, DialogManager
    from .nlu import NLU

    try:
        nlu = NLU()
    except ModelMissing as exc:
        print(f"lobbybot chat: {exc}", file=sys.stderr)
        return 2
    transport, tmp = None, None
    if args.routing == "inproc":
        from routing.book import TicketBook
        from routing.store import TicketStore

        try:
            config = load_branch_config(args.branch_config)
        except BranchConfigError as exc:
            print(f"lobbybot chat: {exc}", file=sys.stderr)
            return 2
        tmp = tempfile.TemporaryDirectory()
        issuer = BookIssuer(TicketBook(config, TicketStore(Path(tmp.name) / "tickets.sqlite")))
    else:
        from lobbybot.contracts import srv

        transport = make_transport(args.routing, "chat")
        issuer = ServiceIssuer(transport.create_client("/lobby/issue_ticket", srv.IssueTicket))
    dm = DialogManager(nlu, issuer, audit=AuditLog(Path(args.audit) if args.audit else None))
    session = uuid.uuid4().hex[:8]
    interactive = sys.stdin.isatty()
    try:
        print(f"robot> {dm.on_engaged(session, args.lang).text}", flush=True)
        while True:
            if interactive:
                print("you> ", end="", flush=True)
            line = sys.stdin.readline()
            if not line:
                break
            text = line.strip()
            if not text:
                continue
            if not interactive:
                print(f"you> {text}")
            reply = dm.on_utterance(session, text)
            extra = f"  [{reply.reply_id}{', staff called' if reply.handoff else ''}]"
            print(f"robot> {reply.text}{extra}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        if transport is not None:
            transport.close()
        if tmp is not None:
            tmp.cleanup()
    return 0
