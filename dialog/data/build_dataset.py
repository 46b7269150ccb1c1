"""Build the intent dataset (intents.jsonl) from the hand-written cores in seeds.tsv (and
the train-only cores of seeds_train.tsv).

Each core utterance is expanded the way customers and the ASR vary it: polite openings and
fillers, elderly phrasing, zh/en code-mixing, Chinese ASR homophones, English typos and
lower-case unpunctuated ASR text, and different amounts. Splits are by core (all variants
of one core land in one split), so dev/test measure utterances whose wording the model
never saw, and no normalised text appears in two splits. Deterministic (fixed seed).

    python dialog/data/build_dataset.py        # writes dialog/data/intents.jsonl
"""

from __future__ import annotations

import difflib
import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

from dialog.slots import CURRENCY_NAMES

HERE = Path(__file__).parent
MIN_PER_LABEL = 150
SPLIT_SHARES = (("test", 0.15), ("dev", 0.15))  # the rest is train

ZH_PREFIX = ["", "你好，", "请问", "麻烦问一下，", "不好意思，", "那个，", "嗯，", "师傅，",
             "您好，我想问下", "打扰一下，", "喂，", "我问一下啊，"]
ZH_SUFFIX = ["", "。", "？", "，谢谢", "，麻烦了", "啊", "呢", "吧", "，急", "，怎么弄"]
ZH_ELDERLY = ["姑娘，我年纪大了不太会弄，", "小伙子，帮帮我，", "我老头子不懂这些，",
              "孩子，我眼睛不好，", "我是退休的，"]
EN_PREFIX = ["", "hi, ", "excuse me, ", "hello, ", "um, ", "sorry, ", "could you help me, ",
             "good morning, ", "hey, ", "so ", "yeah "]
EN_SUFFIX = ["", " please", ", thanks", "?", " thank you", " today", ", quickly"]
EN_ELDERLY = ["sorry dear, I'm not good with these things, ", "young man, can you help me, ",
              "I'm a bit old for this, ", "my eyes aren't good, "]
ZH_AMOUNTS = ["五万", "两千五", "3000", "一万二", "1.5万", "两百", "八千块", "十万", "500块钱",
              "三千"]
EN_AMOUNTS = ["3000", "two thousand", "five hundred dollars", "$200", "3k", "10,000 yuan",
              "fifty thousand", "800"]
# Frequent ASR confusions of Mandarin (same or near pinyin).
HOMOPHONES = {"卡": "咖", "户": "护", "取": "去", "存": "村", "钱": "前", "码": "马", "账": "帐",
              "转": "专", "款": "宽", "理": "里", "财": "才", "汇": "会", "销": "消", "挂": "卦",
              "贷": "代", "额": "俄", "率": "律", "号": "好", "办": "半", "密": "秘", "丢": "都",
              "余": "于", "费": "飞", "投": "头", "诉": "速", "等": "登", "换": "还", "开": "凯"}
ZH_TO_EN = {"信用卡": "credit card", "银行卡": "bank card", "账户": "account", "密码": "PIN",
            "手机银行": "app", "转账": "transfer", "余额": "balance", "贷款": "loan",
            "理财": "investment", "汇率": "rate", "美元": "USD", "流水": "statement",
            "投诉": "complain", "经理": "manager", "挂失": "report lost", "房贷": "mortgage",
            "取款机": "ATM", "卡": "card", "销户": "close account"}
EN_TO_ZH = {"credit card": "信用卡", "card": "卡", "account": "账户", "PIN": "密码",
            "loan": "贷款", "ATM": "取款机", "balance": "余额", "transfer": "转账",
            "mortgage": "房贷", "statement": "流水"}
SHORT_LABELS = {"greeting", "goodbye", "affirm", "deny"}
# Interchangeable ways of asking, so a request is learnt apart from its phrasing.
ZH_PARAPHRASE = [("我想", ["我要", "我打算", "我需要", "想", "我准备"]),
                 ("我要", ["我想", "我得", "我需要", "帮我"]),
                 ("怎么办", ["怎么弄", "咋办", "怎么处理", "要怎么做"]),
                 ("帮我", ["麻烦你", "请帮我", "给我"]),
                 ("在哪", ["在哪里", "在什么地方", "在哪儿"]),
                 ("吗", ["没有", "不"]),
                 ("可以", ["能", "能不能", "行不行"])]
