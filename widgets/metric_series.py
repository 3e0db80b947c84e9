"""What the canary charts draw: per-window metrics of the canary and the stable revision, oldest first, with limits.

Built by the console's refresh worker from the metrics provider and handed to the widgets whole; the
widgets only read it. A window in which a revision served nothing has no point (None), so a chart
leaves a gap instead of drawing a zero the revision never measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Metric = Literal["5xx", "p50", "p99", "rps"]
Side = Literal["canary", "stable"]
METRICS: tuple[Metric, ...] = ("5xx", "p99", "p50", "rps")
"""In the order the panel shows them: the two the judge decides on first."""


@dataclass(frozen=True)
class WindowPoint:
    """What one revision served in one window."""

    requests: int
    errors_5xx: int
    p50_ms: float | None
    p99_ms: float | None
    seconds: float

    def value(self, metric: Metric) -> float | None:
        """5xx as a percentage of requests, latencies in ms, rps as requests per second."""
        if metric == "5xx":
            return 100.0 * self.errors_5xx / self.requests if self.requests else None
        if metric == "p50":
            return self.p50_ms
        if metric == "p99":
            return self.p99_ms
        return self.requests / self.seconds if self.seconds > 0 else None


@dataclass(frozen=True)
class RevisionSeries:
    revision: str
    points: tuple[WindowPoint | None, ...]  # one per window of the MetricSeries, None when it served nothing


@dataclass(frozen=True)
class MetricSeries:
    """The last windows of the environment's service; `canary` is None when no canary is in view."""

    window_s: int
    windows: int  # how many windows the charts span
    ends: tuple[datetime, ...]  # ends of the windows read so far (the newest ones), oldest first
    stable: RevisionSeries | None
    canary: RevisionSeries | None
    max_5xx_rate: float  # share 0..1, from the criteria the judge applies
    max_p99_ms: float
    error: str | None = None  # the metrics provider's one-sentence failure; older windows are still shown

    def revision(self, side: Side) -> RevisionSeries | None:
        return self.canary if side == "canary" else self.stable

    def values(self, metric: Metric, side: Side) -> list[float | None]:
        series = self.revision(side)
        if series is None:
            return []
        return [None if p is None else p.value(metric) for p in series.points]

    def latest(self, metric: Metric, side: Side) -> float | None:
        """The newest window's value that was measured, if any window was."""
        return next((v for v in reversed(self.values(metric, side)) if v is not None), None)

    def limit(self, metric: Metric) -> float | None:
        """The line the judge holds the canary to: max 5xx rate (in %), the p99 ceiling; none for p50 and rps."""
        if metric == "5xx":
            return 100.0 * self.max_5xx_rate
        if metric == "p99":
            return self.max_p99_ms
        return None

    @property
    def complete(self) -> bool:
        """Whether every window of the span has been read (older ones are read one per refresh)."""
        return len(self.ends) >= self.windows


def format_value(metric: Metric, value: float | None, *, compact: bool = False) -> str:
    """'0.21 %', '190 ms', '26.7/s'; `compact` drops the space for a chart's narrow border."""
    if value is None:
        return "-"
    space = "" if compact else " "
    if metric == "5xx":
        return f"{value:.2f}{space}%"
    if metric == "rps":
        return f"{value:.1f}/s"
    return f"{value:.0f}{space}ms"


LABELS: dict[Metric, str] = {"5xx": "5xx rate", "p50": "p50 latency", "p99": "p99 latency", "rps": "requests"}
