"""Each strategy carried out end to end on the sandbox: blue-green with switch-back, rolling, frontend only,
and the scenarios that must end a release (never ready, latency) or hold it (low traffic)."""

from __future__ import annotations

import contextlib
import itertools
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from core.engine import EngineEvent, abort, approve, promote, rollback_deployment
from core.errors import OperationFailed, Refused
from core.model.events import RolledBack, VerdictReached, VerificationDone, WeightChanged
from core.registry import DeploymentStatus, StageStatus
from tests.engine_rig import IMAGE, START, Rig, rig, rig_config

# For the tests of the live judge: without the pre-traffic smoke check (which refuses a faulty canary before
# it gets any traffic, see test_verify_smoke.py) the faulty revision reaches its first step.
LIVE_JUDGE_ONLY = {"required_checks": ["health", "websocket", "error_rate", "integration", "security"]}

STAGING_WEB = "agent-network-web-staging"


def _only(split: dict[str, int]) -> str:
    assert len(split) == 1 and sum(split.values()) == 100, split
    return next(iter(split))


def _intents(r: Rig, deployment_id: str, action: str) -> list[dict]:
    return [e.detail for e in r.registry.events(deployment_id) if e.kind == "intent" and e.action == action]


def test_blue_green_in_staging_switches_all_traffic_keeps_the_old_revision_and_switches_back(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        frontend = r.wiring.frontend()
        old = _only(r.served("staging"))
        old_web = frontend.production_deployment(STAGING_WEB)
        assert old_web is not None

        deployment = r.engine.deploy_to_environment("staging", {"websocket-server": IMAGE, "frontend": "release/2.0"})
        tick = r.drive(deployment.id)

        assert tick.state == "finished", tick
        assert r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED
        rollout = r.rollout(deployment.id)
        new = rollout.new_revision
        assert new and new != old
        assert r.served("staging") == {new: 100}
        splits = [e.split for e in r.events if isinstance(e, WeightChanged)]
        assert splits == [{new: 100}], "blue-green switches once, all at once"
        state = r.wiring.cloudrun("staging").get_service("websocket-server")
        assert state.tags.get("previous") == old, "the replaced revision keeps a tag"
        kept = state.revision(old)
        assert kept is not None and kept.ready and kept.url
        assert httpx.get(f"{kept.url}/healthz", timeout=10).status_code == 200, "and answers on its own URL"
        live_web = frontend.production_deployment(STAGING_WEB)
        assert live_web is not None and live_web.id == rollout.frontend_new != old_web.id

        back = rollback_deployment(r.engine, "staging", "websocket-server", reason="p99 up on the dashboard")

        assert r.served("staging") == {old: 100}
        recorded = r.deployment(back.id)
        assert recorded.strategy == "rollback" and recorded.status == DeploymentStatus.SUCCEEDED
        assert recorded.rollback_cause is not None and "p99 up on the dashboard" in recorded.rollback_cause
        assert _intents(r, back.id, "roll back traffic") == [{"from": new, "to": old}]

        web_back = rollback_deployment(r.engine, "staging", "frontend", reason="checkout button missing")

        live_web = frontend.production_deployment(STAGING_WEB)
        assert live_web is not None and live_web.id == old_web.id, "Vercel instant rollback to the previous one"
        recorded = r.deployment(web_back.id)
        assert recorded.strategy == "rollback" and recorded.versions == {"frontend": old_web.git_ref}
        assert "checkout button missing" in (recorded.rollback_cause or "")


def test_a_second_rollback_never_returns_to_the_release_just_rolled_back(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        frontend = r.wiring.frontend()
        deployment = r.engine.deploy_to_environment("staging", {"websocket-server": IMAGE, "frontend": "release/2.0"})
        r.drive(deployment.id)
        bad = r.rollout(deployment.id)
        rollback_deployment(r.engine, "staging", "websocket-server", reason="errors after release")
        rollback_deployment(r.engine, "staging", "frontend", reason="errors after release")

        for component in ("websocket-server", "frontend"):
            # "nothing earlier to roll back to" is a fine answer; going forward again is not
            with contextlib.suppress(OperationFailed):
                rollback_deployment(r.engine, "staging", component, reason="still failing: roll back further")

        assert bad.new_revision not in r.served("staging")
        live_web = frontend.production_deployment(STAGING_WEB)
        assert live_web is not None and live_web.id != bad.frontend_new


def _rolling_observations(r: Rig) -> list[tuple[int, dict[str, int], dict[str, int]]]:
    """Each WeightChanged as (percent, the split it carries, the split Cloud Run serves at that moment)."""
    seen: list[tuple[int, dict[str, int], dict[str, int]]] = []

    def watch(event: EngineEvent) -> None:
        if isinstance(event, WeightChanged):
            seen.append((event.percent, dict(event.split), r.served("dev")))

    r.engine.bus.subscribe(watch)
    return seen


def test_rolling_to_dev_moves_traffic_in_batches_of_25_that_always_sum_to_100(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        old = _only(r.served("dev"))
        seen = _rolling_observations(r)
        deployment = r.engine.deploy_to_environment("dev", {"websocket-server": IMAGE}, strategy="rolling")
        assert deployment.strategy == "rolling"

        tick = r.drive(deployment.id)

        assert tick.state == "finished" and r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED, tick
        new = r.rollout(deployment.id).new_revision
        assert [percent for percent, _, _ in seen] == [25, 50, 75, 100]
        for percent, split, served in seen:
            assert sum(split.values()) == 100 and sum(served.values()) == 100
            assert served == split, "what the engine announced is what Cloud Run serves"
            assert split.get(new) == percent and split.get(old, 0) == 100 - percent
        pause = timedelta(seconds=r.rollout(deployment.id).plan.stages[2].pause_after_s)
        assert pause.total_seconds() >= 60
        moves = [e.at for e in r.events if isinstance(e, WeightChanged)]
        assert all(later - earlier >= pause for earlier, later in itertools.pairwise(moves)), "a pause between batches"
        checked = [e.kind for e in r.events if isinstance(e, WeightChanged | VerificationDone)]
        assert checked == ["VerificationDone", *["WeightChanged", "VerificationDone"] * 4], "each batch is verified"
        assert all(e.passed for e in r.events if isinstance(e, VerificationDone))
        assert r.served("dev") == {new: 100}


@pytest.mark.parametrize("start", [START + 6 * 3637, START + 26 * 3637])
def test_a_healthy_rolling_release_is_not_rolled_back_for_latency(tmp_path: Path, start: float) -> None:
    with rig(tmp_path, start=start) as r:
        deployment = r.engine.deploy_to_environment("dev", {"websocket-server": IMAGE}, strategy="rolling")
        r.drive(deployment.id)
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.SUCCEEDED, final.rollback_cause


def test_a_frontend_only_deploy_builds_then_promotes_and_leaves_cloud_run_alone(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        frontend = r.wiring.frontend()
        before_split = r.served("staging")
        before = frontend.production_deployment(STAGING_WEB)
        deployment = r.engine.deploy_to_environment("staging", {"frontend": "release/2.1"})
        assert [s.name for s in deployment.stages] == ["deploy frontend", "verify frontend preview",
                                                       "promote frontend", "verify frontend in production",
                                                       "finalize"]

        tick = r.drive(deployment.id)

        assert tick.state == "finished" and r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED, tick
        live = frontend.production_deployment(STAGING_WEB)
        assert before is not None and live is not None and live.id != before.id
        assert live.id == r.rollout(deployment.id).frontend_new and live.git_ref == "release/2.1" and live.ready
        assert r.served("staging") == before_split
        actions = [e.action for e in r.registry.events(deployment.id) if e.kind == "intent"]
        assert actions == ["create frontend build", "promote frontend"], "built once, promoted once"


def test_abort_after_the_frontend_was_promoted_rolls_it_back_on_vercel(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        frontend = r.wiring.frontend()
        before = frontend.production_deployment(STAGING_WEB)
        assert before is not None
        deployment = r.engine.deploy_to_environment("staging", {"frontend": "release/2.1"})
        r.tick_until(deployment.id, lambda rollout: rollout.frontend_promoted)
        promoted = frontend.production_deployment(STAGING_WEB)
        assert promoted is not None and promoted.id != before.id
        assert r.rollout(deployment.id).current.name == "verify frontend in production"  # type: ignore[union-attr]

        abort(r.engine, "staging", "users report a blank page")
        tick = r.drive(deployment.id)

        assert tick.state == "finished"
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.ROLLED_BACK
        assert final.rollback_cause == "rolled back by alice: users report a blank page"
        live = frontend.production_deployment(STAGING_WEB)
        assert live is not None and live.id == before.id
        assert _intents(r, deployment.id, "roll back frontend") == [
            {"to": before.id, "cause": final.rollback_cause}]
        assert [(s.name, s.status) for s in final.stages][3] == ("verify frontend in production", StageStatus.FAILED)


def test_a_revision_that_never_becomes_ready_fails_the_deployment_before_any_traffic_moves(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="never-ready", start=START) as r:
        stable = _only(r.served("dev"))
        deployment = r.engine.deploy_to_environment("dev", {"websocket-server": IMAGE})

        tick = r.drive(deployment.id)

        assert tick.state == "finished"
        final = r.deployment(deployment.id)
        revision = r.rollout(deployment.id).new_revision
        assert final.status == DeploymentStatus.FAILED
        assert final.rollback_cause is not None
        assert f"revision {revision} did not become ready" in final.rollback_cause
        assert "failed to start and listen on PORT=8080" in final.rollback_cause
        assert final.stages[0].name == "deploy websocket-server" and final.stages[0].status == StageStatus.FAILED
        assert r.served("dev") == {stable: 100}
        assert not [e for e in r.events if isinstance(e, WeightChanged | RolledBack)]
        assert _intents(r, deployment.id, "set traffic") == []


def test_an_auto_canary_with_a_latency_regression_rolls_back_and_says_it_was_latency(tmp_path: Path) -> None:
    config = rig_config(mode="auto", criteria=LIVE_JUDGE_ONLY)
    with rig(tmp_path, scenario="canary-latency", config=config, start=START) as r:
        stable = _only(r.served())
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")

        tick = r.drive(deployment.id)

        assert tick.state == "finished"
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.ROLLED_BACK
        cause = final.rollback_cause or ""
        assert "p99" in cause and "5xx" not in cause, cause
        assert r.served() == {stable: 100}
        rolled = [e for e in r.events if isinstance(e, RolledBack)]
        assert len(rolled) == 1 and rolled[0].actor == "engine" and rolled[0].cause == cause
        assert max(e.percent for e in r.events if isinstance(e, WeightChanged)) == 10, "caught at the first step"


def test_a_low_traffic_auto_canary_holds_on_no_data_and_cannot_be_promoted(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="low-traffic", config=rig_config(mode="auto"), start=START) as r:
        stable = _only(r.served())
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")

        def verdicts() -> list[VerdictReached]:
            return [e for e in r.events if isinstance(e, VerdictReached)]

        r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda: len(verdicts()) >= 5)

        assert len(verdicts()) == 5
        assert {v.action for v in verdicts()} == {"hold"}
        # Below the request floor a window is "no data"; once the windows pooled reach it, the judge has data it
        # cannot decide on yet: "inconclusive", never "no data" over hundreds of requests.
        assert verdicts()[0].outcome == "no_data" and {v.outcome for v in verdicts()} <= {"no_data", "inconclusive"}
        assert all(("no data" in v.explanation or "not judged" in v.explanation) if v.outcome == "no_data"
                   else "inconclusive" in v.explanation for v in verdicts())
        assert r.deployment(deployment.id).status == DeploymentStatus.IN_PROGRESS
        new = r.rollout(deployment.id).new_revision
        assert r.served() == {new: 10, stable: 90}, "the step holds at its weight"
        assert not [e for e in r.events if isinstance(e, RolledBack)]
        with pytest.raises(Refused):
            promote(r.engine, "production")
        assert r.served() == {new: 10, stable: 90}


def test_an_auto_canary_the_judge_cannot_decide_is_said_out_loud_once_and_keeps_being_watched(
        tmp_path: Path) -> None:
    import math

    from core.analysis import DEFAULT_SETTINGS
    from core.engine.steps.analysis import UNDECIDED_AFTER_S
    from core.model.events import Note

    # A floor no window reaches: every window is NO_DATA, as on a service too quiet to judge.
    config = rig_config(mode="auto", criteria={"min_requests_per_window": 10**9})
    window_s = config.environment("production").strategy.analysis_window_s
    planned = max(2, min(DEFAULT_SETTINGS.for_window(window_s).planned_windows,
                         math.ceil(UNDECIDED_AFTER_S / window_s)))
    with rig(tmp_path, config=config, start=START) as r:
        stable = _only(r.served())
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")

        def verdicts() -> list[VerdictReached]:
            return [e for e in r.events if isinstance(e, VerdictReached)]

        def undecided() -> list[Note]:
            return [e for e in r.events if isinstance(e, Note) and "undecided" in e.message]

        r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda: len(verdicts()) >= planned - 1)
        assert not undecided(), "not before the planned windows have been judged"
        r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda: len(verdicts()) >= planned + 3)

        assert len(undecided()) == 1, "said once per step, not every window"
        said = undecided()[0].message
        assert f"production canary at 10 % undecided after {planned * window_s // 60} min" in said
        assert "opsconsole promote production --override" in said
        slack = [m.get("text", "") for m in r.cloud.sinks.slack_messages()]
        assert any("undecided after" in text for text in slack), "the person on call hears it where they listen"
        new = r.rollout(deployment.id).new_revision
        assert r.served() == {new: 10, stable: 90}, "it still holds at its weight"
        assert r.deployment(deployment.id).status == DeploymentStatus.IN_PROGRESS
        assert len(verdicts()) == planned + 3, "and the judge keeps watching after it has said so"
        assert "undecided for longer than planned" in r.rollout(deployment.id).waiting_for
