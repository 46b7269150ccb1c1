"""Conversations with the dialog manager (real NLU model, real routing book), zh and en."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialog.issuers import BookIssuer
from dialog.manager import AuditLog, DialogManager, TicketResult
from dialog.nlu import NLU

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def dm(nlu, book, tmp_path) -> DialogManager:
    return DialogManager(nlu, BookIssuer(book), audit=AuditLog(tmp_path / "audit.jsonl"))


def test_lost_card_is_confirmed_then_ticketed_for_personal(dm, book, tmp_path):
    assert dm.on_engaged("s1").reply_id == "greet"
    confirm = dm.on_utterance("s1", "我的卡丢了")
    assert confirm.reply_id == "confirm" and confirm.text == "您是要挂失银行卡，对吗？"
    assert book.store.all_tickets() == [], "no ticket before the customer confirms"
    done = dm.on_utterance("s1", "对")
    assert done.ticket is not None and done.ticket.number.startswith("B")  # personal: B
    assert done.ticket.number in done.text and done.language == "zh"
    [ticket] = book.store.all_tickets()
    assert ticket.service == "personal"
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [a["reply_id"] for a in audit] == ["greet", "confirm", done.reply_id]


@pytest.mark.parametrize("answer", ["好", "好的好的", "嗯，对对对。"])
def test_a_bare_chinese_yes_confirms_whatever_the_model_makes_of_it_alone(dm, book, answer):
    """Out of context the model reads "好" as a greeting and "好的好的" as goodbye."""
    assert dm.on_utterance("s1", "我的卡丢了").reply_id == "confirm"
    done = dm.on_utterance("s1", answer)
    assert done.ticket is not None and done.ticket.number.startswith("B"), done
    assert dm.last_understanding.intent == "affirm"
    assert dm.on_utterance("s1b", "我想换点美元").reply_id == "confirm"
    assert dm.on_utterance("s1b", "不用了").reply_id == "ask_again"
    assert len(book.store.all_tickets()) == 1


def test_english_customer_denies_then_asks_for_something_else(dm, book):
    dm.on_engaged("s2", "en")
    first = dm.on_utterance("s2", "the ATM ate my card")
    assert first.reply_id == "confirm" and "replace your card" in first.text
    assert dm.on_utterance("s2", "no that's wrong").reply_id == "ask_again"
    assert dm.on_utterance("s2", "I want to deposit some cash").reply_id == "confirm"
    done = dm.on_utterance("s2", "yes please")
    assert done.language == "en" and done.ticket.number.startswith("A")  # cash: A
    assert book.store.all_tickets()[0].service == "cash"


@pytest.mark.parametrize("text, entry, language", [
    ("洗手间在哪", "faq.restroom", "zh"), ("what time do you close", "faq.hours", "en"),
    ("开户需要带什么", "faq.docs_open_account", "zh"),
])
def test_faq_answers_carry_their_entry_id(dm, text, entry, language):
    reply = dm.on_utterance("s3", text)
    assert reply.reply_id == entry and reply.language == language
    assert reply.text == dm.content.faq[[f.id for f in dm.content.faq].index(entry)].answer[
        language]


def test_two_unclear_utterances_offer_a_human(dm):
    first = dm.on_utterance("s4", "blah blah")
    assert first.reply_id in ("clarify", "out_of_scope") and not first.handoff
    second = dm.on_utterance("s4", "hmm the thing, you know")
    assert second.reply_id == "offer_human" and second.handoff
    # Understood in between: the count starts again.
    dm.on_utterance("s7", "flurb wozzle")
    dm.on_utterance("s7", "我要取钱")
    assert dm.on_utterance("s7", "what's the capital of Peru").reply_id == "out_of_scope"


def test_complaint_and_staff_requests_go_to_a_human(dm):
    assert dm.on_utterance("s5", "我要投诉").handoff
    assert dm.on_utterance("s6", "can I talk to a person").reply_id == "human"


def test_barge_in_new_utterance_is_answered_at_once(dm):
    """The customer talks over the confirmation question with a new request: it wins."""
    assert dm.on_utterance("s7", "我要取五万").reply_id == "confirm"
    interrupting = dm.on_utterance("s7", "不对，我要换美元")
    assert interrupting.reply_id == "confirm" and "兑换外币" in interrupting.text
    done = dm.on_utterance("s7", "对")
    assert done.ticket.number.startswith("E")  # forex, not the cash request talked over


def test_routing_unavailable_hands_over_to_staff(nlu):
    def down(*_args):
        return TicketResult(False, error="no server", unavailable=True)

    dm = DialogManager(nlu, down)
    dm.on_utterance("s8", "I want to withdraw cash")
    reply = dm.on_utterance("s8", "yes")
    assert reply.reply_id == "routing_unavailable" and reply.handoff


def test_audit_log_never_holds_personal_numbers(dm, tmp_path):
    dm.on_utterance("s9", "我手机号13812345678要换")
    log = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    assert "13812345678" not in log and "[PHONE]" in log


def test_idle_sessions_are_forgotten(nlu, book):
    now = [0.0]
    dm = DialogManager(nlu, BookIssuer(book), clock=lambda: now[0], idle_reset_s=60)
    dm.on_utterance("s10", "我的卡丢了")
    now[0] = 200.0
    assert dm.expire_idle() == ["s10"]
    assert dm.on_utterance("s10", "对").reply_id != "ticket"  # the confirmation was forgotten


def test_chat_command_holds_a_conversation(tmp_path, all_day_config):
    import subprocess
    import sys

    config = all_day_config
    audit = tmp_path / "audit.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "lobbybot", "chat", "--branch-config", str(config),
         "--audit", str(audit)], input="我的卡丢了\n对\n谢谢再见\n", capture_output=True,
        text=True, timeout=60, cwd=REPO)
    lines = [line for line in result.stdout.splitlines() if line.startswith("robot>")]
    assert result.returncode == 0
    assert "挂失银行卡" in lines[1] and "[confirm]" in lines[1]
    assert "B001" in lines[2]
    assert "[goodbye]" in lines[3]
    assert len(audit.read_text(encoding="utf-8").splitlines()) == 4


@pytest.mark.parametrize("text, entry", [
    ("取五万以上要提前预约吗", "faq.large_withdrawal"),
    ("how many dollars can I buy per year", "faq.fx_quota"),
    ("老人可以优先吗", "faq.priority"),
])
def test_more_faq_entries(dm, text, entry):
    assert dm.on_utterance("faq", text).reply_id == entry


def test_every_faq_question_finds_its_own_entry(dm):
    for entry in dm.content.faq:
        for language in ("zh", "en"):
            for question in entry.questions[language]:
                found, similarity = dm.content.best_faq(question)
                assert found.id == entry.id and similarity > 0.99, question


class FixedReading(NLU):
    """The real NLU (slots, language) with the model's reading fixed, so the policy is
    what is tested, not where the current model happens to put one utterance."""

    def __init__(self, nlu: NLU, top: list[tuple[str, float]]):
        self._nlu, self._top = nlu, top

    def understand(self, text: str):
        from dataclasses import replace

        u = self._nlu.understand(text)
        return replace(u, intent=self._top[0][0], confidence=self._top[0][1], top=self._top)


def test_unsure_which_card_problem_but_sure_of_the_counter_confirms(nlu, book, tmp_path):
    """Split between two intents the same counter serves, the customer is not asked to say
    it again: the robot confirms and issues the ticket. Split between counters, it asks."""
    same_counter = FixedReading(nlu, [("card_replacement", 0.49), ("card_lost", 0.48),
                                      ("complaint", 0.01)])
    dm = DialogManager(same_counter, BookIssuer(book), audit=AuditLog(tmp_path / "a.jsonl"))
    assert dm.on_utterance("s1", "我的卡被吞了").reply_id == "confirm"
    dm.nlu = nlu
    reply = dm.on_utterance("s1", "对")
    assert reply.ticket is not None and reply.ticket.service == "personal"

    two_counters = FixedReading(nlu, [("card_replacement", 0.49), ("loan", 0.48),
                                      ("complaint", 0.01)])
    dm = DialogManager(two_counters, BookIssuer(book), audit=AuditLog(tmp_path / "b.jsonl"))
    assert dm.on_utterance("s2", "我的卡被吞了").reply_id == "clarify"
