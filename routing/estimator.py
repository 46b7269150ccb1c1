"""Observed service times per service, blended with the configured priors.

Means are shrinkage estimates: the prior counts as ``prior_weight`` observations, so the
first real service times move the estimate without one outlier swinging it, and only the
last ``window`` observations count, so the estimate follows a slow afternoon. Service times
are right-skewed (log-normal fits bank transactions well), so the expected *rest* of a
service already running ``e`` seconds is the log-normal mean residual life, not
``mean - e``: a customer at the counter for longer than average is likely to stay longer.
The call overhead (call → customer at the counter) is learnt the same way.
"""

from __future__ import annotations

import math
from collections import deque

PRIOR_CV = 0.5  # coefficient of variation of service times before any observation
PRIOR_WALK_S = 20.0


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


class _Rolling:
    def __init__(self, prior: float, window: int, prior_weight: float):
        self.prior, self.weight = prior, prior_weight
        self.values: deque[float] = deque(maxlen=window)
        self.mean = prior

    def add(self, value: float) -> None:
        self.values.append(value)
        self.mean = (self.prior * self.weight + sum(self.values)) / (self.weight +
                                                                     len(self.values))


class ServiceTimes:
    def __init__(self, priors: dict[str, float], window: int = 30, prior_weight: float = 5.0):
        self._times = {s: _Rolling(p, window, prior_weight) for s, p in priors.items()}
        self._walk = _Rolling(PRIOR_WALK_S, window, prior_weight)

    def observe(self, service: str, seconds: float) -> None:
        if seconds > 0 and service in self._times:
            self._times[service].add(seconds)

    def observe_walk(self, seconds: float) -> None:
        if seconds >= 0:
            self._walk.add(seconds)

    def mean(self, service: str) -> float:
        return self._times[service].mean

    @property
    def walk_s(self) -> float:
        return self._walk.mean

    def cv(self, service: str) -> float:
        values = self._times[service].values
        if len(values) < 5:
            return PRIOR_CV
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
        return min(2.0, max(0.1, math.sqrt(var) / mean))

    def residual(self, service: str, elapsed: float) -> float:
        """Expected remaining seconds of a service that has run ``elapsed`` seconds."""
        mean = self.mean(service)
        if elapsed <= 0:
            return mean
        sigma = math.sqrt(math.log(1 + self.cv(service) ** 2))
        mu = math.log(mean) - sigma * sigma / 2
        z = (mu - math.log(elapsed)) / sigma
        survive = _phi(z)
        if survive < 1e-9:
            return 0.1 * mean
        return max(0.0, mean * _phi(z + sigma) / survive - elapsed)

    def snapshot(self) -> dict[str, float]:
        return {s: round(r.mean, 1) for s, r in self._times.items()}
