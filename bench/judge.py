"""Benchmark of the canary judge beside a Flagger-style threshold judge and a Kayenta-style Mann-Whitney judge.

    python bench/judge.py [--seeds 500] [--windows 60] [--case PREFIX ...] [--only JUDGE ...]
                          [--fail-confidence 0.999] [--pass-confidence 0.95]

Its 10 s windows do not exist on Google Cloud (Monitoring serves one point a minute, after an ingestion
delay), and its Flagger-style judge computes the 5xx rate over 10 s where Flagger uses its 1 m metric
interval: bench/judge_google.py is the fair comparison on Google-shaped data. This one stays as the source
of the figures in core/analysis/judge.py's module doc.

Every judge sees the same simulated traffic: per second, Poisson request counts for canary and
stable, binomial 5xx answers and lognormal latencies (the sandbox's healthy service: 0.2 % 5xx, p50
35 ms, p99 180 ms), kept per window as Cloud Monitoring keeps them: counts in exponential buckets
(the sandbox's layout: 1 ms × 1.1^i, 160 buckets), with p50 and p99 read from the buckets. Windows
are 10 s; a run lasts `--windows` windows (60 = 10 minutes) or until the judge rolls back. This judge
and the Kayenta-style one feed the same decision rule (core.analysis.evaluate_deployment: a trigger
or a proven regression rolls back at once, `consecutive_failed_windows` failed
windows in a row roll back, NO_DATA neither counts nor resets); Flagger keeps its own count:

* this judge: core.analysis.AnalysisHistory (each window judged on the step's pooled evidence).
* Flagger-style: a window fails when its 5xx rate exceeds max_5xx_rate or its p99 exceeds
  max_p99_latency_ms, and when it has no values (no canary request), as Flagger halts and counts a
  failed check on "no values found"; it rolls back as Flagger does, once the failed checks of the run
  add up to the threshold (here `consecutive_failed_windows`), whether in a row or not.
* Kayenta-style: per-second error rates and p99 latencies of the window (seconds without requests
  removed, Kayenta's NaN strategy), each metric classified High when the 98 % Mann-Whitney interval of
  the shift lies above 0.25 × the Hodges-Lehmann estimate and the mean ratio is at least 1
  (Kayenta's NetflixACAJudge defaults); a window fails when any metric is High, has no data when no
  metric has data, passes otherwise.

Criteria are the defaults except max_p99_ratio_to_stable = 1.2: at the default 1.5 a p99 30 % above
stable is within the criteria, so the "p99 +30 %" case would not be a fault at all. "p99 +10 %" is within
that tolerance, so its rollbacks are false ones: the price of telling +30 % from +20 % in ten minutes.

Columns: the share of runs rolled back (detection in a fault case, false rollback in a healthy one),
the share of judged windows that were NO_DATA (for this judge, before a fault is proven its windows
are inconclusive, so fault cases show a high share too), and windows until the rollback among the
runs that rolled back. Flagger's "detection" includes the false rollbacks it makes on healthy traffic.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.analysis import (  # noqa: E402
    DEFAULT_SETTINGS,
    Action,
    AnalysisHistory,
    JudgeSettings,
    Outcome,
    Verdict,
    WindowMetrics,
    evaluate_deployment,
)
from core.analysis.latency import BucketLayout, LatencyHistogram  # noqa: E402
from core.config import RollbackTriggers, ValidationCriteria  # noqa: E402

WINDOW_S = 10
Z99 = 2.3263478740408408
CRITERIA = ValidationCriteria(max_p99_ratio_to_stable=1.2)
TRIGGERS = RollbackTriggers()
LAYOUT = BucketLayout.exponential(1.0, 1.1, 160)


@dataclass(frozen=True)
class Behaviour:
    """One revision's traffic: requests per second, 5xx share, latency p50 and p99 (lognormal)."""

    rps: float
    error_rate: float = 0.002
    p50_ms: float = 35.0
    p99_ms: float = 180.0

    @property
    def sigma(self) -> float:
        return math.log(self.p99_ms / self.p50_ms) / Z99


