"""The rules the engine, the CLI and the console share (core.model): a paused blue-green step is still judged, and
an automatic canary held by a failed verification can be promoted past it with a reason. Both on the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConsoleConfig
from core.engine import PromotionBlocked, approve, pause, promote
from core.errors import Refused
from core.model.actions import available_actions
from core.model.events import RolledBack
from core.registry import DeploymentStatus
from core.strategies import StageKind
from tests.engine_rig import IMAGE, START, rig, rig_config

NO_SMOKE = ["health", "websocket", "error_rate", "integration"]


def _staging_without_smoke() -> ConsoleConfig:
    config = rig_config()
    data = config.model_dump()
    data["environments"]["staging"]["strategy"]["criteria"]["required_checks"] = NO_SMOKE
    return ConsoleConfig.model_validate(data)


def test_a_paused_blue_green_observation_still_rolls_back_a_failing_revision(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="canary-5xx", config=_staging_without_smoke(), start=START) as r:
        stable = next(iter(r.served("staging")))
        deployment = r.engine.deploy_to_environment("staging", {"websocket-server": IMAGE})
        for _ in range(200):  # up to the observation that follows the switch to 100 %
            rollout = r.rollout(deployment.id)
            if rollout.current is not None and rollout.current.kind is StageKind.OBSERVE:
                break
            if r.engine.tick(deployment.id).state == "waiting":
                r.sleep(2)
        assert rollout.judging and rollout.weight == 100, "the new revision serves all traffic under the judge"
        pause(r.engine, "staging")

        tick = r.drive(deployment.id)

        assert tick.state == "finished", tick
        assert r.deployment(deployment.id).status == DeploymentStatus.ROLLED_BACK
        assert r.served("staging") == {stable: 100}, "traffic went back to stable although the step was paused"
        assert any(isinstance(e, RolledBack) and "canary judge" in e.cause for e in r.events)


def test_an_automatic_canary_held_by_failed_verification_goes_on_with_an_override(tmp_path: Path) -> None:
    config = rig_config(mode="auto", triggers={"on_failed_verification": False})
    with rig(tmp_path, scenario="canary-5xx", config=config, start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine_for("bob"), "production")
        tick = r.drive(deployment.id)
        assert tick.state == "operator" and "verification failed" in tick.reason, tick
        assert r.rollout(deployment.id).weight == 0

        with pytest.raises(PromotionBlocked, match="verification failed"):
            promote(r.engine, "production")
        promote(r.engine, "production", override="smoke flakes on the tag URL; watching the judge")
        tick = r.drive(deployment.id)

        rollout = r.rollout(deployment.id)
        assert rollout.overridden("verification")
        assert rollout.weight > 0 or r.deployment(deployment.id).status != DeploymentStatus.IN_PROGRESS, \
            "the override let the canary go on to take traffic"
        assert [o["actor"] for o in rollout.overrides] == [r.engine.operator]


def test_the_console_and_the_engine_give_the_same_reason(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        states = available_actions("production", r.deployment(deployment.id), requires_approval=True)
        assert states["approve"].available
        why = states["promote"].unavailable
        assert why is not None and "needs an approval first" in why
        with pytest.raises(Refused) as refused:
            promote(r.engine, "production")
        assert str(refused.value) == why