EN_PARAPHRASE = [("I want to", ["I'd like to", "I need to", "I wanna", "can I", "I have to"]),
                 ("I'd like to", ["I want to", "I need to", "I'm here to", "could I"]),
                 ("I need", ["I want", "I'd like", "I must get"]),
                 ("how do I", ["how can I", "what's the way to", "how would I"]),
                 ("can I", ["could I", "is it possible to", "may I"]),
                 ("please", ["if you can", "for me please"]),
                 ("my", ["my own"])]


def normalise(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text.lower())


def read_seeds(name: str = "seeds.tsv") -> list[tuple[str, str, str]]:
    rows = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            label, lang, text = line.split("\t")
            rows.append((label, lang, text))
    return rows


def fill(text: str, lang: str, rng: random.Random) -> str:
    amounts = ZH_AMOUNTS if lang == "zh" else EN_AMOUNTS
    return text.replace("{amt}", rng.choice(amounts))


def homophone(text: str, rng: random.Random) -> str | None:
    spots = [i for i, ch in enumerate(text) if ch in HOMOPHONES]
    if not spots:
        return None
    i = rng.choice(spots)
    return text[:i] + HOMOPHONES[text[i]] + text[i + 1:]


def typo(text: str, rng: random.Random) -> str | None:
    words = [i for i, w in enumerate(text.split()) if len(w) > 3 and w.isalpha()]
    if not words:
        return None
    parts = text.split()
    i = rng.choice(words)
    w = parts[i]
    j = rng.randrange(len(w) - 1)
    parts[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:] if rng.random() < 0.6 else w[:j] + w[j + 1:]
    return " ".join(parts)


def code_mix(text: str, lang: str, rng: random.Random) -> str | None:
    table = ZH_TO_EN if lang == "zh" else EN_TO_ZH
    hits = [k for k in table if (k in text if lang == "zh" else
                                 re.search(rf"\b{re.escape(k)}\b", text, re.IGNORECASE))]
    if not hits:
        return None
    key = max(hits, key=len)
    if lang == "zh":
        return text.replace(key, f" {table[key]} ", 1).replace("  ", " ").strip()
    return re.sub(rf"\b{re.escape(key)}\b", table[key], text, count=1, flags=re.IGNORECASE)


def variants(label: str, lang: str, core: str, rng: random.Random,
             round_: int) -> list[tuple[str, str]]:
    """(text, kind) variants of one core; later rounds draw new random choices."""
    out = [(fill(core, lang, rng), "core" if round_ == 0 else "amount")]
    zh = lang == "zh"
    base = fill(core, lang, rng)
    prefix, suffix = (ZH_PREFIX, ZH_SUFFIX) if zh else (EN_PREFIX, EN_SUFFIX)
    out.append((rng.choice(prefix[1:]) + base + rng.choice(suffix), "polite"))
    out.append((rng.choice(prefix) + base + rng.choice(suffix[1:]), "filler"))
    if label not in SHORT_LABELS and rng.random() < 0.6:
        out.append((rng.choice(ZH_ELDERLY if zh else EN_ELDERLY) + base, "elderly"))
    rephrased = paraphrase(base, lang, rng)
    if rephrased:
        out.append((rephrased, "paraphrase"))
    mixed = code_mix(base, lang, rng)
    if mixed:
        out.append((mixed, "code_mixed"))
    noisy = homophone(base, rng) if zh else typo(base, rng)
    if noisy:
        out.append((noisy, "asr_homophone" if zh else "typo"))
    if not zh:
        out.append((re.sub(r"[^\w\s$]", "", base).lower(), "asr_text"))
    return out


def paraphrase(text: str, lang: str, rng: random.Random) -> str | None:
    table = ZH_PARAPHRASE if lang == "zh" else EN_PARAPHRASE
    hits = [(old, news) for old, news in table if old in text]
    if not hits:
        return None
    old, news = rng.choice(hits)
    return text.replace(old, rng.choice(news), 1)


# What the recogniser makes of noise, coughs, a radio or a language it does not know: word
# salad that must come out as out_of_scope, not as the nearest short intent ("嗯" and "ok"
# are real answers, so fillers alone are not noise). Neutral characters and words only.
NOISE_ZH_CHARS = ("的了是在人有他这个们中来上大为和国地到以说时就出会可也生能而子那得于着下自之"
                  "年过发后作里道所然家种事成方多经么法学如都同现当动面起看定天分进小部其些主样"
                  "理心她本前但因只从实")
