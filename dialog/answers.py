"""Bare answers to the robot's yes/no question: what "好" means depends on what was asked.

After "您是要挂失银行卡，对吗？" a one-word reply is a yes or a no, whatever the intent model
makes of it out of context ("好" alone reads like the end of "你好", "好的好的" like a
farewell). Only a whole, short answer counts — repeated ("对对对") or with a particle
("好啊") — and only while a question is pending; anything longer goes to the model.
"""

from __future__ import annotations

import re

_YES = {
    "好", "好的", "好啊", "好呀", "好吧", "好嘞", "嗯", "嗯嗯", "嗯好", "对", "对的", "对啊",
    "是", "是的", "是啊", "是呀", "没错", "可以", "行", "行的", "要", "要的", "没问题", "就是",
    "yes", "yeah", "yep", "yup", "ok", "okay", "sure", "right", "correct", "exactly",
    "yes please", "that's right", "thats right", "that's it", "uh huh",
}
_NO = {
    "不", "不是", "不对", "不用", "不用了", "不要", "不要了", "没有", "算了", "错了", "不是的",
    "no", "nope", "nah", "no thanks", "no thank you", "not really", "wrong", "that's wrong",
}
_EDGES = re.compile(r"^[\s,.!?;:，。！？、；：~…]+|[\s,.!?;:，。！？、；：~…]+$")
_REPEATED = re.compile(r"^(.+?)(?:[\s,，、]*\1)+$")


def bare_answer(text: str) -> str | None:
    """``"affirm"``, ``"deny"`` or None (not a bare answer: ask the model)."""
    answer = _EDGES.sub("", text.strip().lower())
    answer = _REPEATED.sub(r"\1", answer)
    if answer in _YES:
        return "affirm"
    if answer in _NO:
        return "deny"
    return None
