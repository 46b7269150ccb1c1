"""The anti-fraud guard in conversations (real NLU model and guard, real routing book)."""

from __future__ import annotations

import json

import pytest

from dialog.issuers import BookIssuer
from dialog.manager import AuditLog, DialogManager


@pytest.fixture
def alerts() -> list:
    return []


@pytest.fixture
def dm(nlu, book, tmp_path, alerts) -> DialogManager:
    return DialogManager(nlu, BookIssuer(book), audit=AuditLog(tmp_path / "audit.jsonl"),
                         on_alert=alerts.append)


def test_safe_account_victim_is_warned_and_staff_alerted_not_ticketed(dm, book, alerts):
    reply = dm.on_utterance("s1", "警察打电话说我的账户涉嫌洗钱，让我把钱转到安全账户")
    assert reply.reply_id.startswith("fraud_warning") and reply.handoff
    assert not reply.interruptible, "the warning is a safety notice: it plays to the end"
    assert "安全账户" in reply.text or "诈骗" in reply.text
    [alert] = alerts
    assert alert.level == "high" and alert.session_id == "s1" and alert.reasons
    held = dm.on_utterance("s1", "对")
    assert held.reply_id == "fraud_hold" and held.ticket is None
    assert dm.on_utterance("s1", "我就是要转账").reply_id == "fraud_hold"
    assert book.store.all_tickets() == [], "no ticket moves the money on the robot's word"
    assert len(alerts) == 1, "one alert per level a session reaches"


def test_task_scam_transfer_is_warned(dm, alerts):
    reply = dm.on_utterance("s2", "有人让我刷单返利，我要转账五万")
    assert reply.reply_id.startswith("fraud_") and reply.handoff, reply
    assert alerts and alerts[0].level == "high"


def test_english_scam_is_warned_in_english(dm, alerts):
    reply = dm.on_utterance("s3", "The customs officer on the phone said I must wire my "
                                  "savings to a safe account today and not tell the bank")
    assert reply.reply_id.startswith("fraud_") and reply.language == "en", reply
    assert alerts and alerts[0].reasons


@pytest.mark.parametrize("turns", [
    ["我要给我女儿转学费", "对"],
    ["I need to send money to my mum", "yes"],
    ["我要取五万块钱", "对"],
])
def test_ordinary_transfers_raise_nothing_and_are_ticketed(dm, book, alerts, turns):
    assert dm.on_utterance("s4", turns[0]).reply_id == "confirm"
    done = dm.on_utterance("s4", turns[1])
    assert done.ticket is not None and done.ticket.number
    assert alerts == []
    assert book.store.all_tickets()[0].risk_level == 0


def test_flagged_session_tickets_carry_the_flag(dm, book, alerts):
    dm.on_utterance("s5", "刚才公安局的人打电话说我涉嫌洗钱，让我别告诉任何人")
    assert alerts
    dm.on_service_chosen("s5", "personal", "zh", "tap-1")  # other business goes on
    [ticket] = book.store.all_tickets()
    assert ticket.risk_level == 2, "the teller sees the flag"


def test_audit_log_holds_the_alert_with_redacted_words(dm, tmp_path):
    dm.on_utterance("s6", "警察让我把钱转到安全账户，我的电话是13812345678")
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    [alert] = [r for r in records if r.get("kind") == "risk_alert"]
    assert "13812345678" not in json.dumps(records, ensure_ascii=False)
    assert "[PHONE]" in alert["excerpt"] and alert["level"] == "high"


def test_nlu_reports_the_risk_of_an_utterance(nlu):
    risky = nlu.understand("对方说是公检法的安全账户，让我马上转过去").as_json()
    plain = nlu.understand("洗手间在哪").as_json()
    assert risky["risk"]["level"] != "none" and risky["risk"]["reasons"]
    assert plain["risk"] == {"level": "none", "score": plain["risk"]["score"], "reasons": []}
