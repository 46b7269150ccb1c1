"""Process logging in the ROS 2 console style, with personal numbers redacted."""

from __future__ import annotations

import logging
import os
import sys

from .redact import RedactingFilter

_FORMAT = "[%(levelname)s] [%(created).3f] [%(name)s]: %(message)s"


def setup_logging(level: str | int | None = None) -> None:
    """Log to stderr; ``LOBBYBOT_LOG_LEVEL`` (default INFO) sets the level."""
    level = level or os.environ.get("LOBBYBOT_LOG_LEVEL", "INFO")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
