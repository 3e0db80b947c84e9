"""What one revision served over an analysis window, as the judge needs it, and how windows are pooled.

The engine maps a provider's per-revision metrics to `WindowMetrics`; the judge never sees a provider.
Pooling adds counts exactly, latency distributions included: when every window carries its
histogram (bucket counts, see core.analysis.latency) the pool's histogram is their sum and its
percentiles are those of all the pooled requests, however thin each window was. Windows recorded
before histograms were kept (older rollout records) have only percentiles, which cannot be added: then
a pooled percentile is the request-weighted geometric mean of the windows' percentiles, leaving out
windows under `P99_MIN_REQUESTS` requests (their "p99" is their slowest request, near the 83rd
percentile at 5 requests).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.analysis.latency import LatencyHistogram, pool_histograms
from core.errors import BadInput

P99_MIN_REQUESTS = 100
"""Fewest requests whose 99th percentile is judged: below it, the p99 is the maximum."""


class InvalidMetrics(BadInput):
    """A window's numbers cannot be true (more errors than requests, a negative or infinite latency...)."""


def _latency(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidMetrics(f"The window's {name} must be a positive number of milliseconds, got {value!r}.")


@dataclass(frozen=True, slots=True)
class WindowMetrics:
    """Requests, 5xx answers and latency percentiles of one revision over one window.

    A percentile is None when the revision served nothing (or the provider had no distribution).
    `latency_requests` is how many requests the percentiles describe when that is fewer than
    `requests` (a pool leaves thin windows' percentiles out); None means all of them. `latency` is the
    window's latency distribution when the provider gave one; the percentiles are then read from it.
    """

    requests: int
    errors_5xx: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    latency_requests: int | None = None
    latency: LatencyHistogram | None = None

    def __post_init__(self) -> None:
        if self.latency is not None:
            if self.p50_ms is None:
                object.__setattr__(self, "p50_ms", self.latency.percentile(50))
            if self.p99_ms is None:
                object.__setattr__(self, "p99_ms", self.latency.percentile(99))
        for name in ("requests", "errors_5xx", "latency_requests"):
            value = getattr(self, name)
            if name == "latency_requests" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidMetrics(f"The window's {name} must be a whole number of at least 0, got {value!r}.")
        if self.errors_5xx > self.requests:
            raise InvalidMetrics(
                f"The window counts {self.errors_5xx} 5xx answers but only {self.requests} requests."
            )
        if self.latency_requests is not None and self.latency_requests > self.requests:
            raise InvalidMetrics(
                f"The window's percentiles describe {self.latency_requests} requests but it has {self.requests}."
            )
        _latency("p50_ms", self.p50_ms)
        _latency("p99_ms", self.p99_ms)

    @property
    def latency_sample(self) -> int:
        """How many requests the percentiles describe."""
        if self.latency is not None:
            return self.latency.total
        return self.requests if self.latency_requests is None else self.latency_requests

    @property
    def error_rate(self) -> float | None:
        """Share of requests answered with 5xx, or None without requests."""
        return self.errors_5xx / self.requests if self.requests else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"requests": self.requests, "errors_5xx": self.errors_5xx, "p50_ms": self.p50_ms,
                "p99_ms": self.p99_ms, "latency_requests": self.latency_requests}
        if self.latency is not None:
            data["latency"] = self.latency.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowMetrics:
        """Also reads records written before windows kept their histograms (no "latency" key)."""
        latency = LatencyHistogram.from_dict(data["latency"]) if data.get("latency") else None
        return cls(requests=data["requests"], errors_5xx=data["errors_5xx"], p50_ms=data.get("p50_ms"),
                   p99_ms=data.get("p99_ms"), latency_requests=data.get("latency_requests"), latency=latency)


def _weighted_geometric_mean(pairs: list[tuple[int, float]]) -> float | None:
    total = sum(weight for weight, _ in pairs)
    if total <= 0:
        return None
    return math.exp(sum(weight * math.log(value) for weight, value in pairs) / total)


def pool(windows: Iterable[WindowMetrics]) -> WindowMetrics:
    """One window standing for several: counts and histograms summed (see the module doc for older records)."""
    windows = list(windows)
    requests = sum(w.requests for w in windows)
    served = [w for w in windows if w.requests]
    if served and all(w.latency is not None for w in served):
        histogram = pool_histograms(w.latency for w in served if w.latency is not None)
        if histogram is not None:
            return WindowMetrics(requests=requests, errors_5xx=sum(w.errors_5xx for w in windows), latency=histogram)
    thick = [w for w in windows if w.latency_sample >= P99_MIN_REQUESTS and w.p99_ms is not None]
    latency_requests = sum(w.latency_sample for w in thick)
    return WindowMetrics(
        requests=requests,
        errors_5xx=sum(w.errors_5xx for w in windows),
        p50_ms=_weighted_geometric_mean([(w.latency_sample, w.p50_ms) for w in thick if w.p50_ms is not None]),
        p99_ms=_weighted_geometric_mean([(w.latency_sample, w.p99_ms) for w in thick if w.p99_ms is not None]),
        latency_requests=None if latency_requests == requests else latency_requests,
    )
