"""What one revision served over an analysis window, as the judge needs it, and how windows are pooled.

The engine maps a provider's per-revision metrics to `WindowMetrics`; the judge never sees a provider.
Pooling adds counts exactly. Percentiles cannot be added, so a pooled percentile is the
request-weighted geometric mean of the windows' percentiles: close to the percentile of the pooled
requests when windows are alike. A window with fewer than `P99_MIN_REQUESTS` requests has no 99th
percentile worth the name (its "p99" is its slowest request, which sits near the 83rd percentile of
the distribution at 5 requests), so its percentiles are left out of the pool rather than dragging it
down. When the provider can answer for the whole span at once (Cloud Monitoring can: one ALIGN_DELTA
over the span), judging that answer directly is exact and preferable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

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
    `requests` (a pool leaves thin windows' percentiles out); None means all of them.
    """

    requests: int
    errors_5xx: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    latency_requests: int | None = None

    def __post_init__(self) -> None:
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
        return self.requests if self.latency_requests is None else self.latency_requests

    @property
    def error_rate(self) -> float | None:
        """Share of requests answered with 5xx, or None without requests."""
        return self.errors_5xx / self.requests if self.requests else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowMetrics:
        return cls(requests=data["requests"], errors_5xx=data["errors_5xx"], p50_ms=data.get("p50_ms"),
                   p99_ms=data.get("p99_ms"), latency_requests=data.get("latency_requests"))


def _weighted_geometric_mean(pairs: list[tuple[int, float]]) -> float | None:
    total = sum(weight for weight, _ in pairs)
    if total <= 0:
        return None
    return math.exp(sum(weight * math.log(value) for weight, value in pairs) / total)


def pool(windows: Iterable[WindowMetrics]) -> WindowMetrics:
    """One window standing for several: counts summed, percentiles request-weighted (see the module doc)."""
    windows = list(windows)
    thick = [w for w in windows if w.latency_sample >= P99_MIN_REQUESTS and w.p99_ms is not None]
    requests = sum(w.requests for w in windows)
    latency_requests = sum(w.latency_sample for w in thick)
    return WindowMetrics(
        requests=requests,
        errors_5xx=sum(w.errors_5xx for w in windows),
        p50_ms=_weighted_geometric_mean([(w.latency_sample, w.p50_ms) for w in thick if w.p50_ms is not None]),
        p99_ms=_weighted_geometric_mean([(w.latency_sample, w.p99_ms) for w in thick if w.p99_ms is not None]),
        latency_requests=None if latency_requests == requests else latency_requests,
    )