@dataclass(frozen=True)
class Case:
    name: str
    canary: Behaviour
    stable: Behaviour
    fault: bool


CASES = [
    Case("healthy (canary = stable, 20 rps each)", Behaviour(20), Behaviour(20), fault=False),
    Case("5xx ×3 (0.2 % -> 0.6 %)", Behaviour(20, error_rate=0.006), Behaviour(20), fault=True),
    Case("5xx ×2 (0.2 % -> 0.4 %)", Behaviour(20, error_rate=0.004), Behaviour(20), fault=True),
    Case("5xx +1 pp (0.2 % -> 1.2 %)", Behaviour(20, error_rate=0.012), Behaviour(20), fault=True),
    Case("p99 +30 % (180 -> 234 ms, p50 same)", Behaviour(20, p99_ms=234.0), Behaviour(20), fault=True),
    Case("p99 +10 % (180 -> 198 ms, within the 1.2× tolerance)", Behaviour(20, p99_ms=198.0), Behaviour(20),
         fault=False),
    Case("low traffic healthy (0.5 rps each)", Behaviour(0.5), Behaviour(0.5), fault=False),
    Case("healthy at a 10 % step (2 vs 18 rps)", Behaviour(2), Behaviour(18), fault=False),
    Case("low traffic at a 10 % step (0.05 vs 0.45 rps)", Behaviour(0.05), Behaviour(0.45), fault=False),
    Case("5xx 8 % (sandbox canary-5xx)", Behaviour(20, error_rate=0.08), Behaviour(20), fault=True),
    Case("5xx 8 % at a 10 % step (2 vs 18 rps)", Behaviour(2, error_rate=0.08), Behaviour(18), fault=True),
    Case("p99 ×5 (sandbox canary-latency)", Behaviour(20, p50_ms=45.0, p99_ms=900.0), Behaviour(20), fault=True),
    Case("p99 ×5 at a 10 % step (2 vs 18 rps)", Behaviour(2, p50_ms=45.0, p99_ms=900.0), Behaviour(18), fault=True),
]


@dataclass
class Window:
    """One 10 s window of one revision: the totals a judge reads, and per-second series for Kayenta."""

    metrics: WindowMetrics
    error_rates: np.ndarray  # per second, NaN when that second had no request
    p99s: np.ndarray  # per second, NaN when that second had no request


def _group_quantile(values: np.ndarray, groups: np.ndarray, n_groups: int, q: float) -> np.ndarray:
    """The q-quantile (linear interpolation, numpy's default) of the values in each group; NaN if empty."""
    counts = np.bincount(groups, minlength=n_groups)
    order = np.lexsort((values, groups))
    ordered = values[order]
    starts = np.cumsum(counts) - counts
    out = np.full(n_groups, np.nan)
    has = counts > 0
    pos = q * (counts[has] - 1)
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, counts[has] - 1)
    base = starts[has]
    out[has] = ordered[base + low] + (pos - low) * (ordered[base + high] - ordered[base + low])
    return out