NOISE_EN_WORDS = ["the", "of", "and", "a", "in", "is", "it", "that", "was", "he", "for", "on",
                  "are", "as", "with", "his", "they", "at", "be", "this", "from", "or", "had",
                  "by", "word", "but", "what", "some", "we", "there", "use", "an", "each",
                  "which", "she", "do", "how", "their", "if", "will", "up", "other", "about",
                  "out", "many", "then", "them", "these", "so", "would", "make", "like",
                  "him", "into", "time", "has", "look", "two", "more", "write", "go", "see"]
NOISE_PER_LANGUAGE = 110


def noise_utterances(rng: random.Random) -> list[tuple[str, str]]:
    """(lang, text) word salad, keyboard mashing and repeated syllables."""
    out = []
    for _ in range(NOISE_PER_LANGUAGE):
        kind = rng.random()
        if kind < 0.6:
            text = "".join(rng.choice(NOISE_ZH_CHARS) for _ in range(rng.randint(3, 9)))
        elif kind < 0.8:
            syllable = rng.choice(["啊", "哦", "呃", "嗯啊", "哈", "呀", "喂喂", "那个", "这个",
                                   "就是", "然后"])
            text = syllable * rng.randint(3, 5)
        else:
            text = "".join(rng.choice(NOISE_ZH_CHARS) for _ in range(rng.randint(2, 4))) + " " + \
                "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 6)))
        out.append(("zh", text))
    for _ in range(NOISE_PER_LANGUAGE):
        kind = rng.random()
        if kind < 0.55:
            text = " ".join(rng.choice(NOISE_EN_WORDS) for _ in range(rng.randint(2, 7)))
        elif kind < 0.85:
            text = " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                                    for _ in range(rng.randint(2, 7)))
                            for _ in range(rng.randint(1, 3)))
        else:
            text = " ".join([rng.choice(["la", "na", "da", "uh", "oh", "ah", "mm", "hmm", "erm",
                                         "um", "blah", "meh", "yada", "so"])]
                            * rng.randint(3, 5))
        out.append(("en", text))
    return out


ZH_FOREX = ["我想换点{c}", "有没有{c}", "能换{c}吗", "{c}怎么换", "我要兑换{c}", "出国要用{c}",
            "人民币换{c}", "{c}汇率多少", "手上有些{c}想换回人民币", "我要买{c}"]
EN_FOREX = ["can I get some {c}", "do you have {c}", "I need {c} for my trip",
            "exchange yuan for {c}", "I'd like to buy {c}", "what's the rate for {c}",
            "change my {c} back into yuan", "I want to change money into {c}"]


def currency_requests(rng: random.Random) -> list[tuple[str, str]]:
    """(lang, text): a few ways of asking for each currency a branch may be asked for.

    Knowledge no hand-written core can cover (the ringgit, the dong, the dirham); train
    split only, so dev and test keep measuring wording the model never saw.
    """
    out = []
    for zh_names, en_names in CURRENCY_NAMES.values():
        for lang, names, templates in (("zh", zh_names, ZH_FOREX), ("en", en_names, EN_FOREX)):
            for template in rng.sample(templates, 3):
                out.append((lang, template.format(c=rng.choice(names))))
    return out


CORPUS_PACKAGE = "chatterbot-corpus==1.3.3"  # BSD-3-Clause
CORPUS_TOPICS = ("ai", "botprofile", "computers", "emotion", "food", "gossip", "history",
                 "humor", "literature", "movies", "politics", "psychology", "science",
                 "sports", "trivia")  # not greetings/conversations (hello, thanks, yes/no)
# or money (banking questions are in scope)
_BANKING = re.compile(r"bank|account|card|loan|money|cash|pay|deposit|interest|credit|debt|"
                      r"queue|ticket|银行|卡|钱|贷|存|取款|汇|利率|理财|账|排队|号")


def corpus_questions() -> list[tuple[str, str]]:
    """(lang, text): what people ask a chatbot about everything but banking, from the
    public ChatterBot corpus (first line of each conversation, Chinese and English topics
    that a bank lobby does not serve). Out-of-scope wording no one engineer would think of;
    lines that mention banking words, and long quiz questions, are left out."""
    try:
        import chatterbot_corpus
        import yaml
    except ImportError:
        raise SystemExit(f"building the dataset needs the ChatterBot corpus: "
                         f"pip install '{CORPUS_PACKAGE}'") from None
    root = Path(chatterbot_corpus.__file__).parent / "data"
    out = []
    for lang, folder in (("en", "english"), ("zh", "chinese")):
        for topic in CORPUS_TOPICS:
            path = root / folder / f"{topic}.yml"
            if not path.exists():
                continue
            for conversation in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
                line = str(conversation[0]).strip()
                if 2 <= len(line) <= 70 and not _BANKING.search(line.lower()):
                    out.append((lang, line))
    return out


