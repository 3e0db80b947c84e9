"""Simulated canary traffic shaped as Google Cloud Monitoring serves it, for bench/judge_google.py.

Cloud Run's request_count and request_latencies are "sampled every 60 seconds; after sampling, data is
not visible for up to 180 seconds" (the metric list, and https://cloud.google.com/monitoring/api/v3/latency-n-retention:
the delay "between when Cloud Monitoring samples a metric and when the metric data point becomes visible").
So each revision's minute is one point per metric, and each point is invisible until its own ingestion
delay has passed: drawn as 30 s + 150 s × Beta(2, 3) (mean 90 s; 64 % between 60 and 120 s, none past
180 s). Count and latency points of a revision, and canary's and stable's, have independent delays.

Latency is a distribution in the sandbox's exponential buckets (1 ms × 1.1^i, 160 finite buckets), as
Monitoring keeps it; requests are Poisson, 5xx binomial, latencies lognormal (the sandbox's healthy
service: 0.2 % 5xx, p50 35 ms, p99 180 ms). Bucket counts are drawn at once from the lognormal's bucket
probabilities (a multinomial), so no request is simulated one by one.

The engine's own probes (issue 17, item 5) are another stream: every 10 s tick, PROBES requests to each
revision's tag URL, their outcomes seen at once. Tag-URL requests are the revision's requests, so when
probes run they are in Monitoring's counts too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import ndtr

from bench import judge
from core.analysis import WindowMetrics
from core.analysis.latency import BucketLayout, LatencyHistogram

TICK_S = 10
"""Simulated time advances in ticks: the engine's beat, and how often a judge may re-read Monitoring."""
MINUTE_S = 60
MAX_DELAY_S = 180
PROBES = 20
"""Probe requests per revision per tick (2 requests/s to each tag URL)."""
LAYOUT = BucketLayout.exponential(1.0, 1.1, 160)


