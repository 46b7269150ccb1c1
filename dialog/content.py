"""Approved content: reply templates and FAQ entries, each with an id (no free generation)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .intent.features import featurise

CONTENT_DIR = Path(__file__).parent / "content"


@dataclass(frozen=True)
class FaqEntry:
    id: str
    questions: dict[str, list[str]]
    answer: dict[str, str]


class Content:
    def __init__(self, directory: Path = CONTENT_DIR):
        self.replies: dict = yaml.safe_load((directory / "replies.yaml").read_text("utf-8"))
        self.services: dict[str, dict[str, str]] = self.replies.pop("services")
        raw = yaml.safe_load((directory / "faq.yaml").read_text("utf-8"))
        self.faq = [FaqEntry(e["id"], e["questions"], e["answer"]) for e in raw]
        questions = [(i, q) for i, e in enumerate(self.faq)
                     for lang in ("zh", "en") for q in e.questions[lang]]
        self._faq_index = [i for i, _ in questions]
        self._faq_vectors = np.stack([featurise(q) for _, q in questions])

    def reply(self, reply_id: str, language: str, **values: object) -> str:
        template = self.replies[reply_id]["zh" if language == "zh" else "en"]
        return template.format(**values)

    def best_faq(self, text: str) -> tuple[FaqEntry | None, float]:
        """The FAQ entry most similar to ``text`` and the cosine similarity."""
        scores = self._faq_vectors @ featurise(text)
        best = int(np.argmax(scores))
        return self.faq[self._faq_index[best]], float(scores[best])
