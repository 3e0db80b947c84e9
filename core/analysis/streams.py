"""The judge's evidence streams: Cloud Monitoring's served traffic, and the engine's own probes of each revision.

Both streams are judged alike, by an AnalysisHistory per step (the same pooling and the same sequential tests);
what differs is what a stream's decision may do, and that rule is written here once (`acts_on`):

* Cloud Monitoring counts every request users sent to each revision. It is the only stream that lets a step
  pass: it is what users got, in numbers large enough to show a small regression.
* The engine's probes are a short burst of real requests to the new and the stable revision's tag URLs each
  window (core.engine.steps.probes). They are read the moment the burst ends, where Monitoring on Google
  Cloud serves a minute's point up to 180 s after it (cloud.google.com/monitoring/api/v3/latency-n-retention,
  "Latency of metric data"; Cloud Run's request_count and request_latencies are "Sampled every 60 seconds.
  After sampling, data is not visible for up to 180 seconds", cloud.google.com/monitoring/api/metrics_gcp).
  So a canary that fails every request shows in the probes a window or more before Monitoring has the minute.
  A regression they prove rolls back; they never pass a step nor hold one, since they are synthetic (one GET
  path, none of the users' messages) and few (tens a window), so "no sign of a problem" in them proves little.

Two streams are two chances of a false rollback: the probes judge with half the deployment's error budget
(`probe_settings`), so the bound on false rollbacks of both together is 1.5 times Monitoring's alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any

from core.analysis.history import Action, Decision
from core.analysis.judge import JudgeSettings
from core.analysis.latency import BucketLayout, LatencyHistogram
from core.analysis.metrics import WindowMetrics


class Stream(StrEnum):
    """Where a verdict's evidence came from."""

    MONITORING = "monitoring"
    PROBES = "probes"

    @property
    def label(self) -> str:
        """How a sentence names it: "in Cloud Monitoring", "in the engine's probes"."""
        return "Cloud Monitoring" if self is Stream.MONITORING else "the engine's probes"


PROBE_LAYOUT = BucketLayout.exponential(1.0, 1.1, 160)
"""The probes' latency buckets: 1 ms growing by 10 % (up to about 4 000 s), as fine as the judge's resolution."""


def acts_on(stream: Stream, decision: Decision) -> bool:
    """Whether the engine acts on this stream's decision: a rollback from either, anything else from Monitoring."""
    return stream is Stream.MONITORING or decision.action is Action.ROLLBACK


def probe_settings(settings: JudgeSettings) -> JudgeSettings:
    """The probes' share of the deployment's error budget: half of what Monitoring's stream has (see the doc)."""
    return replace(settings, sequential_alpha=settings.sequential_alpha / 2, horizon_alpha=settings.horizon_alpha / 2)


def named(stream: Stream, decision: Decision) -> Decision:
    """The decision with its explanation naming the stream when it is not Monitoring's (the default evidence):
    "rollback: in the engine's probes, a rollback trigger fired in window 2 ...: canary 5xx 30.0 % ..."."""
    if stream is Stream.MONITORING:
        return decision
    action, _, rest = decision.explanation.partition(": ")
    return replace(decision, explanation=f"{action}: in {stream.label}, {rest}" if rest else
                   f"{decision.explanation} (in {stream.label})")


def path_failed(stable_sent: int, stable_failures: int, error_rate: float) -> bool:
    """Whether a burst failed on the way rather than at the canary: stable's own share of failed probes above the
    rollback trigger's `error_rate`. The console's network, a proxy or a machine too busy to read answers in
    time fails both sides alike, and the canary's side alone would fire the absolute trigger; such a burst is
    set aside (a stable that truly fails is Monitoring's and health's to see, not a reason to roll back)."""
    return stable_sent > 0 and stable_failures > error_rate * stable_sent


def probe_window(sent: int, failures: int, latencies_ms: Iterable[float]) -> WindowMetrics:
    """One revision's burst as a window: requests sent, failures (5xx or no answer, what a user would see as an
    error) as its 5xx, and the answered requests' latencies bucketed like a Monitoring distribution."""
    counts: dict[int, int] = {}
    last = PROBE_LAYOUT.buckets - 1
    for value in latencies_ms:
        bucket = 0
        if value >= PROBE_LAYOUT.scale:
            bucket = min(last, int(math.log(value / PROBE_LAYOUT.scale) / math.log(PROBE_LAYOUT.growth)) + 1)
        counts[bucket] = counts.get(bucket, 0) + 1
    latency = LatencyHistogram(PROBE_LAYOUT, counts) if counts else None
    return WindowMetrics(sent, min(failures, sent), latency=latency)



def compact(window: WindowMetrics) -> list[Any]:
    """A probe window as it is kept in the rollout: [requests, failures, {bucket: count}] (a few dozen numbers)."""
    counts = window.latency.counts if window.latency is not None else {}
    return [window.requests, window.errors_5xx, {str(i): n for i, n in sorted(counts.items())}]


def expand(kept: Sequence[Any]) -> WindowMetrics:
    """The window `compact` kept, in PROBE_LAYOUT's buckets."""
    requests, failures, counts = kept
    latency = LatencyHistogram(PROBE_LAYOUT, {int(i): int(n) for i, n in counts.items()}) if counts else None
    return WindowMetrics(int(requests), int(failures), latency=latency)