def ingestion_delays(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    """Seconds from a point's sampling (its minute's end) until Monitoring serves it."""
    return 30.0 + 150.0 * rng.beta(2.0, 3.0, size)


class Behaviour(judge.Behaviour):
    """One revision's traffic (bench/judge.py's: requests per second, 5xx share, lognormal p50 and p99), with the
    share of its requests in each of Monitoring's buckets."""

    @cached_property
    def bucket_probabilities(self) -> np.ndarray:
        """The share of requests in each bucket of LAYOUT (underflow first, overflow last)."""
        sigma = self.sigma
        edges = np.array([LAYOUT.boundary(j) for j in range(LAYOUT.buckets - 1)])
        cdf = ndtr((np.log(edges) - math.log(self.p50_ms)) / sigma)
        probabilities = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
        return np.clip(probabilities, 0.0, None) / probabilities.sum()


@dataclass(frozen=True)
class Case:
    name: str
    canary: Behaviour
    stable: Behaviour
    fault: bool


def _step(canary: Behaviour, stable_error: float = 0.002) -> Behaviour:
    """Stable's side of a 10 % step: nine times the canary's traffic, healthy."""
    return Behaviour(canary.rps * 9, stable_error)


def _case(name: str, canary: Behaviour, *, fault: bool) -> Case:
    return Case(name, canary, _step(canary), fault)


CASES = [
    _case("healthy, 20 rps", Behaviour(20), fault=False),
    _case("healthy, 5 rps", Behaviour(5), fault=False),
    _case("healthy, 1 rps", Behaviour(1), fault=False),
    _case("healthy, 0.2 rps", Behaviour(0.2), fault=False),
    _case("5xx ×3 (0.2 % -> 0.6 %), 20 rps", Behaviour(20, error_rate=0.006), fault=True),
    _case("5xx +1 pp (0.2 % -> 1.2 %), 20 rps", Behaviour(20, error_rate=0.012), fault=True),
    _case("p99 +30 % (180 -> 234 ms), 20 rps", Behaviour(20, p99_ms=234.0), fault=True),
    # Not one of issue 17's goal cases: a quiet canary's fault, where the probes are most of the evidence.
    _case("5xx +1 pp (0.2 % -> 1.2 %), 1 rps", Behaviour(1, error_rate=0.012), fault=True),
    _case("p99 +10 % (180 -> 198 ms, within 1.2×), 20 rps", Behaviour(20, p99_ms=198.0), fault=False),
]


@dataclass
class Revision:
    """One revision's run: per-minute Monitoring points (users and probes) and per-tick probe results."""

    requests: np.ndarray  # [minute] users' requests
    errors: np.ndarray
    latency: np.ndarray  # [minute, bucket]
    probe_errors: np.ndarray  # [tick]
    probe_latency: np.ndarray  # [tick, bucket]
    count_delay: np.ndarray  # [minute] seconds after the minute's end
    latency_delay: np.ndarray

    @classmethod
    def draw(cls, behaviour: Behaviour, minutes: int, rng: np.random.Generator) -> Revision:
        requests = rng.poisson(behaviour.rps * MINUTE_S, minutes)
        ticks = minutes * MINUTE_S // TICK_S
        probabilities = behaviour.bucket_probabilities
        return cls(requests, rng.binomial(requests, behaviour.error_rate),
                   rng.multinomial(requests, probabilities), rng.binomial(PROBES, behaviour.error_rate, ticks),
                   rng.multinomial(np.full(ticks, PROBES), probabilities), ingestion_delays(rng, (minutes,)),
                   ingestion_delays(rng, (minutes,)))

    def minute(self, m: int, *, probes: bool) -> tuple[int, int, np.ndarray]:
        """Minute m's (0-based) requests, 5xx and bucket counts as Monitoring has them, probes included or not."""
        n, x, buckets = int(self.requests[m]), int(self.errors[m]), self.latency[m]
        if probes:
            span = slice(m * MINUTE_S // TICK_S, (m + 1) * MINUTE_S // TICK_S)
            n += PROBES * (span.stop - span.start)
            x += int(self.probe_errors[span].sum())
            buckets = buckets + self.probe_latency[span].sum(axis=0)
        return n, x, buckets

    def window(self, m: int, *, probes: bool) -> WindowMetrics:
        """Minute m as the judge reads it once settled."""
        n, x, buckets = self.minute(m, probes=probes)
        return metrics(n, x, buckets)

    def probe_window(self, tick: int) -> WindowMetrics:
        """The probes of tick `tick` (0-based), seen at the tick's end."""
        return metrics(PROBES, int(self.probe_errors[tick]), self.probe_latency[tick])

    def visible(self, m: int, t: float) -> tuple[bool, bool]:
        """Whether minute m's count point and latency point are served at time t (seconds since the step began)."""
        end = (m + 1) * MINUTE_S
        return end + self.count_delay[m] <= t, end + self.latency_delay[m] <= t


def metrics(requests: int, errors: int, buckets: np.ndarray) -> WindowMetrics:
    if not requests:
        return WindowMetrics(0, 0)
    counts = {int(i): int(buckets[i]) for i in np.flatnonzero(buckets)}
    return WindowMetrics(requests, errors, latency=LatencyHistogram(LAYOUT, counts))


@dataclass
class Run:
    """Both revisions of one simulated step."""

    canary: Revision
    stable: Revision
    minutes: int

    @classmethod
    def draw(cls, case: Case, minutes: int, rng: np.random.Generator) -> Run:
        return cls(Revision.draw(case.canary, minutes, rng), Revision.draw(case.stable, minutes, rng), minutes)


def settle_time(run: Run, m: int, *, probes: bool = False) -> float:
    """When minute m's window is judged: re-read each tick after it ends until its counts stop growing, or
    MAX_DELAY_S has passed (the rule issue 17 item 4 asks of the engine; modelled here, not imported).

    A read sums what is visible of the window for both revisions (requests and latency samples); the window
    has settled when a read finds every point present and the same totals as the read before it. A point
    that never comes (a minute without requests writes none) holds the window until the bound. Probes, when
    they run, give every minute requests. Only the arrival times matter here, not the totals' values.
    """
    end = (m + 1) * MINUTE_S
    before: tuple[int, ...] | None = None
    for k in range(1, MAX_DELAY_S // TICK_S + 1):
        t = end + k * TICK_S
        seen: list[int] = []
        present = True
        for revision in (run.canary, run.stable):
            count, latency = revision.visible(m, t)
            has_requests = probes or bool(revision.requests[m])
            present = present and count and latency and has_requests
            seen += [int(revision.requests[m]) if count else 0, int(revision.latency[m].sum()) if latency else 0]
        totals = tuple(seen)
        if present and totals == before:
            return t
        before = totals
    return end + MAX_DELAY_S
