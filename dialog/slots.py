"""Slots: the values in an utterance that are not the intent (shared/intents.md notes).

Amounts (五万, 两千五, 1.5万, 3k, "two thousand five hundred", $3,000), currencies, ticket
numbers (A023), account/card types, and personal numbers (phone, card, national ID). The
personal numbers are recognised so the dialog can confirm them ("尾号5678"), but a slot
never carries them in clear: ``value`` is the redaction tag and ``normalized`` keeps only
the last four digits. Numerals are normalised with cn2an (Chinese) and text2num (English)
rather than hand-written parsers.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import cn2an
from text_to_num import alpha2digit

from lobbybot.redact import find_sensitive

SENSITIVE_SLOTS = {"PHONE": "phone", "CARD": "card_number", "ID": "id_number"}

CURRENCIES: dict[str, str] = {
    "人民币": "CNY", "元": "CNY", "块钱": "CNY", "块": "CNY", "rmb": "CNY", "yuan": "CNY",
    "cny": "CNY", "kuai": "CNY", "¥": "CNY", "￥": "CNY",
    "美元": "USD", "美金": "USD", "刀": "USD", "usd": "USD", "dollars": "USD", "dollar": "USD",
    "us$": "USD", "$": "USD",
    "欧元": "EUR", "eur": "EUR", "euros": "EUR", "euro": "EUR", "€": "EUR",
    "日元": "JPY", "日币": "JPY", "jpy": "JPY", "yen": "JPY",
    "英镑": "GBP", "gbp": "GBP", "pounds": "GBP", "pound": "GBP", "£": "GBP",
    "港币": "HKD", "港元": "HKD", "hkd": "HKD", "hk$": "HKD", "hong kong dollars": "HKD",
    "加元": "CAD", "加币": "CAD", "cad": "CAD", "canadian dollars": "CAD",
    "澳元": "AUD", "澳币": "AUD", "aud": "AUD", "australian dollars": "AUD",
    "韩元": "KRW", "krw": "KRW", "won": "KRW", "korean won": "KRW",
    # Less common ones a branch near a border, a port or a university still sees. English
    # names that are also ordinary words (real, rand, kip) are left out on purpose.
    "新加坡元": "SGD", "新币": "SGD", "singapore dollars": "SGD",
    "新西兰元": "NZD", "纽币": "NZD", "new zealand dollars": "NZD",
    "瑞士法郎": "CHF", "瑞郎": "CHF", "swiss francs": "CHF", "francs": "CHF",
    "澳门元": "MOP", "澳门币": "MOP", "patacas": "MOP",
    "新台币": "TWD", "台币": "TWD", "taiwan dollars": "TWD",
    "泰铢": "THB", "baht": "THB",
    "林吉特": "MYR", "马币": "MYR", "ringgit": "MYR",
    "印尼盾": "IDR", "rupiah": "IDR",
    "菲律宾比索": "PHP", "philippine pesos": "PHP",
    "越南盾": "VND", "vietnamese dong": "VND",
    "卢布": "RUB", "roubles": "RUB", "rubles": "RUB",
    "印度卢比": "INR", "卢比": "INR", "rupees": "INR",
    "迪拉姆": "AED", "dirhams": "AED",
    "沙特里亚尔": "SAR", "riyals": "SAR",
    "土耳其里拉": "TRY", "lira": "TRY",
    "瑞典克朗": "SEK", "kronor": "SEK", "挪威克朗": "NOK", "kroner": "NOK",
    "丹麦克朗": "DKK", "danish kroner": "DKK",
    "墨西哥比索": "MXN", "mexican pesos": "MXN", "pesos": "MXN",
    "南非兰特": "ZAR", "兰特": "ZAR", "south african rand": "ZAR",
    "巴西雷亚尔": "BRL", "brazilian reais": "BRL",
    "柬埔寨瑞尔": "KHR", "riel": "KHR", "老挝基普": "LAK", "lao kip": "LAK",
    "缅甸元": "MMK", "kyat": "MMK", "蒙古图格里克": "MNT", "tugrik": "MNT",
    "坚戈": "KZT", "tenge": "KZT", "以色列谢克尔": "ILS", "shekels": "ILS",
}
# How customers name a currency when they ask to change money (training data, build_dataset).
CURRENCY_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # code: (zh, en)
    "USD": (("美元", "美金"), ("US dollars", "American dollars")),
    "EUR": (("欧元",), ("euros",)), "JPY": (("日元", "日币"), ("Japanese yen", "yen")),
    "GBP": (("英镑",), ("British pounds", "pounds sterling")),
    "HKD": (("港币", "港元"), ("Hong Kong dollars",)), "MOP": (("澳门元",), ("Macau patacas",)),
    "TWD": (("新台币",), ("New Taiwan dollars",)), "KRW": (("韩元",), ("Korean won",)),
    "AUD": (("澳元",), ("Australian dollars",)), "NZD": (("新西兰元",), ("New Zealand dollars",)),
    "CAD": (("加元", "加币"), ("Canadian dollars",)), "CHF": (("瑞士法郎",), ("Swiss francs",)),
    "SGD": (("新加坡元", "新币"), ("Singapore dollars",)), "THB": (("泰铢",), ("Thai baht",)),
    "MYR": (("林吉特", "马币"), ("Malaysian ringgit",)),
    "IDR": (("印尼盾",), ("Indonesian rupiah",)),
    "PHP": (("菲律宾比索",), ("Philippine pesos",)), "VND": (("越南盾",), ("Vietnamese dong",)),
    "INR": (("印度卢比",), ("Indian rupees",)), "RUB": (("卢布",), ("Russian roubles", "rubles")),
    "AED": (("迪拉姆",), ("UAE dirhams",)), "SAR": (("沙特里亚尔",), ("Saudi riyals",)),
    "TRY": (("土耳其里拉",), ("Turkish lira",)), "SEK": (("瑞典克朗",), ("Swedish kronor",)),
    "NOK": (("挪威克朗",), ("Norwegian kroner",)), "DKK": (("丹麦克朗",), ("Danish kroner",)),
    "MXN": (("墨西哥比索",), ("Mexican pesos",)), "ZAR": (("南非兰特",), ("South African rand",)),
    "BRL": (("巴西雷亚尔",), ("Brazilian reais",)), "KHR": (("柬埔寨瑞尔",), ("Cambodian riel",)),
    "LAK": (("老挝基普",), ("Lao kip",)), "MMK": (("缅甸元",), ("Myanmar kyat",)),
    "MNT": (("蒙古图格里克",), ("Mongolian tugrik",)), "KZT": (("坚戈",), ("Kazakh tenge",)),
    "ILS": (("以色列谢克尔",), ("Israeli shekels",)),
}
ACCOUNT_TYPES: dict[str, str] = {
    "信用卡": "credit_card", "credit card": "credit_card",
    "借记卡": "debit_card", "储蓄卡": "debit_card", "debit card": "debit_card",
    "银行卡": "debit_card", "bank card": "debit_card",
    "定期": "time_deposit", "存单": "time_deposit", "fixed deposit": "time_deposit",
    "time deposit": "time_deposit", "cd": "time_deposit",
    "活期": "savings", "储蓄账户": "savings", "savings": "savings",
    "支票": "checking", "checking": "checking", "current account": "checking",
    "对公账户": "business", "公司账户": "business", "企业账户": "business",
    "business account": "business", "corporate account": "business",
    "外币账户": "foreign_currency", "foreign currency account": "foreign_currency",
}
MULTIPLIERS = {"亿": 10**8, "万": 10**4, "w": 10**4, "千": 10**3, "k": 10**3,
               "thousand": 10**3, "grand": 10**3, "百": 100, "hundred": 100,
               "million": 10**6, "m": 10**6}
MONEY_WORDS = re.compile(
    r"(取|存|转|汇|换|兑|还|付|缴|交|贷|借|提|withdraw|deposit|transfer|send|wire|take out|"
    r"pay|exchange|change|borrow|loan|remit|cash)", re.IGNORECASE)
NOT_MONEY_AFTER = re.compile(r"^\s*(点|号|分|月|岁|年|楼|层|位|个人|人|次|天|周|小时|:|：|%|"
                             r"percent|o'clock|am|pm|years?|people|floor|minutes?|hours?|days?)",
                             re.IGNORECASE)

_CUR = "|".join(sorted((re.escape(c) for c in CURRENCIES), key=len, reverse=True))
_MULT = "|".join(sorted(MULTIPLIERS, key=len, reverse=True))
_AMOUNT = re.compile(
    rf"(?P<pre>{_CUR})?\s*(?P<num>\d+(?:,\d{{3}})*(?:\.\d+)?)\s*(?P<mult>{_MULT})?(?![a-z])"
    rf"\s*(?P<cur>{_CUR})?", re.IGNORECASE)
_TICKET = re.compile(r"(?<![A-Za-z0-9])([A-Za-z])\s?-?\s?(\d{2,4})(?:\s?号)?(?![\d.])")
_CN_DIGITS = str.maketrans("零〇一二两三四五六七八九", "001223456789")
_TICKET_CN = re.compile(r"(?<![A-Za-z])([A-Za-z])\s?([零〇一二两三四五六七八九]{2,4})(?:\s?号)?")


@dataclass(frozen=True)
class Slot:
    name: str
    value: str  # the words matched, numerals as digits (a tag for personal numbers)
    normalized: str


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _to_digits(text: str) -> str:
    """Chinese and English number words → digits (cn2an, text2num); other text unchanged."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cn2an warns on fragments it leaves alone
        with contextlib.suppress(ValueError, KeyError, IndexError):
            text = cn2an.transform(text, "cn2an")
    if re.search(r"[A-Za-z]", text):
        text = alpha2digit(text, "en")
    return text


