"""A production canary stepped by hand, and one that rolls itself back, on the sandbox cloud."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.engine import approve, promote
from core.errors import Refused
from core.registry import DeploymentStatus
from tests.engine_rig import IMAGE, rig, rig_config

# For the tests of the live judge: without the pre-traffic smoke check (which refuses a faulty canary before
# it gets any traffic, see test_verify_smoke.py) the faulty revision reaches its first step.
LIVE_JUDGE_ONLY = {"required_checks": ["health", "websocket", "error_rate", "integration", "security"]}


def test_a_manual_canary_is_stepped_by_hand_to_100(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        stable = next(iter(r.served()))
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        tick = r.drive(deployment.id)
        assert tick.state == "operator" and "approval" in tick.reason
        approve(r.engine_for("bob"), "production")
        tick = r.drive(deployment.id)
        assert tick.state == "operator" and "promote to 10 %" in tick.reason, tick
        assert r.served() == {stable: 100}, "nothing moves before the operator promotes"
        seen = []
        for step in (10, 25, 50, 100):
            promote(r.engine, "production")
            tick = r.drive(deployment.id)
            new = r.rollout(deployment.id).new_revision if hasattr(r, "rollout") else None
            seen.append(dict(r.served()))
            if step < 100:
                assert tick.state == "operator", tick
        assert tick.state == "finished", tick
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.SUCCEEDED
        assert [sorted(s.values()) for s in seen] == [[10, 90], [25, 75], [50, 50], [100]]
        assert all(sum(s.values()) == 100 for s in seen)
        state = r.wiring.cloudrun("production").get_service("websocket-server")
        assert state.tags.get("previous") == stable, "the old stable stays addressable"
        del new


def test_promote_is_refused_before_the_judge_allows_it(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        r.drive(deployment.id)
        promote(r.engine, "production")  # to 10 %
        r.engine.tick(deployment.id)  # traffic moves; no window judged yet
        with pytest.raises(Refused, match="give an override reason"):
            promote(r.engine, "production")
        promote(r.engine, "production", override="incident 4411: hotfix must go out")
        rollout = r.deployment(deployment.id).metadata["rollout"]
        assert rollout["overrides"][0]["actor"] == "alice"
        assert rollout["overrides"][0]["reason"] == "incident 4411: hotfix must go out"


def test_an_auto_canary_rolls_itself_back_under_elevated_5xx(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="canary-5xx", config=rig_config(mode="auto", criteria=LIVE_JUDGE_ONLY)) as r:
        stable = next(iter(r.served()))
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        tick = r.drive(deployment.id)
        assert tick.state == "finished", tick
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.ROLLED_BACK
        assert "5xx" in (final.rollback_cause or "")
        assert r.served() == {stable: 100}
        kinds = [e.kind for e in r.events]
        assert "RolledBack" in kinds and "VerdictReached" in kinds


def test_an_auto_canary_with_a_slow_tail_rolls_back_from_the_first_step_within_a_few_windows(tmp_path: Path) -> None:
    # canary-latency: p99 900 ms against 180 ms. At 10 % a 10 s window holds ~20 canary requests, too few for
    # a p99, enough for the count of requests slower than stable's p99 bucket.
    config = rig_config(mode="auto", analysis_window_s=10, criteria=LIVE_JUDGE_ONLY)
    with rig(tmp_path, scenario="canary-latency", config=config) as r:
        stable = next(iter(r.served()))
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        assert r.drive(deployment.id).state == "finished"
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.ROLLED_BACK
        assert "slower than" in (final.rollback_cause or ""), final.rollback_cause
        assert r.served() == {stable: 100}
        rollout = final.metadata["rollout"]
        assert rollout["weight"] == 0 and rollout["verdicts"][-1]["weight"] == 10
        assert len(rollout["verdicts"]) <= 4  # windows judged at 10 % before traffic went back
        window = rollout["analysis"]["windows"][0]["canary"]
        assert window["latency"]["counts"], "the persisted window keeps its latency buckets"
