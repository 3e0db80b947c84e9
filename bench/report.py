"""Benchmark of `generate_report` over a year of history: 1 000, 10 000 and 100 000 deployments.

    python bench/report.py [--sizes 1000,10000,100000] [--runs 5] [--seed 1]

Each size gets a fresh registry filled by core.reports.history_gen (a seeded, realistic year: three
environments, canaries with stages, rollbacks, incidents, four step events per deployment), through the
registry's bulk import. Then, for the whole year and all environments, medians of --runs calls, wall
clock and CPU time (process_time: the machine may be shared, CPU time is what the report itself costs):
- cold: generate_report with no month cache (every archive line parsed, the cache written);
- warm: generate_report again (the month cache read; what the TUI and a second CLI call pay);
- read-only: generate_report(read_only=True) with no month cache (what a read-only console pays every
  time when no writable report ran before it: every archive line parsed, nothing written);
- html: rendering that report to HTML with its three matplotlib charts;
- peak MiB: tracemalloc's peak during one warm generate_report (traced separately: tracing slows it);
- listing: for comparison, one pass of DeploymentRegistry.iter_deployments over the same range (every
  record validated into a pydantic model), which the report does not use.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.registry import DeploymentRegistry  # noqa: E402
from core.reports import generate_report  # noqa: E402
from core.reports.history_gen import END, fill_registry, generate_history  # noqa: E402
from core.reports.render import render  # noqa: E402
from core.reports.source import MonthCache  # noqa: E402

START = END - timedelta(days=365)


def _median_ms(action: Callable[[], object], runs: int,
               before: Callable[[], object] = lambda: None) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of `action` over `runs` calls (`before` runs untimed first)."""
    wall, cpu = [], []
    for _ in range(runs):
        before()
        began, began_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def measure(size: int, runs: int, seed: int, directory: Path) -> dict[str, object]:
    registry = DeploymentRegistry(directory / f"registry-{size}.json")
    began = time.perf_counter()
    history = generate_history(size, seed)
    fill_registry(registry, history)
    fill_s = time.perf_counter() - began
    cache = MonthCache(registry.path).directory
    cold = _median_ms(lambda: generate_report(registry, START, END), runs,
                      before=lambda: shutil.rmtree(cache, ignore_errors=True))
    report = generate_report(registry, START, END)
    warm = _median_ms(lambda: generate_report(registry, START, END), runs)
    shutil.rmtree(cache, ignore_errors=True)
    read_only = _median_ms(lambda: generate_report(registry, START, END, read_only=True), runs)
    if cache.exists():
        raise SystemExit(f"a read-only report wrote its month cache: {cache}")
    generate_report(registry, START, END)  # the cache back, for the measurements below
    html, _ = _median_ms(lambda: render(report, "html"), max(1, min(runs, 3)))
    tracemalloc.start()
    generate_report(registry, START, END)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    listing, _ = _median_ms(lambda: sum(1 for _ in registry.iter_deployments(since=START, until=END)), 1)
    archive = sum(p.stat().st_size for p in registry.archive_dir.iterdir()) / 2**20
    return {"deployments": size, "incidents": len(history.incidents), "archive MiB": f"{archive:.0f}",
            "fill s": f"{fill_s:.1f}", "cold ms (cpu)": f"{cold[0]:.0f} ({cold[1]:.0f})",
            "warm ms (cpu)": f"{warm[0]:.0f} ({warm[1]:.0f})",
            "read-only ms (cpu)": f"{read_only[0]:.0f} ({read_only[1]:.0f})", "html ms": f"{html:.0f}",
            "peak MiB": f"{peak:.1f}", "listing ms": f"{listing:.0f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated deployment counts")
    parser.add_argument("--runs", type=int, default=5, help="report runs per size (the median is shown)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(measure(size, args.runs, args.seed, Path(tmp)))
            print(f"  measured {size} deployments", file=sys.stderr)
    headers = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[h]).rjust(w) for h, w in zip(headers, widths, strict=True)))
    load = os.getloadavg()
    print(f"\nmedians of {args.runs} runs of generate_report over the year, all environments; target < 1 s "
          f"at 100 000; load average: {load_before:.2f} before, {', '.join(f'{x:.2f}' for x in load)} "
          f"(1, 5, 15 min) after, on {os.cpu_count()} CPUs")
    if max(load_before, load[0]) > 2:
        print("the machine was busy (1-minute load above 2): wall times are inflated; rerun when it is quieter")


if __name__ == "__main__":
    main()