def simulate(behaviour: Behaviour, windows: int, rng: np.random.Generator) -> list[Window]:
    seconds = windows * WINDOW_S
    requests = rng.poisson(behaviour.rps, seconds)
    errors = rng.binomial(requests, behaviour.error_rate)
    total = int(requests.sum())
    latencies = np.exp(rng.normal(math.log(behaviour.p50_ms), behaviour.sigma, total))
    second_of = np.repeat(np.arange(seconds), requests)
    window_of = second_of // WINDOW_S
    per_second_p99 = _group_quantile(latencies, second_of, seconds, 0.99)
    buckets = LAYOUT.buckets
    with np.errstate(divide="ignore"):
        index = np.clip(np.floor(np.log(latencies / LAYOUT.scale) / math.log(LAYOUT.growth)) + 1, 0, buckets - 1)
    counts = np.bincount(window_of * buckets + index.astype(int), minlength=windows * buckets).reshape(windows, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = errors / requests
    out = []
    for w in range(windows):
        span = slice(w * WINDOW_S, (w + 1) * WINDOW_S)
        n = int(requests[span].sum())
        histogram = LatencyHistogram(LAYOUT, {int(i): int(counts[w, i]) for i in np.flatnonzero(counts[w])})
        metrics = WindowMetrics(n, int(errors[span].sum()), latency=histogram if n else None)
        out.append(Window(metrics, rates[span], per_second_p99[span]))
    return out


# --- the three judges: each takes the windows so far and returns the verdict of the latest one ----------

def flagger_window(canary: Window, _stable: Window) -> Outcome:
    m = canary.metrics
    if m.requests == 0 or m.p99_ms is None:
        return Outcome.FAIL  # "Halt advancement no values found": a failed check
    too_many_errors = m.errors_5xx / m.requests > CRITERIA.max_5xx_rate
    return Outcome.FAIL if too_many_errors or m.p99_ms > CRITERIA.max_p99_latency_ms else Outcome.PASS


def _kayenta_high(canary: np.ndarray, stable: np.ndarray) -> bool | None:
    """Kayenta's MannWhitneyClassifier: True = High, False = Pass, None = no data."""
    canary, stable = canary[~np.isnan(canary)], stable[~np.isnan(stable)]
    if canary.size == 0 or stable.size == 0:
        return None
    if np.array_equal(np.sort(canary), np.sort(stable)) or np.unique(np.concatenate([canary, stable])).size == 1:
        return False
    shift = float(np.median(np.subtract.outer(canary, stable)))  # Hodges-Lehmann estimate
    # The 98 % interval's lower end lies above 0.25 × |shift| exactly when the one-sided test of that
    # shift rejects at 1 %.
    p = mannwhitneyu(canary - 0.25 * abs(shift), stable, alternative="greater").pvalue
    mean_ratio = 1.0 if stable.mean() == 0 else canary.mean() / stable.mean()
    return bool(p < 0.01 and mean_ratio >= 1.0)


def kayenta_window(canary: Window, stable: Window) -> Outcome:
    results = [_kayenta_high(canary.error_rates, stable.error_rates), _kayenta_high(canary.p99s, stable.p99s)]
    if any(r is True for r in results):
        return Outcome.FAIL
    return Outcome.NO_DATA if all(r is None for r in results) else Outcome.PASS


def _verdict(outcome: Outcome) -> Verdict:
    return Verdict(outcome, False, (), outcome.value)


@dataclass
class RunResult:
    rolled_back_at: int | None  # window index (1-based) of the rollback
    no_data: int
    judged: int


def run_simple(judge: Callable[[Window, Window], Outcome], canary: list[Window], stable: list[Window], *,
               cumulative: bool = False) -> RunResult:
    """Judge window by window; roll back on the shared rule, or (Flagger) once failures add up to N."""
    verdicts: list[Verdict] = []
    rolled = None
    for index, (c, s) in enumerate(zip(canary, stable, strict=True), start=1):
        verdicts.append(_verdict(judge(c, s)))
        if cumulative:
            done = sum(v.outcome is Outcome.FAIL for v in verdicts) >= TRIGGERS.consecutive_failed_windows
        else:
            done = evaluate_deployment(verdicts, TRIGGERS).action is Action.ROLLBACK
        if done:
            rolled = index
            break
    return RunResult(rolled, sum(v.outcome is Outcome.NO_DATA for v in verdicts), len(verdicts))


def run_ours(canary: list[Window], stable: list[Window], settings: JudgeSettings,
             timings: list[float]) -> RunResult:
    history = AnalysisHistory(CRITERIA, TRIGGERS, settings=settings)
    rolled = None
    for index, (c, s) in enumerate(zip(canary, stable, strict=True), start=1):
        started = time.perf_counter_ns()
        history.add(c.metrics, s.metrics)
        decision = history.decision()
        timings.append((time.perf_counter_ns() - started) / 1000)
        if decision.action is Action.ROLLBACK:
            rolled = index
            break
    verdicts = history.verdicts
    return RunResult(rolled, sum(v.outcome is Outcome.NO_DATA for v in verdicts), len(verdicts))


JUDGES = ("this judge", "Flagger-style", "Kayenta-style")


def run_case(case: Case, seeds: int, windows: int, settings: JudgeSettings, judges: tuple[str, ...],
             timings: list[float]) -> dict[str, list[RunResult]]:
    results: dict[str, list[RunResult]] = {name: [] for name in judges}
    for seed in range(seeds):
        rng = np.random.default_rng([seed, zlib.crc32(case.name.encode())])
        canary, stable = simulate(case.canary, windows, rng), simulate(case.stable, windows, rng)
        if "this judge" in results:
            results["this judge"].append(run_ours(canary, stable, settings, timings))
        if "Flagger-style" in results:
            results["Flagger-style"].append(run_simple(flagger_window, canary, stable, cumulative=True))
        if "Kayenta-style" in results:
            results["Kayenta-style"].append(run_simple(kayenta_window, canary, stable))
    return results


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def rows(case: Case, results: dict[str, list[RunResult]]) -> Iterator[str]:
    for judge, runs in results.items():
        rolled = [r.rolled_back_at for r in runs if r.rolled_back_at is not None]
        share = len(rolled) / len(runs)
        no_data = sum(r.no_data for r in runs) / max(1, sum(r.judged for r in runs))
        kind = "detected" if case.fault else "false rollback"
        ttd = f"{statistics.median(rolled):g} / {_percentile(rolled, 0.9):g}" if rolled else "–"
        yield f"| {case.name} | {judge} | {kind} {share:.1%} | {no_data:.1%} | {ttd} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--windows", type=int, default=60, help="10 s windows per run")
    parser.add_argument("--case", action="append", help="run only cases whose name starts with this")
    parser.add_argument("--only", choices=JUDGES, action="append", help="run only this judge (repeatable)")
    parser.add_argument("--fail-confidence", type=float, default=DEFAULT_SETTINGS.fail_confidence)
    parser.add_argument("--pass-confidence", type=float, default=DEFAULT_SETTINGS.pass_confidence)
    args = parser.parse_args()
    settings = JudgeSettings(fail_confidence=args.fail_confidence, pass_confidence=args.pass_confidence)
    cases = [c for c in CASES if not args.case or any(c.name.startswith(p) for p in args.case)]
    print(f"{args.seeds} seeds per case, {args.windows} windows of {WINDOW_S} s per run; criteria: max 5xx "
          f"{CRITERIA.max_5xx_rate:.0%}, p99 <= {CRITERIA.max_p99_latency_ms:g} ms and <= "
          f"{CRITERIA.max_p99_ratio_to_stable}× stable, >= {CRITERIA.min_requests_per_window} requests; triggers: "
          f"5xx {TRIGGERS.error_rate:.0%}, p99 {TRIGGERS.latency_degradation_ratio}× stable, "
          f"{TRIGGERS.consecutive_failed_windows} failed windows in a row\n")
    print("| case | judge | rollback rate | NO_DATA share of windows | windows to rollback (median / p90) |")
    print("|---|---|---:|---:|---:|")
    timings: list[float] = []
    started = time.perf_counter()
    for case in cases:
        for line in rows(case, run_case(case, args.seeds, args.windows, settings, tuple(args.only or JUDGES), timings)):
            print(line, flush=True)
    ordered = sorted(timings) or [0.0]
    print(f"\nthis judge, processing per window (AnalysisHistory.add + decision, {len(timings)} windows): "
          f"median {statistics.median(ordered):.0f} µs, p99 {_percentile(ordered, 0.99):.0f} µs, "
          f"max {ordered[-1]:.0f} µs")
    print(f"benchmark wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
