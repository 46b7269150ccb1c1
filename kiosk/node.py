"""kiosk node: the receptionist on a touch tablet, served as local web pages.

The conversation (intent model + dialog manager) runs in this node; tickets, teller actions
and the board go through the routing node's services and topics, so two kiosks and a board
share one ticket book. The web server binds to 127.0.0.1 unless told otherwise, and then only
with an access token. The teller and manager pages need a staff token of their own (given,
or made once and kept in ``staff_token_file``, readable by this user only).
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
from pathlib import Path

from dialog.intent.model import ModelMissing
from dialog.issuers import ServiceIssuer
from dialog.manager import AuditLog, DialogManager
from dialog.nlu import NLU
from lobbybot.contracts import srv
from lobbybot.node.component import Component, Health, Node
from lobbybot.node.params import ConfigError, Param
from lobbybot.transport.zmq_endpoints import is_loopback
from routing.config import BranchConfigError, load_branch_config

from .backend import KioskBackend
from .web import WebServer, build_app

REPO = Path(__file__).resolve().parents[1]
MIN_TOKEN_CHARS = 16


class KioskNode(Component):
    NAME = "kiosk"
    DESCRIPTION = "Touch kiosk: web UI for conversation, service buttons, board and teller."
    PARAMETERS = (
        Param("http_host", "127.0.0.1", "Interface of the web UI; off loopback needs a token."),
        Param("http_port", 8080, "Port of the web UI (0: any free port, logged)."),
        Param("token", "", "Access token of the web UI ('' on loopback: none). "
                           f"At least {MIN_TOKEN_CHARS} characters."),
        Param("staff_token", "", "Staff token of the teller and manager pages (at least "
                                 f"{MIN_TOKEN_CHARS} characters, not the customer token); "
                                 "'' = the one in staff_token_file."),
        Param("staff_token_file", "~/.local/share/lobbybot/staff-token",
              "Where the staff token is kept when none is given (made on first start, "
              "mode 0600)."),
        Param("branch_config", "config/branch.yaml",
              "Branch configuration (service and counter names); relative to the checkout."),
        Param("audit_path", "", "Append the redacted audit log (JSON lines) here; '' = off."),
        Param("idle_reset_s", 60.0, "Back to the welcome screen after this long untouched."),
        Param("routing_timeout_s", 3.0, "How long to wait for the routing node."),
        Param("speech_input", True, "Push-to-talk on the page: recordings are transcribed "
                                    "here (faster-whisper), in memory."),
    )

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        host, token = str(node.params["http_host"]), str(node.params["token"])
        if not is_loopback(host) and len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                f"http_host {host} is not loopback: set a token of at least {MIN_TOKEN_CHARS} "
                f"characters (e.g. {secrets.token_urlsafe(24)})")
        if token and len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"token must have at least {MIN_TOKEN_CHARS} characters")
        staff_token, staff_source = _staff_token(str(node.params["staff_token"]),
                                                 str(node.params["staff_token_file"]))
        if token and hmac.compare_digest(staff_token, token):
            raise ConfigError("staff_token must differ from the customer token: the customer "
                              "kiosk must not open the staff pages")
        path = Path(str(node.params["branch_config"]))
        try:
            config = load_branch_config(path if path.is_absolute() else REPO / path)
            nlu = NLU()
        except (BranchConfigError, ModelMissing) as exc:
            raise ConfigError(str(exc)) from None
        timeout = float(node.params["routing_timeout_s"])
        audit = str(node.params["audit_path"])
        dm = DialogManager(nlu, ServiceIssuer(node.client("/lobby/issue_ticket", srv.IssueTicket),
                                              timeout),
                           audit=AuditLog(Path(audit) if audit else None),
                           idle_reset_s=float(node.params["idle_reset_s"]))
        transcriber = _transcriber(node) if node.params["speech_input"] else None
        self.backend = KioskBackend(node, config, dm, routing_timeout_s=timeout,
                                    transcriber=transcriber)
        node.timer(5.0, dm.expire_idle)
        self.server = WebServer(build_app(self.backend, token, staff_token), host,
                                int(node.params["http_port"]))
        self.url = self.server.start()
        node.logger.info("kiosk web UI on %s (board: %sboard, staff: %steller and %smanager, "
                         "staff token %s)", self.url, self.url, self.url, self.url,
                         staff_source)

    def health(self) -> Health:
        routing = self.backend.status()["routing"]
        return Health(level=0 if routing else 1,
                      message="ok" if routing else "routing unavailable",
                      values={"sessions": len(self.backend.dm.sessions), "url": self.url})

    def close(self) -> None:
        self.server.stop()


def _staff_token(given: str, path: str) -> tuple[str, str]:
    """The staff token and where it came from; made and saved (0600) on first start, so a
    respawned kiosk keeps it and the staff stay signed in."""
    if given:
        if len(given) < MIN_TOKEN_CHARS:
            raise ConfigError(f"staff_token must have at least {MIN_TOKEN_CHARS} characters")
        return given, "as given"
    file = Path(path).expanduser()
    try:
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(24) + "\n")
        stored = file.read_text(encoding="utf-8").strip()
    except FileExistsError:  # another kiosk made it a moment ago
        stored = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"staff_token_file {file}: {exc.strerror or exc}") from None
    if len(stored) < MIN_TOKEN_CHARS:
        raise ConfigError(f"staff_token_file {file} holds fewer than {MIN_TOKEN_CHARS} "
                          "characters: delete it to make a new token")
    return stored, f"in {file}"


def _transcriber(node: Node):
    """faster-whisper behind the push-to-talk button, or None (button hidden) without it."""
    try:
        from speech.asr import WhisperRecognizer
        from speech.listener import listen_to_array
        from speech.models import ModelMissing as SpeechModelMissing
        from speech.vad import Segmenter, make_vad

        recognizer = WhisperRecognizer(threads=2)
        recognizer.warm_up()
        vad = make_vad()
    except (ImportError, SpeechModelMissing) as exc:
        node.logger.warning("push-to-talk off: %s (pip install -e '.[speech]')", exc)
        return None
    lock = threading.Lock()

    def transcribe(audio, language: str) -> str:
        with lock:  # one recording at a time: the CPU has two cores
            vad.reset()
            heard = listen_to_array(recognizer, Segmenter(vad), audio, "auto", language)
        said = [h for h in heard if h.text]
        return ("" if said and all(h.lang == "zh" for h in said) else " ").join(
            h.text for h in said).strip()

    return transcribe
