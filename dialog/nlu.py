"""Natural-language understanding of one utterance: intent (INT8 ONNX), slots, fraud risk.

What the dialog manager consumes, and what ``lobbybot nlu`` prints as JSON:
``{"text", "intent", "confidence", "language", "slots": [{"name", "value", "normalized"}],
"top": [[intent, p], ...], "risk": {"level", "score", "reasons"}}``. The fraud guard reads
the features the intent model computed, so the risk costs no second encoding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .fraud.guard import NO_RISK, FraudGuard, Risk
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
    risk: Risk = NO_RISK  # this utterance's own fraud risk
    # The guard's probabilities for this utterance, which a conversation accumulates.
    risk_evidence: np.ndarray | None = field(default=None, repr=False, compare=False)

    def as_json(self) -> dict:
        return {"text": self.text, "intent": self.intent, "confidence": self.confidence,
                "language": self.language, "slots": [asdict(s) for s in self.slots],
                "top": [list(t) for t in self.top], "risk": self.risk.as_json()}


class NLU:
    def __init__(self, model: IntentModel | None = None, guard: FraudGuard | None = None):
        self.model = model or IntentModel()
        self.guard = guard or FraudGuard()

    def understand(self, text: str) -> Understanding:
        prediction = self.model.predict(text)
        risk, evidence = self.guard.assess(prediction.sentence, prediction.ngrams)
        return Understanding(text, prediction.label, round(prediction.confidence, 4),
                             prediction.language, extract_slots(clean(text)), prediction.top,
                             risk, evidence)
