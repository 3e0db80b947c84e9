"""What one revision served over a window, as Cloud Monitoring reports it: requests by class, latencies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.analysis.latency import LatencyHistogram


@dataclass(frozen=True)
class RevisionMetrics:
    """What one revision served over a window. Latencies are None when it served no request.

    `latency` is the revision's merged latency distribution (None when Monitoring had none); the
    percentiles are read from it.
    """

    revision: str
    requests: Mapping[str, int] = field(default_factory=dict)  # by response_code_class: "2xx", "4xx", "5xx"
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    instances: int = 0
    latency: LatencyHistogram | None = None

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def errors_5xx(self) -> int:
        return self.requests.get("5xx", 0)

    @property
    def error_rate(self) -> float | None:
        """Share of 5xx answers, or None without traffic."""
        return self.errors_5xx / self.total if self.total else None
