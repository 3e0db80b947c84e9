"""Faults under traffic: a scenario that strikes the revisions serving now, and a clear that really clears.

Real sandbox, real adapters (the official Google clients over the sandbox's wire APIs), the engine judging;
the sandbox clock only moves when the engine sleeps, so every verdict is the same on every run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

from core.engine import approve
from core.registry import DeploymentStatus
from tests.engine_rig import IMAGE, Rig, rig, rig_config

# Without the pre-traffic smoke check the judge is the one that must see the fault (as in test_engine_canary).
LIVE_JUDGE_ONLY = {"required_checks": ["health", "websocket", "error_rate", "integration", "security"]}
SERVICE = "websocket-server"


def _five_xx(r: Rig, start: float, end: float) -> dict[str, tuple[int, int]]:
    """Per revision: (5xx, all requests) in [start, end), read from Monitoring through the real adapter."""
    metrics = r.wiring.metrics("production").revision_metrics(
        SERVICE, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    return {name: (m.requests.get("5xx", 0), sum(m.requests.values())) for name, m in metrics.items()}


def _failures(url: str, n: int) -> int:
    """How many of n real requests to `url` are answered with a 5xx."""
    with httpx.Client(timeout=10.0) as client, ThreadPoolExecutor(max_workers=30) as pool:
        codes = list(pool.map(lambda _: client.get(url + "/").status_code, range(n)))
    return sum(code >= 500 for code in codes)


def _at_ten_percent_under_traffic(r: Rig) -> tuple[str, str]:
    """An auto canary, healthy, routed to its first 10 % step; returns (deployment id, canary revision)."""
    deployment = r.engine.deploy_to_environment("production", {SERVICE: IMAGE})
    approve(r.engine, "production")
    r.tick_until(deployment.id, lambda ro: ro.weight == 10 and ro.routed_stage == ro.stage)
    canary = r.rollout(deployment.id).new_revision
    assert canary is not None and r.served()[canary] == 10
    return deployment.id, canary


def test_canary_5xx_now_strikes_a_canary_under_traffic_and_the_judge_rolls_it_back(tmp_path: Path) -> None:
    config = rig_config(mode="auto", analysis_window_s=10, criteria=LIVE_JUDGE_ONLY)
    with rig(tmp_path, config=config) as r:
        stable = next(iter(r.served()))
        deployment_id, canary = _at_ten_percent_under_traffic(r)
        judged_before = len(r.rollout(deployment_id).verdicts)
        r.cloud.set_scenario("canary-5xx", strike_serving=True)
        assert [name.rsplit("/", 1)[-1] for name in r.cloud.struck() if "ai-agent-network-prod" in name] == [canary]
        struck_at = r.clock.time()
        assert r.drive(deployment_id).state == "finished"
        final = r.deployment(deployment_id)
        assert final.status == DeploymentStatus.ROLLED_BACK
        assert "5xx" in (final.rollback_cause or ""), final.rollback_cause
        assert r.served() == {stable: 100}
        verdicts = final.metadata["rollout"]["verdicts"]
        assert verdicts[-1]["weight"] == 10, "rolled back from the step that was serving when the fault struck"
        assert len(verdicts) - judged_before <= 6, "within a few windows of the strike"
        # Monitoring shows the fault on the canary only, from the strike on; stable stayed healthy.
        seen = _five_xx(r, struck_at, struck_at + 60)
        bad, stable_counts = seen[canary], seen[stable]
        assert bad[1] > 0 and bad[0] / bad[1] > 0.03, seen
        assert stable_counts[0] / stable_counts[1] < 0.02, seen


def test_the_probes_of_a_struck_revision_fail_and_a_switch_to_healthy_clears_them(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        stable = next(iter(r.served()))
        full = f"{next(s for s in r.cloud.cloudrun.services if 'ai-agent-network-prod' in s)}/revisions/{stable}"
        assert r.cloud.serving(full).error_rate_5xx < 0.01
        r.cloud.set_scenario("canary-5xx", strike_serving=True)
        assert r.cloud.serving(full).error_rate_5xx >= 0.08
        url = r.cloud.revision_url(full)
        assert _failures(url, 300) >= 8, "requests to the struck revision's URL fail at about 8 %"
        r.sleep(90.0)
        r.cloud.set_scenario("healthy")
        cleared = r.clock.time()
        assert r.cloud.serving(full).error_rate_5xx < 0.01
        assert _failures(url, 300) <= 4
        assert r.cloud.struck() == []
        r.sleep(120.0)
        after = _five_xx(r, cleared, cleared + 120)[stable]
        assert after[1] > 1000 and after[0] / after[1] < 0.01, after


def test_after_healthy_a_new_deployment_is_not_rolled_back_on_stale_5xx(tmp_path: Path) -> None:
    # Redis down: 20 % of every revision's requests fail. Switched back to healthy in the middle of a minute,
    # the rest of that minute must be healthy in Monitoring, and a revision created then from its first point.
    config = rig_config(mode="auto", analysis_window_s=10)
    with rig(tmp_path, scenario="redis-unreachable", config=config) as r:
        stable = next(iter(r.served()))
        r.sleep(60.0 - r.clock.time() % 60 + 20.0)  # 20 s into a minute
        before = r.clock.time()
        r.cloud.set_scenario("healthy")
        cleared = r.clock.time()
        deployment = r.engine.deploy_to_environment("production", {SERVICE: IMAGE})
        approve(r.engine, "production")
        assert r.drive(deployment.id).state == "finished"
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.SUCCEEDED, final.rollback_cause
        new = final.metadata["rollout"]["new_revision"]
        minute_end = (cleared // 60 + 1) * 60
        fault = _five_xx(r, before - 20.0, before)[stable]
        assert fault[0] / fault[1] > 0.1, "the fault was in Monitoring before the clear"
        rest = _five_xx(r, cleared, minute_end)[stable]
        assert rest[0] / rest[1] < 0.02, f"the rest of the minute after the clear is healthy: {rest}"
        created = r.cloud.cloudrun.revisions[next(n for n in r.cloud.cloudrun.revisions if n.endswith(new))].created_at
        first = _five_xx(r, created, created + 120)[new]
        assert first[1] > 0 and first[0] / first[1] < 0.02, first


def test_a_remedy_clears_monitoring_from_the_next_minute_on(tmp_path: Path) -> None:
    # Instances at zero: every request a 503 until min instances are raised; Monitoring follows the remedy.
    with rig(tmp_path, scenario="instances-zero") as r:
        stable = next(iter(r.served()))
        r.sleep(60.0 - r.clock.time() % 60 + 30.0)
        down = _five_xx(r, r.clock.time() - 30.0, r.clock.time())[stable]
        assert down[1] > 0 and down[0] == down[1]
        r.wiring.cloudrun("production").set_min_instances(SERVICE, 2)  # the runbook's remedy, over the API
        fixed = r.clock.time()
        next_minute = (fixed // 60 + 1) * 60
        r.sleep(next_minute - fixed + 60.0)
        after = _five_xx(r, next_minute, next_minute + 60.0)[stable]
        assert after[1] > 0 and after[0] / after[1] < 0.02, after
        before = _five_xx(r, fixed - 30.0, fixed)[stable]
        assert before[0] == before[1], "what was served before the remedy stays as it was"


def test_a_strike_survives_a_restart_even_when_a_frozen_clock_switched_twice_at_one_instant(tmp_path: Path) -> None:
    from sandbox.clock import SandboxClock
    from sandbox.cloud import SandboxCloud

    state_file = tmp_path / "sandbox.json"
    with SandboxCloud(clock=SandboxClock(speed=0), state_file=state_file) as cloud:
        cloud.set_scenario("canary-5xx", strike_serving=True)
        struck = cloud.struck()
        assert len(struck) == len(cloud.cloudrun.services)  # one revision serves each seeded service
        saved_time = cloud.clock.time()
    with SandboxCloud(clock=SandboxClock(speed=0, start=saved_time), state_file=state_file) as again:
        assert again.struck() == struck and again.serving(struck[0]).error_rate_5xx >= 0.08
        again.set_scenario("healthy")  # at the same frozen instant: the later switch counts
        assert again.struck() == []
    with SandboxCloud(clock=SandboxClock(speed=0, start=saved_time), state_file=state_file) as third:
        assert third.struck() == [] and third.serving(struck[0]).error_rate_5xx < 0.01
