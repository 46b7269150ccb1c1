"""Observed service time per service, blended with the configured prior.

A shrinkage mean: the prior counts as ``prior_weight`` observations, so the first few real
service times move the estimate without letting one outlier swing it; the last ``window``
observations are kept, so the estimate follows a slow afternoon or a new teller.
"""

from __future__ import annotations

from collections import deque


class ServiceTimes:
    def __init__(self, priors: dict[str, float], window: int = 30, prior_weight: float = 5.0):
        self._priors = dict(priors)
        self._window = window
        self._prior_weight = prior_weight
        self._observed: dict[str, deque[float]] = {s: deque(maxlen=window) for s in priors}
        self._means = dict(priors)

    def observe(self, service: str, seconds: float) -> None:
        if seconds <= 0 or service not in self._priors:
            return
        obs = self._observed[service]
        obs.append(seconds)
        w = self._prior_weight
        self._means[service] = (self._priors[service] * w + sum(obs)) / (w + len(obs))

    def mean(self, service: str) -> float:
        return self._means[service]

    def snapshot(self) -> dict[str, float]:
        return {s: round(v, 1) for s, v in self._means.items()}
