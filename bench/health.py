"""Live health from where the on-call engineer stands: a fault switched on in the cloud, then the card turning red
on a real console in a terminal, then the page (PagerDuty) and the Slack message; and what watching costs idle.

Each run: a fresh sandbox at real-time speed (served from this process, as `opsconsole sandbox serve` serves it,
so the fault is switched at a known instant), `python -m console` on a 120x36 pty attached to it, every card ok;
then, after a random wait (so the fault lands anywhere in the console's health interval), the fault strikes the
revisions serving now (`opsconsole sandbox scenario FAULT --now`). Timed: until a card's health line turns red
(`✗ DOWN` or `▲ DEGRADED: 5xx ...`, red because a rollback trigger's number crossed), until PagerDuty's sink accepts
the console's trigger for production, until Slack's sink has the console's message.

The peer is Cloud Monitoring's own alerting configured as the infrastructure's monitoring module configures it
(infrastructure/modules/monitoring/main.tf, the 5xx-rate policy: ALIGN_RATE over 60 s, 5 % for 300 s), created
in the sandbox with the official client and evaluated there once a minute the way Google documents; Google adds
metric ingestion delay on top (Cloud Run metrics are "not visible for up to 180 seconds"), the sandbox does not,
so the peer's figures here are its best case. `--peer` waits for it too (about six minutes a run).

Idle CPU: the console's user+system CPU over 30 s with every environment healthy and the health watch running
(three environments observed every 10 s: probes and a Monitoring query each), as a share of one core.

    python bench/health.py [--runs 5] [--faults instances-zero,canary-5xx] [--peer]
    python bench/health.py --runs 3 --idle-intervals 600,30,10   # idle CPU by health interval
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import filelock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.terminal import Terminal  # noqa: E402
from console.wiring import seed_from_config  # noqa: E402
from core.config.defaults import default_config  # noqa: E402
from sandbox.clock import SandboxClock  # noqa: E402
from sandbox.cloud import SandboxCloud  # noqa: E402

OPERATOR = "alice"
SIZE = (120, 36)
IDLE_S = 30.0
HEALTH_KEY = "opsconsole-health-production"


def all_ok(screen: str) -> bool:
    return screen.count("✓ ok:") >= 3


def red(screen: str) -> bool:
    return "✗ DOWN:" in screen or "▲ DEGRADED: 5xx" in screen or "▲ DEGRADED: p99" in screen


def _peer_policy(cloud: SandboxCloud, project: str) -> None:
    """The monitoring module's 5xx-rate policy for production, telling a Slack channel (the sandbox's sink)."""
    import grpc
    from google.cloud import monitoring_v3
    from google.cloud.monitoring_v3.services.notification_channel_service.transports import (
        NotificationChannelServiceGrpcTransport,
    )

    from core.providers.alert_policies import alert_policy_client
    from tests.test_alert_policies import error_rate_policy

    channel = grpc.insecure_channel(cloud.endpoints.monitoring_target)
    channels = monitoring_v3.NotificationChannelServiceClient(
        transport=NotificationChannelServiceGrpcTransport(channel=channel))
    slack = channels.create_notification_channel(name=f"projects/{project}", notification_channel={
        "type_": "slack", "display_name": "Slack #ops", "labels": {"channel_name": "#ops", "auth_token": "xoxb-b"}})
    policies = alert_policy_client(cloud.endpoints.monitoring_target, anonymous=True)
    policies.create_alert_policy(name=f"projects/{project}", alert_policy=error_rate_policy([slack.name]))
    policies.transport.close()
    channels.transport.close()


def one_run(fault: str, peer: bool, idle: bool, interval_s: float | None = None) -> dict[str, float]:
    """One console, one fault (none: "" measures idle CPU only); `interval_s` overrides every environment's
    health interval (as a person would, with OPSCONSOLE_ENVIRONMENTS__ENV__HEALTH__INTERVAL_S)."""
    config = default_config()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        state_file = home / "sandbox.json"
        lock = filelock.FileLock(f"{state_file}.lock")  # as `sandbox serve` holds it: the console attaches
        lock.acquire(timeout=10)
        cloud = SandboxCloud(seed=seed_from_config(config), scenario="healthy", clock=SandboxClock(speed=1),
                             state_file=state_file).start()
        terminal = None
        try:
            if peer:
                _peer_policy(cloud, config.environment("production").infrastructure.gcp_project)
            env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
            env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color", OPSCONSOLE_OPERATOR=OPERATOR,
                       OPSCONSOLE_TEAMS__OPERATIONS=f'["{OPERATOR}"]', OPSCONSOLE_REGISTRY=str(home / "registry.json"),
                       OPSCONSOLE_SANDBOX=str(state_file), XDG_CONFIG_HOME=str(home / "config"),
                       XDG_DATA_HOME=str(home / "data"))
            if interval_s is not None:
                env.update({f"OPSCONSOLE_ENVIRONMENTS__{name.upper()}__HEALTH__INTERVAL_S": str(interval_s)
                            for name in config.environments})
            terminal = Terminal([sys.executable, "-m", "console"], cwd=home, env=env, size=SIZE)
            terminal.wait_for(all_ok, limit_s=180)
            out: dict[str, float] = {}
            if idle:
                cpu, wall = terminal.cpu_seconds(), time.perf_counter()
                while time.perf_counter() - wall < IDLE_S:
                    terminal.read(0.2)
                out["idle CPU"] = 100.0 * (terminal.cpu_seconds() - cpu) / (time.perf_counter() - wall)
            if not fault:
                return out
            settle = time.perf_counter() + random.uniform(0, config.environment("production").health.interval_s)
            while time.perf_counter() < settle:
                terminal.read(0.05)
            started = time.perf_counter()
            cloud.set_scenario(fault, strike_serving=True)
            wanted = {"card red": lambda: red(terminal.screen.text()) and not terminal.screen.synchronized,
                      "PagerDuty page": lambda: any(e.get("dedup_key") == HEALTH_KEY and e["event_action"] == "trigger"
                                                    for e in cloud.sinks.pagerduty_events()),
                      "Slack message": lambda: any("production is" in m.get("text", "")
                                                   for m in cloud.sinks.slack_messages())}
            if peer:
                wanted["peer: Monitoring policy"] = lambda: any("5xx rate above" in str(m)
                                                                 for m in cloud.sinks.slack_messages())
            deadline = started + (600 if peer else 420)
            while len(out) < len(wanted) + idle and time.perf_counter() < deadline:
                terminal.read(0.05)
                for name, seen in wanted.items():
                    if name not in out and seen():
                        out[name] = (time.perf_counter() - started) * 1000
            missing = [name for name in wanted if name not in out]
            if missing:
                raise RuntimeError(f"never seen after {fault}: {', '.join(missing)}; the screen was:\n"
                                   f"{terminal.screen.text()}")
            return out
        finally:
            if terminal is not None:
                terminal.close()
            cloud.stop()
            lock.release()


def table(fault: str, runs: list[dict[str, float]]) -> str:
    lines = [f"fault `{fault} --now` ({len(runs)} runs)", "",
             "| from the fault switched on to | median | p90 | min | max |", "|---|---:|---:|---:|---:|"]
    for name in [k for k in runs[0] if k != "idle CPU"]:
        values = sorted(r[name] / 1000 for r in runs)
        p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
        lines.append(f"| {name} | {statistics.median(values):.1f} s | {p90:.1f} s | {values[0]:.1f} s | "
                     f"{values[-1]:.1f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--faults", default="instances-zero,canary-5xx")
    parser.add_argument("--peer", action="store_true", help="also wait for Cloud Monitoring's own policy to fire")
    parser.add_argument("--idle-intervals", default="",
                        help="only idle CPU, for each health interval (seconds, comma-separated; 600: all but off)")
    args = parser.parse_args()
    if args.idle_intervals:
        print("| health interval | idle CPU, median of runs (% of a core) | runs |\n|---:|---:|---:|")
        for interval in args.idle_intervals.split(","):
            cpu = [one_run("", False, idle=True, interval_s=float(interval))["idle CPU"] for _ in range(args.runs)]
            print(f"| {interval} s | {statistics.median(cpu):.1f} % (min {min(cpu):.1f}, max {max(cpu):.1f}) | "
                  f"{len(cpu)} |", flush=True)
        return
    idle: list[float] = []
    for fault in args.faults.split(","):
        runs = []
        for k in range(args.runs):
            run = one_run(fault, args.peer, idle=not idle or k == 0)
            if "idle CPU" in run:
                idle.append(run.pop("idle CPU"))
            runs.append(run)
            print(f"  {fault} run {k + 1}: " + ", ".join(f"{n} {v / 1000:.1f} s" for n, v in run.items()),
                  file=sys.stderr, flush=True)
        print(table(fault, runs) + "\n", flush=True)
    print(f"idle CPU of the console with the health watch on, every card ok ({IDLE_S:.0f} s each, {len(idle)} runs):"
          f" median {statistics.median(idle):.1f} % of a core, max {max(idle):.1f} %")


if __name__ == "__main__":
    main()
