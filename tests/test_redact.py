"""Personal numbers never reach a log."""

from __future__ import annotations

import logging

import pytest

from lobbybot.logs import setup_logging
from lobbybot.redact import redact


@pytest.mark.parametrize("text, expected", [
    ("我的手机号是13912345678", "我的手机号是[PHONE]"),
    ("call me on +86 139 1234 5678 please", "call me on [PHONE] please"),
    ("US number (415) 555-2671", "US number [PHONE]"),
    ("卡号 6222 0212 3456 7890 123", "卡号 [CARD]"),
    ("card 4111-1111-1111-1111.", "card [CARD]."),
    ("身份证 11010519491231002X", "身份证 [ID]"),
    ("ID 110105 19491231 0021 done", "ID [ID] done"),
])
def test_personal_numbers_are_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "ticket A023 to counter 3", "I want to withdraw 50000 yuan", "存两万 20000 元",
    "opening hours 09:00-17:00 on 2026-11-25", "wait about 12 minutes",
])
def test_ordinary_numbers_are_kept(text):
    assert redact(text) == text


def test_log_records_are_redacted(capsys):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        logging.getLogger("lobbybot.test").info("customer said %s", "my phone is 13812345678")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "13812345678" not in err and "[PHONE]" in err
