"""Latency distributions as Cloud Monitoring keeps them: request counts per bucket, summed exactly across windows.

A percentile of several windows cannot be computed from their percentiles, but it can from their
bucket counts, which add. So the provider reads each revision's merged distribution (bucket layout
plus counts) and the judge pools histograms, reads percentiles from the pool the way Monitoring does
(walk the cumulative counts, interpolate linearly inside the bucket), and counts the requests above a
bucket boundary exactly, which is what a sample-size-aware tail test needs.

Bucket layouts follow google.api.Distribution.BucketOptions: exponential (`scale * growth**i`,
i = 0..N) or explicit finite boundaries. Bucket 0 is the underflow (below the first boundary),
buckets 1..N the finite ones, N + 1 the overflow. Counts are stored sparsely, so a window of twenty
requests persists as a few numbers and an exponential layout as three.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from core.errors import BadInput


class InvalidHistogram(BadInput):
    """A latency distribution whose layout or counts cannot be true."""


@dataclass(frozen=True, slots=True)
class BucketLayout:
    """Finite bucket boundaries in milliseconds: exponential (scale, growth, finite) or explicit (bounds)."""

    scale: float = 0.0
    growth: float = 0.0
    finite: int = 0
    explicit: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.explicit:
            if any(b >= a for a, b in zip(self.explicit[1:], self.explicit, strict=False)) or self.explicit[0] < 0:
                raise InvalidHistogram("Explicit latency bucket boundaries must rise strictly from at least 0 ms.")
        elif not (self.scale > 0 and self.growth > 1 and self.finite >= 1):
            raise InvalidHistogram(f"An exponential latency bucket layout needs scale > 0, growth > 1 and at least "
                                   f"one finite bucket, got {self.scale}, {self.growth}, {self.finite}.")

    @classmethod
    def exponential(cls, scale: float, growth: float, finite: int) -> BucketLayout:
        return cls(scale=float(scale), growth=float(growth), finite=int(finite))

    @property
    def buckets(self) -> int:
        """Buckets in all, underflow and overflow included."""
        return (len(self.explicit) - 1 if self.explicit else self.finite) + 2

    def boundary(self, j: int) -> float:
        """The j-th finite boundary (0-based): bucket j + 1 starts there."""
        return self.explicit[j] if self.explicit else self.scale * self.growth ** j

    def bounds(self, i: int) -> tuple[float, float]:
        """Lower and upper edge of bucket i (the overflow is given its lower edge twice)."""
        last = self.buckets - 2
        if i <= 0:
            return 0.0, self.boundary(0)
        if i > last:
            edge = self.boundary(last)
            return edge, edge
        return self.boundary(i - 1), self.boundary(i)

    def to_dict(self) -> dict[str, Any]:
        if self.explicit:
            return {"explicit": list(self.explicit)}
        return {"scale": self.scale, "growth": self.growth, "finite": self.finite}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BucketLayout:
        if "explicit" in data:
            return cls(explicit=tuple(float(b) for b in data["explicit"]))
        return cls.exponential(data["scale"], data["growth"], data["finite"])


@dataclass(frozen=True)
class LatencyHistogram:
    """Requests per latency bucket of one revision over a span: `counts` maps bucket index to requests."""

    layout: BucketLayout
    counts: Mapping[int, int]

    def __post_init__(self) -> None:
        for i, n in self.counts.items():
            if not 0 <= i < self.layout.buckets:
                raise InvalidHistogram(f"Latency bucket {i} is outside the layout's {self.layout.buckets} buckets.")
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise InvalidHistogram(f"Latency bucket {i} must count a whole number of requests, got {n!r}.")

    @classmethod
    def from_counts(cls, layout: BucketLayout, counts: Iterable[int | float]) -> LatencyHistogram:
        """From dense counts, bucket 0 first (trailing buckets may be left out, as Monitoring does)."""
        return cls(layout, {i: round(n) for i, n in enumerate(counts) if round(n) > 0})

    @cached_property
    def total(self) -> int:
        return sum(self.counts.values())

    @cached_property
    def _cumulative(self) -> tuple[list[int], list[int]]:
        order = sorted(i for i, n in self.counts.items() if n)
        running, total = [], 0
        for i in order:
            total += self.counts[i]
            running.append(total)
        return order, running

    def percentile(self, q: float) -> float | None:
        """The q-th percentile (0 < q < 100) in ms, interpolated inside its bucket; None without requests."""
        if self.total <= 0:
            return None
        order, running = self._cumulative
        rank = self.total * q / 100.0
        k = min(bisect.bisect_left(running, rank), len(order) - 1)
        i, before = order[k], (running[k - 1] if k else 0)
        low, high = self.layout.bounds(i)
        inside = (rank - before) / self.counts[i]
        return max(low + (high - low) * min(max(inside, 0.0), 1.0), 1e-3)

    def bucket_at(self, q: float) -> int:
        """The bucket holding the q-th percentile (the overflow when empty)."""
        order, running = self._cumulative
        if not order:
            return self.layout.buckets - 1
        k = min(bisect.bisect_left(running, self.total * q / 100.0), len(order) - 1)
        return order[k]

    def above(self, bucket: int) -> int:
        """Requests in buckets after `bucket`: slower than its upper edge, exactly."""
        return sum(n for i, n in self.counts.items() if i > bucket)

    def merge(self, other: LatencyHistogram) -> LatencyHistogram:
        if other.layout != self.layout:
            raise InvalidHistogram("Latency distributions with different bucket layouts cannot be added.")
        counts = dict(self.counts)
        for i, n in other.counts.items():
            counts[i] = counts.get(i, 0) + n
        return LatencyHistogram(self.layout, counts)

    def to_dict(self) -> dict[str, Any]:
        return {"layout": self.layout.to_dict(), "counts": {str(i): n for i, n in sorted(self.counts.items())}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        return cls(BucketLayout.from_dict(data["layout"]), {int(i): int(n) for i, n in data["counts"].items()})


def pool_histograms(histograms: Iterable[LatencyHistogram]) -> LatencyHistogram | None:
    """The sum of the histograms, or None when there are none or their layouts differ."""
    histograms = list(histograms)
    if not histograms or any(h.layout != histograms[0].layout for h in histograms):
        return None
    if len(histograms) == 1:
        return histograms[0]
    counts: dict[int, int] = {}
    for histogram in histograms:
        for i, n in histogram.counts.items():
            counts[i] = counts.get(i, 0) + n
    return LatencyHistogram(histograms[0].layout, counts)
