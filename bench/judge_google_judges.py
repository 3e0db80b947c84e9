"""The judges of bench/judge_google.py, each as its own documentation configures it, on Google-shaped data.

Every judge gets one simulated step (bench/judge_google_data.Run) and returns when, in seconds since the
canary took traffic, it put the traffic back on stable (None: it never did; `promoted`: Flagger finished
its analysis and promoted the canary first). Sources are in the docstring of bench/judge_google.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import mannwhitneyu

from bench.judge_google_data import LAYOUT, MINUTE_S, TICK_S, Revision, Run, settle_time
from core.analysis import Action, AnalysisHistory, JudgeSettings
from core.analysis.streams import probe_settings
from core.config import RollbackTriggers, ValidationCriteria

CRITERIA = ValidationCriteria(max_p99_ratio_to_stable=1.2)
"""The defaults, but a p99 may be 1.2× stable's (at the default 1.5, "p99 +30 %" would be within criteria)."""
TRIGGERS = RollbackTriggers()

_EDGES = np.array([LAYOUT.boundary(j) for j in range(LAYOUT.buckets - 1)])
_LOW = np.concatenate([[0.0], _EDGES])  # lower edge of buckets 0 .. overflow
_HIGH = np.concatenate([_EDGES, [_EDGES[-1]]])  # the overflow is given its lower edge twice, as core does


@dataclass(frozen=True)
class Result:
    rolled_back_at: float | None
    promoted: bool = False
    stream: str = ""  # which of this judge's streams proved it
    allowed: bool = False  # this judge allowed a promotion (its Monitoring stream's latest window passed) before


def p99s(latency: np.ndarray) -> np.ndarray:
    """Each row's 99th percentile in ms read as Monitoring reads a distribution (as LatencyHistogram.percentile:
    the bucket holding the rank, linear inside it); NaN for an empty row."""
    cumulative = latency.cumsum(axis=1)
    total = cumulative[:, -1]
    rank = total * 0.99
    bucket = np.argmax(cumulative >= rank[:, None], axis=1)
    rows = np.arange(latency.shape[0])
    before = np.where(bucket > 0, cumulative[rows, np.maximum(bucket - 1, 0)], 0)
    inside = np.clip((rank - before) / np.maximum(latency[rows, bucket], 1), 0.0, 1.0)
    low, high = _LOW[bucket], _HIGH[bucket]
    return np.where(total > 0, np.maximum(low + (high - low) * inside, 1e-3), np.nan)


def _newest_visible(delays: np.ndarray, t: float) -> int | None:
    served = np.flatnonzero((np.arange(delays.size) + 1) * MINUTE_S + delays <= t)
    return int(served[-1]) if served.size else None


@dataclass(frozen=True)
class Flagger:
    """Flagger's canary analysis (pkg/controller/scheduler.go), its tutorial's Canary: every `interval_s` one
    check of the canary's request-success-rate (min 99 %) and request-duration p99 (max 500 ms), each over
    the metric interval (1 m: one Monitoring point). A failed check does not advance the weight; the check
    that finds `threshold` failed checks so far rolls back (before querying again); a passing check moves
    the weight by stepWeight, and the one after reaching maxWeight promotes (stepWeight 10, maxWeight 50:
    the fifth passing check). "No values" (a point without canary requests) is a failed check."""

    interval_s: int = 60
    threshold: int = 5
    step_weight: int = 10
    max_weight: int = 50
    min_success_percent: float = 99.0
    max_p99_ms: float = 500.0

    def passes(self, canary: Revision, count: int, latency: int) -> bool:
        requests, errors = int(canary.requests[count]), int(canary.errors[count])
        if not requests or not canary.latency[latency].sum():
            return False  # "Halt advancement no values found ... probably not receiving traffic"
        p99 = float(p99s(canary.latency[latency:latency + 1])[0])
        return 100.0 * (requests - errors) / requests >= self.min_success_percent and p99 <= self.max_p99_ms

    def __call__(self, run: Run, horizon_s: float) -> Result:
        failed = passed = 0
        t = float(self.interval_s)
        while t <= horizon_s:
            if failed >= self.threshold:
                return Result(t)
            count = _newest_visible(run.canary.count_delay, t)
            latency = _newest_visible(run.canary.latency_delay, t)
            # Generous to Flagger: until the canary's first points are served there is nothing to query, and this
            # does not count as "no values" (it would: every 30 s tuning would then roll back at 90 s).
            if count is not None and latency is not None:
                if self.passes(run.canary, count, latency):
                    passed += 1
                    if passed >= self.max_weight // self.step_weight:
                        return Result(None, promoted=True)
                else:
                    failed += 1
            t += self.interval_s
        return Result(None)


