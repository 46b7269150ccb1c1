"""Slots a customer says: amounts, currencies, ticket numbers, account types, personal numbers."""

from __future__ import annotations

import pytest

from dialog.slots import CURRENCY_NAMES, extract_slots


def slots(text: str) -> dict[str, str]:
    return {s.name: s.normalized for s in extract_slots(text)}


@pytest.mark.parametrize("text, amount", [
    ("我要取五万", "50000"),
    ("取两千五", "2500"),
    ("存两万块钱", "20000"),
    ("一万二存定期", "12000"),
    ("转1.5万给我妈", "15000"),
    ("我要取三万五千块人民币", "35000"),
    ("I want to withdraw two thousand five hundred dollars", "2500"),
    ("can I take out 3000 dollars", "3000"),
    ("I need to wire 3k to Canada", "3000"),
    ("deposit $3,000 please", "3000"),
    ("兑换1000欧元", "1000"),
])
def test_amounts(text, amount):
    assert slots(text)["amount"] == amount


@pytest.mark.parametrize("text", [
    "今天十点开门吗", "我今年六十五岁了", "我们三个人一起办", "what time do you open, 9 am?",
    "I am 70 years old", "还要等多久",
])
def test_numbers_that_are_not_money_are_not_amounts(text):
    assert "amount" not in slots(text)


@pytest.mark.parametrize("text, currency", [
    ("换点美元", "USD"), ("what's the euro rate today", "EUR"), ("存两万块钱", "CNY"),
    ("I'd like some Japanese yen", "JPY"), ("港币汇率多少", "HKD"), ("$500 please", "USD"),
])
def test_currencies(text, currency):
    assert slots(text)["currency"] == currency


def test_every_currency_customers_are_taught_to_ask_for_is_a_currency_slot():
    """The intent data asks for these by name (build_dataset): the slot must know them too."""
    for code, (zh_names, en_names) in CURRENCY_NAMES.items():
        for name in zh_names:
            assert currency_of(f"我想换两千{name}") == code, name
        for name in en_names:
            assert currency_of(f"I need 2000 {name} please") == code, name
    assert currency_of("is this for real") is None and currency_of("we won") is None


def currency_of(text: str) -> str | None:
    found = [s.normalized for s in extract_slots(text) if s.name == "currency"]
    return found[0] if found else None


def test_one_currency_slot_per_currency():
    names = [s.name for s in extract_slots("我要取三万五千块人民币")]
    assert names.count("currency") == 1


@pytest.mark.parametrize("text, ticket", [
    ("我的号是A023，还要等多久", "A023"), ("is A12 called yet", "A012"),
    ("my ticket is b 105", "B105"), ("C零零七号到了吗", "C007"),
])
def test_ticket_numbers(text, ticket):
    found = slots(text)
    assert found["ticket_number"] == ticket
    assert "amount" not in found


@pytest.mark.parametrize("text, account", [
    ("我想开个信用卡", "credit_card"), ("open a savings account", "savings"),
    ("存五万定期", "time_deposit"), ("my debit card is broken", "debit_card"),
    ("公司账户怎么开", "business"),
])
def test_account_types(text, account):
    assert slots(text)["account_type"] == account


@pytest.mark.parametrize("text, name", [
    ("我手机号13812345678要换", "phone"),
    ("卡号6222 0212 3456 7890 123丢了", "card_number"),
    ("my ID is 11010519491231002X", "id_number"),
])
def test_personal_numbers_are_recognised_but_never_carried_in_clear(text, name):
    [slot] = [s for s in extract_slots(text) if s.name == name]
    digits = "".join(ch for ch in text if ch.isdigit())
    assert slot.value.startswith("[") and slot.normalized == "****" + digits[-4:]
    assert digits not in slot.value + slot.normalized
    assert all(s.name != "amount" for s in extract_slots(text)), "a phone is not an amount"
