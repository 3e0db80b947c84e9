"""What one revision served over a window, as Cloud Monitoring reports it (requests by class, latencies), and when
Monitoring's data for a window can be trusted to be whole (MetricsTiming)."""

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


@dataclass(frozen=True)
class MetricsTiming:
    """How a metrics provider serves a revision's data: points of `resolution_s` seconds, each visible at most
    `settle_bound_s` after its end. The judge aligns its windows to the resolution and waits up to the bound
    for a window's counts to settle (core.analysis.settle)."""

    resolution_s: int = 60
    settle_bound_s: float = 180.0

    @property
    def delayed(self) -> bool:
        """Whether a window's data may still be arriving after it ended (so it must settle before it is judged)."""
        return self.settle_bound_s > 0


GOOGLE_CLOUD_RUN_TIMING = MetricsTiming(60, 180.0)
"""Cloud Run's metrics on Google Cloud: "Sampled every 60 seconds. After sampling, data is not visible for up to
180 seconds." (cloud.google.com/monitoring/api/metrics_gcp#gcp-run; cloud.google.com/monitoring/api/v3/
latency-n-retention explains the delay)."""