def _amount_value(number: str, multiplier: str | None) -> str | None:
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    if multiplier:
        value *= MULTIPLIERS[multiplier.lower()]
    value = value.normalize()
    text = f"{value:f}"
    return text[:-2] if text.endswith(".0") else text


def extract_slots(text: str) -> list[Slot]:
    """Every slot in ``text`` (Chinese, English or mixed), in the order they appear."""
    found: list[tuple[int, Slot]] = []
    work = text
    for kind, start, end in find_sensitive(text):
        digits = re.sub(r"\D", "", text[start:end])
        found.append((start, Slot(SENSITIVE_SLOTS[kind], f"[{kind}]", "*" * 4 + digits[-4:])))
        work = _blank(work, start, end)
    for pattern, convert in ((_TICKET, lambda d: d), (_TICKET_CN, lambda d: d.translate(
            _CN_DIGITS))):
        for match in pattern.finditer(work):
            letter, digits = match.group(1).upper(), convert(match.group(2))
            if match.group(1).islower() and pattern is _TICKET and not re.search(
                    r"(ticket|number|号|票)", text, re.IGNORECASE):
                continue  # "a 20" in English is an article and a number, not ticket A020
            found.append((match.start(), Slot("ticket_number", match.group(0).strip(),
                                              f"{letter}{int(digits):03d}")))
            work = _blank(work, match.start(), match.end())
    found += _amounts_and_currencies(work)
    lowered = text.lower()
    for phrase, account in sorted(ACCOUNT_TYPES.items(), key=lambda kv: -len(kv[0])):
        for match in re.finditer(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", lowered):
            if not any(s.name == "account_type" and pos <= match.start() < pos + 6
                       for pos, s in found):
                found.append((match.start(), Slot("account_type", text[match.start():
                                                  match.end()], account)))
    found.sort(key=lambda item: item[0])
    unique: list[Slot] = []
    for _, slot in found:
        duplicate = slot in unique or (slot.name == "currency" and any(
            u.name == "currency" and u.normalized == slot.normalized for u in unique))
        if not duplicate:
            unique.append(slot)
    return unique


def _amounts_and_currencies(work: str) -> list[tuple[int, Slot]]:
    """Amounts and currencies, from a copy of the text with personal numbers blanked."""
    converted = _to_digits(work)
    scale = len(work) / max(1, len(converted))  # rough position map after conversion
    out: list[tuple[int, Slot]] = []
    currency_spans: list[tuple[int, int]] = []
    for match in _AMOUNT.finditer(converted):
        pre, num, mult, cur = (match.group("pre"), match.group("num"), match.group("mult"),
                               match.group("cur"))
        after = converted[match.end("num"):]
        if mult is None and cur is None and pre is None:
            if NOT_MONEY_AFTER.match(after):
                continue
            context = (converted[max(0, match.start() - 12):match.start()] + " " +
                       converted[match.end():match.end() + 3])
            if not MONEY_WORDS.search(context):
                continue  # a bare number with no money context is not an amount
        value = _amount_value(num, mult)
        if value is None:
            continue
        out.append((int(match.start() * scale), Slot("amount", match.group(0).strip(), value)))
        currency = cur or pre
        if currency:
            code = CURRENCIES[currency.lower()]
            start = match.start("cur") if cur else match.start("pre")
            out.append((int(start * scale), Slot("currency", currency, code)))
            currency_spans.append((match.start(), match.end()))
    lowered = converted.lower()
    for word, code in sorted(CURRENCIES.items(), key=lambda kv: -len(kv[0])):
        if len(word) == 1 and not word.isalpha():
            continue  # symbols only count next to a number
        for match in re.finditer(rf"(?<![a-z]){re.escape(word)}(?![a-z])", lowered):
            if any(s <= match.start() < e for s, e in currency_spans):
                continue
            if word in ("元", "块", "刀", "won", "m"):
                continue  # too ambiguous without a number
            out.append((int(match.start() * scale), Slot("currency", converted[
                match.start():match.end()], code)))
            currency_spans.append((match.start(), match.end()))
    return out