class HeldOut:
    """The dev/test texts (normalised), each with a ``SequenceMatcher`` that keeps what it
    learnt about that text, so checking thousands of train-only texts stays quick."""

    def __init__(self, texts: list[str]):
        self.matchers = [difflib.SequenceMatcher(None, "", k) for k in texts]

    def near_duplicate(self, key: str) -> bool:
        """Same as, within 15 % edits of, or sharing a phrase with a dev/test text: one
        inside the other, the inner one at least a third of the outer (a one-word held-out
        answer like 是 or 行 inside a long request is not its wording; 可以的 inside
        麻烦问一下，可以的吧 is). ``quick_ratio`` bounds ``ratio`` from above: same answers."""
        for matcher in self.matchers:
            k = matcher.b
            short, long_ = sorted((k, key), key=len)
            if short in long_ and 3 * len(short) >= len(long_):
                return True
            if 2 * len(short) / (len(k) + len(key)) > 0.85:  # the ratio's upper bound
                matcher.set_seq1(key)
                if matcher.quick_ratio() > 0.85 and matcher.ratio() > 0.85:
                    return True
        return False


def split_of(label: str, lang: str, core: str, cores_of_label: list[str]) -> str:
    ranked = sorted(cores_of_label, key=lambda c: hashlib.sha1(c.encode()).hexdigest())
    position = ranked.index(core) / len(ranked)
    edge = 0.0
    for name, share in SPLIT_SHARES:
        if edge <= position < edge + share:
            return name
        edge += share
    return "train"


def build() -> list[dict]:
    rng = random.Random(20261125)
    seeds = read_seeds()
    cores_by_label: dict[tuple[str, str], list[str]] = defaultdict(list)
    for label, lang, text in seeds:
        cores_by_label[(label, lang)].append(text)
    rows: list[dict] = []
    seen: dict[str, str] = {}  # normalised text -> split
    per_label: Counter[str] = Counter()
    for round_ in range(6):
        for label, lang, core in seeds:
            if round_ > 0 and per_label[label] >= MIN_PER_LABEL:
                continue
            split = split_of(label, lang, core, cores_by_label[(label, lang)])
            for text, kind in variants(label, lang, core, rng, round_):
                key = normalise(text)
                if not key or key in seen:
                    continue
                seen[key] = split
                rows.append({"text": text, "label": label, "lang": lang, "split": split,
                             "core": core, "kind": kind})
                per_label[label] += 1
    noise = noise_utterances(rng)
    for lang, text in noise:
        key = normalise(text)
        if not key or key in seen:
            continue
        split = split_of("out_of_scope", lang, text, [t for g, t in noise if g == lang])
        seen[key] = split
        rows.append({"text": text, "label": "out_of_scope", "lang": lang, "split": split,
                     "core": text, "kind": "noise"})
    held_out = HeldOut([k for k, split in seen.items() if split != "train"])
    for label, lang, text, core, kind in train_only(rng):
        # Kept out of dev/test wording, so they measure what the model never saw.
        key = normalise(text)
        if not key or key in seen or held_out.near_duplicate(key):
            continue
        seen[key] = "train"
        rows.append({"text": text, "label": label, "lang": lang, "split": "train",
                     "core": core, "kind": kind})
    return rows


def train_only(rng: random.Random):
    """(label, lang, text, core, kind) of the train-only additions: the currency gazetteer
    and the public corpus's questions (each its own core), then the cores of
    seeds_train.tsv, written after dev and test were frozen, with their variants."""
    for label, kind, texts in (("foreign_exchange", "gazetteer", currency_requests(rng)),
                               ("out_of_scope", "corpus", corpus_questions())):
        for lang, text in texts:
            yield label, lang, text, text, kind
    written = {core for _, _, core in read_seeds()}
    for label, lang, core in read_seeds("seeds_train.tsv"):
        if core in written:  # already a core with its own split: its variants belong there
            continue
        for text, kind in variants(label, lang, core, rng, 0):
            yield label, lang, text, core, kind


def main() -> None:
    rows = build()
    with open(HERE / "intents.jsonl", "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    per_label = Counter(r["label"] for r in rows)
    splits = Counter(r["split"] for r in rows)
    print(f"{len(rows)} utterances, {len(per_label)} labels, "
          f"min per label {min(per_label.values())}, splits {dict(splits)}")


if __name__ == "__main__":
    main()
