"""Natural-language understanding of one utterance: intent (INT8 ONNX) + slots.

What the dialog manager consumes, and what ``lobbybot nlu`` prints as JSON:
``{"text", "intent", "confidence", "language", "slots": [{"name", "value", "normalized"}],
"top": [[intent, p], ...]}``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .intent.model import IntentModel, clean
from .slots import Slot, extract_slots


@dataclass(frozen=True)
class Understanding:
    text: str
    intent: str
    confidence: float
    language: str
    slots: list[Slot]
    top: list[tuple[str, float]]

    def as_json(self) -> dict:
        data = asdict(self)
        data["top"] = [list(t) for t in self.top]
        return data


class NLU:
    def __init__(self, model: IntentModel | None = None):
        self.model = model or IntentModel()

    def understand(self, text: str) -> Understanding:
        prediction = self.model.predict(text)
        return Understanding(text, prediction.label, round(prediction.confidence, 4),
                             prediction.language, extract_slots(clean(text)), prediction.top)
