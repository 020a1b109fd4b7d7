"""Random draws for the per-claim loops, from the one seeded generator.

Scalar ``Generator`` calls cost microseconds each; the claims and the ledger draw a few
per claim, so they are served from pre-drawn blocks. Same seed, same draws, same bytes.
"""
from __future__ import annotations

import bisect
import math

import numpy as np

from mutualaid.generate.pools import weighted


class Stream:
    """Scalar draws for the per-claim loops: the Generator's scalar API, served from
    pre-drawn blocks (a scalar ``Generator`` call costs microseconds; this is 20x cheaper)."""

    BLOCK = 1 << 16

    def __init__(self, rng: np.random.Generator):
        self.gen = rng
        self._u: list[float] = []
        self._z: list[float] = []

    def random(self) -> float:
        if not self._u:
            self._u = self.gen.random(self.BLOCK).tolist()
            self._u.reverse()
        return self._u.pop()

    def normal(self) -> float:
        if not self._z:
            self._z = self.gen.standard_normal(self.BLOCK).tolist()
            self._z.reverse()
        return self._z.pop()

    def integers(self, low: int, high: int) -> int:
        """low <= n < high, like ``Generator.integers``."""
        return low + min(int(self.random() * (high - low)), high - low - 1)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def lognormal(self, mean: float, sigma: float) -> float:
        return math.exp(mean + sigma * self.normal())

    def choice(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 — vector draws: the Generator
        return self.gen.choice(*args, **kwargs)


def clip(x: int, low: int, high: int) -> int:
    return low if x < low else high if x > high else x


class Draw:
    """Choices from weighted spec strings, with their own arrays prepared once."""

    def __init__(self, rng: Stream, spec: str):
        self.items, self.p = weighted(spec)
        self.rng = rng
        self.cum = np.cumsum(self.p).tolist()

    def one(self) -> str:
        return self.items[min(bisect.bisect_right(self.cum, self.rng.random()), len(self.items) - 1)]
