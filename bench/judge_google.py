"""Benchmark of the canary judge on data shaped as Google serves it, beside Flagger and Kayenta as documented.

    python bench/judge_google.py [--seeds 500] [--minutes 10] [--case PREFIX ...] [--only JUDGE ...] [--jobs 1]
    python bench/judge_google.py --quick      # 40 seeds: a minute or so

Data (bench/judge_google_data.py): one 60 s Monitoring point per revision, metric and minute, each served
only after its own ingestion delay (30–180 s, most within 1–2 min; Cloud Monitoring: "Sampled every 60
seconds. After sampling, data is not visible for up to 180 seconds", https://cloud.google.com/monitoring/api/v3/latency-n-retention);
latency as a distribution in exponential buckets. Simulated time advances in 10 s ticks. The canary serves
the case's rate at a 10 % step (stable 9×), for every judge alike, from t = 0, faulty from the start; a run
lasts `--minutes` or until the judge puts traffic back on stable (the time reported).

Judges, each configured as its documentation says:

* Flagger defaults: analysis interval 1m (AnalysisInterval = 60 s, pkg/apis/flagger/v1beta1/canary.go),
  metric interval 1m (MetricInterval = "1m", same file), threshold 5, stepWeight 10, maxWeight 50 and the
  built-in request-success-rate (min 99) and request-duration (p99, max 500 ms) of its tutorials
  (https://docs.flagger.app/tutorials/istio-progressive-delivery; threshold defaults to 1 when unset,
  GetAnalysisThreshold). Failed checks add up over the run, in a row or not; the iteration that finds
  `threshold` of them rolls back before it queries again (scheduler.go, advanceCanary); the fifth passing
  check, at maxWeight, promotes. Its 99 % equals this project's max_5xx_rate (1 %); 500 ms is stricter
  than max_p99_latency_ms (1 000 ms); neither limit is relative to stable, so a regression that stays
  under them is not a fault for Flagger. It queries the newest served point of each metric (an instant
  query with Prometheus's look-back): on Google its 1 m range would often find no point at all. Its checks
  start once the canary has a served point (until then it would find "no values": failed checks), and its
  weight steps are not modelled as more canary traffic. Both favour Flagger.
* Flagger fast: interval 30s, threshold 2 (a point is read twice: Monitoring has one per minute).
* Kayenta-style: NetflixACAJudge's MannWhitneyClassifier at 98 % (tolerance 0.25 of the Hodges-Lehmann
  estimate; kayenta-judge NetflixACAJudge.scala and MannWhitneyClassifier.scala) on the per-minute 5xx
  rate and p99, pooling every served minute since the step began, judged every minute (Spinnaker's
  interval analysis with a growing window); one High metric scores 50 (< marginal 75): rollback.
  Kayenta's IQR outlier removal is not modelled.
* this judge: core.analysis (AnalysisHistory, evaluate_deployment: the real code), the engine's production
  error budget (JudgeSettings.per_step over its 4 judged steps), criteria as defaults but
  max_p99_ratio_to_stable 1.2 (so p99 +30 % is a fault and +10 % is within tolerance: its rollbacks are
  false). A minute's window is judged once settled: re-read each tick until its counts stop growing, or
  180 s (bench.judge_google_data.settle_time models the rule the engine gains for issue 17 item 4).
* this judge + probes: the same, and a second stream: each tick 20 probe requests to the canary's and
  stable's tag URLs, seen at once, judged by a second AnalysisHistory (10 s windows, same settings and
  tests); the probes also count in Monitoring. A rollback on either stream rolls back.

Columns: rolled back (detection in a fault case, false rollback in a healthy one; with runs as counts),
Flagger's promotions, or the runs in which this judge allowed a promotion (the latest Monitoring window
passing: the engine lets a person promote then) before it rolled back or the run ended, seconds from
the fault's start (t = 0) to traffic back on stable over the runs that rolled back (median / p90), and
the median's ratio to Flagger's defaults in the same case.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.judge_google_data import CASES, MINUTE_S, Case, Run  # noqa: E402
from bench.judge_google_judges import CRITERIA, Flagger, Kayenta, Result, ThisJudge  # noqa: E402
from core.analysis import DEFAULT_SETTINGS, JudgeSettings  # noqa: E402

ENGINE_STEPS = 4
"""Judged steps of the production canary (10, 25, 50, 100 %): the engine shares the error budget among them."""
SETTINGS = DEFAULT_SETTINGS.per_step(ENGINE_STEPS).for_window(MINUTE_S)  # the engine's, on minute windows
FLAGGER_DEFAULTS = "Flagger defaults (1m, threshold 5)"
JUDGES = (FLAGGER_DEFAULTS, "Flagger fast (30s, threshold 2)", "Kayenta-style (whole run, 98 %)", "this judge",
          "this judge + probes")


def make_judge(name: str, settings: JudgeSettings) -> Callable[[Run, float], Result]:
    """The judge called `name`; this judge's settings are the engine's unless the command line changes them."""
    judges: dict[str, Callable[[Run, float], Result]] = {
        FLAGGER_DEFAULTS: Flagger(), JUDGES[1]: Flagger(interval_s=30, threshold=2), JUDGES[2]: Kayenta(),
        JUDGES[3]: ThisJudge(settings), JUDGES[4]: ThisJudge(settings, probes=True)}
    return judges[name]


@dataclass(frozen=True)
class Cell:
    """One judge on one case: every run's result."""

    case: Case
    judge: str
    results: tuple[Result, ...]

    @property
    def times(self) -> list[float]:
        return sorted(r.rolled_back_at for r in self.results if r.rolled_back_at is not None)

    @property
    def rolled_back(self) -> float:
        return len(self.times) / len(self.results)

    @property
    def promoted(self) -> float:
        return sum(r.promoted for r in self.results) / len(self.results)

    @property
    def allowed(self) -> float:
        return sum(r.allowed for r in self.results) / len(self.results)

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def p90(self) -> float | None:
        times = self.times
        return times[min(len(times) - 1, math.ceil(0.9 * len(times)) - 1)] if times else None


