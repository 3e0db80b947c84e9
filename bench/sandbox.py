"""Benchmark: CPU cost of the sandbox serving 3 environments under metric reads, and one batched read's latency.

The sandbox runs in its own process (`python -m sandbox`, clock at real speed) and reports its
CPU seconds through the control API, so the figures are the sandbox's alone; the reads are made
from this process with the official clients through MonitoringAdapter, exactly as the console does.

    python bench/sandbox.py [--seconds N] [--reads N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.providers.cloudrun import CloudRunAdapter  # noqa: E402
from core.providers.google_retry import RetryPolicy  # noqa: E402
from core.providers.monitoring import MonitoringAdapter  # noqa: E402
from core.providers.profile import Endpoints, google_clients  # noqa: E402
from sandbox.clock import SandboxClock  # noqa: E402
from sandbox.control import advance_clock, fetch_status  # noqa: E402

PROJECTS = ("ai-agent-network-dev", "ai-agent-network-staging", "ai-agent-network-prod")
SERVICE = "websocket-server"
WINDOW = timedelta(minutes=10)
POLICY = RetryPolicy(initial=0.05, maximum=0.5, deadline=10.0, poll_initial=0.05, poll_maximum=0.2)


def sandbox_cpu(control_url: str) -> tuple[float, float]:
    status = fetch_status(control_url)
    return float(status["cpu_seconds"]), float(status["time"])


def measure(control_url: str, seconds: float, work: object) -> tuple[float, float, int]:
    """(sandbox CPU s per wall s, this process's CPU s per wall s, rounds) while `work()` runs once a second."""
    cpu0, _ = sandbox_cpu(control_url)
    own0, wall0 = time.process_time(), time.monotonic()
    rounds = 0
    while time.monotonic() - wall0 < seconds:
        tick = time.monotonic()
        if work is not None:
            work()  # type: ignore[operator]
            rounds += 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    wall = time.monotonic() - wall0
    cpu1, _ = sandbox_cpu(control_url)
    return (cpu1 - cpu0) / wall, (time.process_time() - own0) / wall, rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each CPU measurement")
    parser.add_argument("--reads", type=int, default=50, help="batched reads timed for the latency figures")
    args = parser.parse_args()

    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--speed", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        endpoints = Endpoints.from_dict(json.loads(proc.stdout.readline()))
        clients = google_clients(endpoints)
        _, sandbox_now = sandbox_cpu(endpoints.control_url)
        clock = SandboxClock(speed=1.0, start=sandbox_now)  # follows the sandbox's clock from here
        metrics = [MonitoringAdapter(clients.metrics, p, region="us-central1", policy=POLICY, now=clock.now)
                   for p in PROJECTS]
        # Production runs a 10 % canary, so one service has two revisions in every read.
        run = CloudRunAdapter(clients.services, clients.revisions, PROJECTS[2], "us-central1", policy=POLICY)
        stable = run.get_service(SERVICE).latest_ready_revision
        canary = run.deploy_revision(SERVICE, "img:bench", "canary", wait=False).name
        clock.advance(advance_clock(endpoints.control_url, 30) - clock.time())
        run.set_traffic(SERVICE, {stable: 90, canary: 10})

        def read_all() -> None:
            end = clock.now()
            for m in metrics:
                m.revision_metrics(SERVICE, end - WINDOW, end)

        read_all()  # warm the minute cache, as a console that has been open a while has
        idle, _, _ = measure(endpoints.control_url, args.seconds / 2, None)
        busy, own, rounds = measure(endpoints.control_url, args.seconds, read_all)

        latencies = []
        for _ in range(args.reads):
            end = clock.now()
            t0 = time.perf_counter()
            result = metrics[2].revision_metrics(SERVICE, end - WINDOW, end)
            latencies.append((time.perf_counter() - t0) * 1000)
        assert set(result) == {stable, canary}
        clients.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * len(latencies)) - 1)]
    print(f"Sandbox benchmark: 3 environments, {WINDOW.seconds // 60}-minute windows, "
          f"each batched read = 5 ListTimeSeries over gRPC\n")
    print("| measurement | value |")
    print("|---|---|")
    print(f"| sandbox CPU, idle (CPU s per wall s, {args.seconds / 2:.0f} s) | {idle:.3f} |")
    print(f"| sandbox CPU, 3 envs read every second (CPU s per wall s, {args.seconds:.0f} s, "
          f"{rounds} rounds) | {busy:.3f} |")
    print(f"| reading client CPU, same period (CPU s per wall s) | {own:.3f} |")
    print(f"| one batched read of one service (2 revisions), median ms, n={len(latencies)} | "
          f"{statistics.median(latencies):.1f} |")
    print(f"| one batched read of one service (2 revisions), p95 ms | {p95:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
