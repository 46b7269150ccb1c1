"""The project's banking speech test set: synthesised, clean and in lobby babble at 10 dB.

References are ``bench/data/asr_sentences.tsv``. Every sentence is spoken by a voice of its
language (several voices and speeds, round robin) and written to
``$LOBBYBOT_CACHE/asr-testset/{clean,babble10}/ID.wav`` with ``references.tsv`` beside —
regenerated when the sentences or voices change (seeded: the same audio every time).
Scoring normalises both sides: case, punctuation, numerals (digits ↔ words / 汉字).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import RATE, load_audio, write_wav
from .models import cache_dir

REPO = Path(__file__).resolve().parents[1]
SENTENCES = REPO / "bench" / "data" / "asr_sentences.tsv"
CONDITIONS = ("clean", "babble10")


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    text: str
    voice: str
    condition: str
    path: Path

    def audio(self) -> np.ndarray:
        return load_audio(self.path)


def read_sentences(path: Path = SENTENCES) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang.strip(), text.strip()))
    return rows


def build(root: Path | None = None, snr_db: float = 10.0) -> list[Item]:
    """Synthesise the set (once; cached by a digest of sentences + voices)."""
    from .voices import VOICES, babble, mix_at_snr, speak

    sentences = read_sentences()
    digest = hashlib.sha256((SENTENCES.read_text(encoding="utf-8") + repr(VOICES)
                             + f"{snr_db}").encode()).hexdigest()[:12]
    root = root or cache_dir() / "asr-testset"
    stamp = root / "DIGEST"
    items = _items(root, sentences, VOICES)
    if stamp.is_file() and stamp.read_text().strip() == digest and all(
            i.path.is_file() for i in items):
        return items
    rng = np.random.default_rng(20261125)
    clean: dict[str, np.ndarray] = {}
    for item in items:
        if item.condition == "clean":
            clean[item.id] = speak(item.text, item.voice, level_dbfs=-20.0 + rng.uniform(-4, 4))
    ids = sorted(clean)
    for item in items:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        speech = clean[item.id]
        if item.condition != "clean":
            others = [clean[i] for i in rng.choice([i for i in ids if i != item.id], 5,
                                                     replace=False)]
            lead = np.zeros(int(0.3 * RATE), np.float32)
            speech = np.concatenate([lead, speech, lead])
            hum = rng.normal(0, 1, len(speech)).astype(np.float32) * 0.3
            speech = mix_at_snr(speech, babble(others, len(speech), rng) + hum, snr_db)
        write_wav(item.path, speech, RATE)
    for condition in CONDITIONS:
        (root / condition / "references.tsv").write_text("".join(
            f"{i.id}\t{i.lang}\t{i.voice}\t{i.text}\n" for i in items
            if i.condition == condition), encoding="utf-8")
    stamp.write_text(digest)
    return items


def _items(root: Path, sentences: list[tuple[str, str]], voices: dict) -> list[Item]:
    items = []
    counters = {lang: 0 for lang in voices}
    for lang, text in sentences:
        n = counters[lang]
        counters[lang] += 1
        voice = voices[lang][n % len(voices[lang])]
        for condition in CONDITIONS:
            items.append(Item(f"{lang}{n:03d}", lang, text, voice, condition,
                              root / condition / f"{lang}{n:03d}.wav"))
    return items


_EN_PUNCT = re.compile(r"[^\w\s']")
_ZH_DROP = re.compile(r"[\s，。？！、：；,.?!:;\"'“”‘’（）()《》…·\-]")


def normalize(text: str, lang: str) -> str:
    """What counts as the same words: lower case, no punctuation, one way of numbers."""
    if lang == "zh":
        import cn2an

        text = _ZH_DROP.sub("", text)
        with contextlib.suppress(Exception):  # cn2an rejects some mixed strings: keep as is
            text = cn2an.transform(text, "an2cn")
        return text.replace("两", "二")
    from text_to_num import alpha2digit

    text = _EN_PUNCT.sub(" ", text.lower().replace("-", " "))
    text = alpha2digit(text, "en")
    return " ".join(text.split())


def error_rate(references: list[str], hypotheses: list[str], lang: str) -> float:
    """Corpus WER (en) or CER (zh) with jiwer, over normalised text."""
    import jiwer

    refs = [normalize(r, lang) for r in references]
    hyps = [normalize(h, lang) for h in hypotheses]
    if lang == "zh":
        return float(jiwer.cer(refs, hyps))
    return float(jiwer.wer(refs, hyps))