def run_cell(case: Case, judge: str, seeds: range, minutes: int, settings: JudgeSettings = SETTINGS) -> Cell:
    """The judge on `seeds` runs of the case; a seed draws the same traffic for every judge."""
    judging = make_judge(judge, settings)
    results = []
    for seed in seeds:
        rng = np.random.default_rng([seed, zlib.crc32(case.name.encode())])
        results.append(judging(Run.draw(case, minutes, rng), minutes * MINUTE_S))
    return Cell(case, judge, tuple(results))


def _run_many(work: list[tuple[Case, str, range, int, JudgeSettings]], jobs: int) -> list[Cell]:
    if jobs <= 1:
        return [run_cell(*item) for item in work]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(run_cell, *zip(*work, strict=True)))


def measure(cases: list[Case], judges: list[str], seeds: int, minutes: int, jobs: int = 1,
            settings: JudgeSettings = SETTINGS) -> list[Cell]:
    """Every judge on every case; with jobs > 1 the seeds are split among processes."""
    chunk = max(1, math.ceil(seeds / max(jobs, 1)))
    parts = [range(start, min(seeds, start + chunk)) for start in range(0, seeds, chunk)]
    work = [(case, judge, part, minutes, settings) for case in cases for judge in judges for part in parts]
    cells = _run_many(work, jobs)
    merged: dict[tuple[str, str], list[Result]] = {}
    for cell in cells:
        merged.setdefault((cell.case.name, cell.judge), []).extend(cell.results)
    return [Cell(case, judge, tuple(merged[case.name, judge])) for case in cases for judge in judges]


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def table(cells: list[Cell]) -> list[str]:
    """The markdown table: one row per case and judge."""
    baseline = {c.case.name: c for c in cells if c.judge == FLAGGER_DEFAULTS}
    lines = ["| case | judge | rolled back | promoted (Flagger) or promotion allowed first (this judge) | "
             "s to stable, median / p90 | × Flagger defaults |",
             "|---|---|---:|---:|---:|---:|"]
    for cell in cells:
        kind = "detected" if cell.case.fault else "false"
        count = f"{kind} {cell.rolled_back:.1%} ({len(cell.times)}/{len(cell.results)})"
        promoted = f"{cell.promoted:.0%}" if cell.judge.startswith("Flagger") else \
            f"{cell.allowed:.1%}" if cell.judge.startswith("this judge") else ""
        ratio = "–"
        flagger = baseline.get(cell.case.name)
        if cell.case.fault and cell.median is not None and cell.judge != FLAGGER_DEFAULTS:
            base = flagger.median if flagger is not None else None
            ratio = "Flagger never" if base is None else f"{cell.median / base:.2f}"
        lines.append(f"| {cell.case.name} | {cell.judge} | {count} | {promoted} | "
                     f"{_seconds(cell.median)} / {_seconds(cell.p90)} | {ratio} |")
    return lines


