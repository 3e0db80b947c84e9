"""What one burst of the engine's probes saw at one revision's own URL: requests, failures and latencies.

The adapter (core.providers.probes) fills it; the engine (core.engine.steps.probes) turns it into a window of
the probe stream (core.analysis.streams.probe_window) and keeps only the counts and a bucketed histogram.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ProbeSample:
    """One revision's side of a burst. `latencies_ms` holds every answered request's time (any status)."""

    url: str
    sent: int = 0
    errors_5xx: int = 0
    no_answer: int = 0  # refused, reset or past the timeout: a user would have seen an error too
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return self.errors_5xx + self.no_answer
