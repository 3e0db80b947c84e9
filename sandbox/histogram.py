"""Latency distributions as Cloud Monitoring keeps them: counts in exponential buckets, percentiles interpolated.

Bucket i (1..N) covers [scale * growth**(i-1), scale * growth**i) milliseconds; bucket 0 is underflow
and N+1 overflow. A percentile is found by walking the cumulative counts and interpolating linearly
inside the bucket, which is how Monitoring answers REDUCE_PERCENTILE_xx on distribution values.
"""

from __future__ import annotations

import math

SCALE_MS = 1.0
GROWTH = 1.1
FINITE_BUCKETS = 160  # up to ~4 000 s
_LOG_GROWTH = math.log(GROWTH)


def bucket_of(ms: float) -> int:
    if ms < SCALE_MS:
        return 0
    return min(FINITE_BUCKETS + 1, int(math.log(ms / SCALE_MS) / _LOG_GROWTH) + 1)


def bucket_bounds(i: int) -> tuple[float, float]:
    if i == 0:
        return 0.0, SCALE_MS
    return SCALE_MS * GROWTH ** (i - 1), SCALE_MS * GROWTH ** i


class Histogram:
    """Weighted counts per bucket (weights are fractional: a sample can stand for many requests)."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[int, float] = {}

    def add(self, ms: float, weight: float = 1.0) -> None:
        i = bucket_of(ms)
        self.counts[i] = self.counts.get(i, 0.0) + weight

    def merge(self, other: Histogram) -> None:
        for i, w in other.counts.items():
            self.counts[i] = self.counts.get(i, 0.0) + w

    @property
    def total(self) -> float:
        return sum(self.counts.values())

    def percentile(self, q: float) -> float | None:
        """The q-th percentile (0 < q < 100) in milliseconds, or None when empty."""
        total = self.total
        if total <= 0:
            return None
        rank = total * q / 100.0
        seen = 0.0
        for i in sorted(self.counts):
            w = self.counts[i]
            if seen + w >= rank:
                lo, hi = bucket_bounds(min(i, FINITE_BUCKETS))
                return lo + (hi - lo) * ((rank - seen) / w if w else 0.0)
            seen += w
        return bucket_bounds(FINITE_BUCKETS)[1]