def pivot(cells: list[Cell]) -> list[str]:
    """The same numbers, one row per case: rolled back and the median seconds to stable, per judge."""
    judges = list(dict.fromkeys(c.judge for c in cells))
    lines = ["| case | " + " | ".join(judges) + " |", "|---|" + "---:|" * len(judges)]
    for case in dict.fromkeys(c.case for c in cells):
        row = {c.judge: c for c in cells if c.case == case}
        shown = [f"{row[j].rolled_back:.1%}" + (f", {row[j].median:.0f} s" if row[j].median is not None else "")
                 for j in judges]
        lines.append(f"| {case.name} | " + " | ".join(shown) + " |")
    return lines


def proofs(cells: list[Cell]) -> list[str]:
    """Which stream proved this judge's rollbacks with probes, per case."""
    lines = []
    for cell in cells:
        streams = [r.stream for r in cell.results if r.rolled_back_at is not None]
        if cell.judge == "this judge + probes" and streams:
            share = streams.count("probes") / len(streams)
            lines.append(f"- {cell.case.name}: {share:.0%} of the rollbacks proved by the probes")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=500, help="runs per case and judge")
    parser.add_argument("--minutes", type=int, default=10, help="length of a run (simulated minutes)")
    parser.add_argument("--quick", action="store_true", help="40 seeds")
    parser.add_argument("--case", action="append", help="only cases whose name starts with this (repeatable)")
    parser.add_argument("--only", choices=list(JUDGES), action="append", help="only this judge (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="processes (the machine is shared: keep it small)")
    parser.add_argument("--planned-windows", type=int, default=SETTINGS.planned_windows,
                        help="this judge's planned windows (a proposal to try; the engine's is the default)")
    args = parser.parse_args(argv)
    seeds = 40 if args.quick else args.seeds
    if seeds < 1 or args.minutes < 2 or args.jobs < 1 or args.planned_windows < 1:
        parser.error("--seeds, --jobs and --planned-windows must be at least 1 and --minutes at least 2")
    cases = [c for c in CASES if not args.case or any(c.name.startswith(p) for p in args.case)]
    judges = args.only or list(JUDGES)
    if FLAGGER_DEFAULTS not in judges:
        judges.insert(0, FLAGGER_DEFAULTS)  # every ratio is to it
    started = time.perf_counter()
    settings = replace(SETTINGS, planned_windows=args.planned_windows)
    cells = measure(cases, judges, seeds, args.minutes, args.jobs, settings)
    print(f"{seeds} runs per cell, {args.minutes} simulated minutes per run, 10 s ticks, canary at a 10 % step; "
          f"this judge's criteria: max 5xx {CRITERIA.max_5xx_rate:.0%}, p99 <= {CRITERIA.max_p99_ratio_to_stable}× "
          f"stable and <= {CRITERIA.max_p99_latency_ms:g} ms, error budget per step of {ENGINE_STEPS}, "
          f"{settings.planned_windows} planned windows\n")
    print("\n".join(table(cells)))
    print("\nrolled back (detection or false rollback), median seconds to stable:\n")
    print("\n".join(pivot(cells)))
    lines = proofs(cells)
    if lines:
        print("\nthis judge + probes, which stream rolled back:\n" + "\n".join(lines))
    print(f"\nbenchmark wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