def _kayenta_high(canary: np.ndarray, stable: np.ndarray) -> bool:
    """Kayenta's MannWhitneyClassifier (fraction 0.25, confLevel 0.98 in NetflixACAJudge), direction "increase":
    High when the lower end of the 98 % interval of the shift lies above 0.25 × |Hodges-Lehmann estimate|."""
    canary, stable = canary[~np.isnan(canary)], stable[~np.isnan(stable)]
    if canary.size == 0 or stable.size == 0:
        return False  # Nodata: scored neither way
    if np.array_equal(np.sort(canary), np.sort(stable)) or np.unique(np.concatenate([canary, stable])).size == 1:
        return False
    critical = 0.25 * abs(float(np.median(np.subtract.outer(canary, stable))))
    # The two-sided 98 % interval's lower end lies above `critical` exactly when the one-sided test of that
    # shift rejects at 1 %.
    return bool(mannwhitneyu(canary - critical, stable, alternative="greater").pvalue < 0.01)


@dataclass(frozen=True)
class Kayenta:
    """Kayenta's NetflixACAJudge every `interval_s` on the canary's whole history so far (every served minute
    point of both revisions since the step began): per-minute 5xx rate and p99, minutes without requests
    removed (NaN strategy "remove"). Two equally weighted metrics, so one High scores 50, under any usual
    marginal threshold (75): the canary fails at once."""

    interval_s: int = 60

    def __call__(self, run: Run, horizon_s: float) -> Result:
        series = {}
        for name, revision in (("canary", run.canary), ("stable", run.stable)):
            with np.errstate(invalid="ignore", divide="ignore"):
                rates = np.where(revision.requests > 0, revision.errors / revision.requests, np.nan)
            series[name] = (rates, p99s(revision.latency), revision)
        t = float(self.interval_s)
        while t <= horizon_s:
            shown = {}
            for name, (rates, tails, revision) in series.items():
                ends = (np.arange(rates.size) + 1) * MINUTE_S
                shown[name] = (rates[ends + revision.count_delay <= t], tails[ends + revision.latency_delay <= t])
            if any(_kayenta_high(shown["canary"][i], shown["stable"][i]) for i in (0, 1)):
                return Result(t)
            t += self.interval_s
        return Result(None)


@dataclass(frozen=True)
class ThisJudge:
    """core.analysis as the engine runs it on Google Cloud: one AnalysisHistory of minute windows, each judged
    once settled (bench.judge_google_data.settle_time), in order; with `probes`, a second AnalysisHistory of
    the probe bursts, one 10 s window per tick, judged at once. A rollback on either stream rolls back."""

    settings: JudgeSettings
    probes: bool = False

    def __call__(self, run: Run, horizon_s: float) -> Result:
        events: list[tuple[float, int, int]] = []
        ready = 0.0
        for m in range(run.minutes):
            ready = max(ready, settle_time(run, m, probes=self.probes))  # windows are judged in order
            events.append((ready, 0, m))
        if self.probes:
            events += [((k + 1) * TICK_S, 1, k) for k in range(run.minutes * MINUTE_S // TICK_S)]
        streams = [AnalysisHistory(CRITERIA, TRIGGERS, settings=self.settings)]
        if self.probes:  # as the engine sets them (core/engine/steps/probes.py): planned in 10 s bursts, half budget
            per_tick = replace(self.settings, planned_windows=self.settings.for_window(TICK_S).planned_windows)
            streams.append(AnalysisHistory(CRITERIA, TRIGGERS, settings=probe_settings(per_tick)))
        allowed = False
        for t, stream, index in sorted(events):
            if t > horizon_s:
                break
            if stream == 0:
                canary, stable = (r.window(index, probes=self.probes) for r in (run.canary, run.stable))
            else:
                canary, stable = run.canary.probe_window(index), run.stable.probe_window(index)
            streams[stream].add(canary, stable)
            action = streams[stream].decision().action
            if action is Action.ROLLBACK:
                return Result(t, stream=("Monitoring", "probes")[stream], allowed=allowed)
            allowed = allowed or (stream == 0 and action is Action.PROMOTE_ALLOWED)
        return Result(None, allowed=allowed)
