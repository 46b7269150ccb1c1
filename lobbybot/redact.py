"""Redaction of personal numbers (card, national ID, phone) from any text that gets logged.

Customers say their phone or card number to the robot; those must never reach a log file.
Applied by the logging filter of every node and by the dialog's audit log.
"""

from __future__ import annotations

import logging
import re

# Order matters: IDs (18 chars) before cards, mobiles (11 digits) before the looser patterns.
_ID = re.compile(r"(?<!\d)\d{6}[ -]?(?:19|20)\d{2}[01]\d[0-3]\d[ -]?\d{3}[\dXx](?![\dXx])")
_MOBILE = re.compile(r"(?:\+?86[ -]?)?(?<!\d)1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")  # 13-19 digits, any grouping
_PHONE = re.compile(r"(?<![\dA-Za-z])(?:\+\d{1,3}[ -]?)?\(?\d{3}\)?[ -]?\d{3}[ -]?\d{4}(?!\d)")


_ORDERED = (("ID", _ID), ("PHONE", _MOBILE), ("CARD", _CARD), ("PHONE", _PHONE))


def find_sensitive(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every ID, phone and card number in ``text``, in text order."""
    found: list[tuple[str, int, int]] = []
    taken = [False] * len(text)
    for label, pattern in _ORDERED:
        for match in pattern.finditer(text):
            if not any(taken[match.start():match.end()]):
                found.append((label, match.start(), match.end()))
                taken[match.start():match.end()] = [True] * (match.end() - match.start())
    return sorted(found, key=lambda f: f[1])


def redact(text: str) -> str:
    """Replace card, ID and phone numbers in ``text`` with ``[CARD]``, ``[ID]``, ``[PHONE]``."""
    for label, start, end in reversed(find_sensitive(text)):
        text = text[:start] + f"[{label}]" + text[end:]
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that redacts the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
