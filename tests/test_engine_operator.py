"""Operator actions on a running canary (pause, resume, set weight, promote), who may act, one deployment per
environment, and a console restarted (or killed) in the middle of a canary, all on the sandbox."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from core.engine import Engine, EnvironmentBusy, abort, approve, pause, promote, resume, set_weight
from core.errors import BadInput, Refused
from core.model.events import RolledBack, VerdictReached, WeightChanged
from core.registry import DeploymentStatus, StepEvent
from tests.engine_rig import IMAGE, START, Rig, rig, rig_config

# For the tests of the live judge: without the pre-traffic smoke check (which refuses a faulty canary before
# it gets any traffic, see test_verify_smoke.py) the faulty revision reaches its first step.
LIVE_JUDGE_ONLY = {"required_checks": ["health", "websocket", "error_rate", "integration", "security"]}


def _at_first_step(r: Rig) -> str:
    """A production canary approved and promoted to 10 %, its traffic moved; returns its id."""
    deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
    approve(r.engine_for("bob"), "production")
    assert r.drive(deployment.id).state == "operator"
    promote(r.engine, "production")
    r.engine.tick(deployment.id)
    assert r.rollout(deployment.id).weight == 10
    return deployment.id


def _verdicts(r: Rig) -> list[VerdictReached]:
    return [e for e in r.events if isinstance(e, VerdictReached)]


def _traffic_intents(registry_events: list[StepEvent]) -> list[int]:
    return [e.detail["percent"] for e in registry_events if e.kind == "intent" and e.action == "set traffic"]


def test_pause_holds_a_manual_canary_at_its_weight_while_the_judge_keeps_judging(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment_id = _at_first_step(r)
        at_ten = r.served()
        pause(r.engine, "production")

        tick = r.drive(deployment_id)

        assert tick.state == "operator" and "paused by the operator" in tick.reason, tick
        assert len(_verdicts(r)) >= 1, "the judge still judges the windows of a paused step"
        promote(r.engine, "production")  # allowed (the judge passed), but a paused canary does not move
        r.sleep(600)
        judged = len(_verdicts(r))
        tick = r.drive(deployment_id)
        assert tick.state == "operator" and "paused" in tick.reason
        assert len(_verdicts(r)) > judged, "time passed while paused: more windows were judged"
        assert r.served() == at_ten
        assert r.deployment(deployment_id).status == DeploymentStatus.IN_PROGRESS
        with pytest.raises(Refused, match="already paused"):
            pause(r.engine, "production")

        resume(r.engine, "production")
        tick = r.drive(deployment_id)

        assert tick.state == "operator" and "promote to 50 %" in tick.reason, tick
        assert sorted(r.served().values()) == [25, 75], "the promote given while paused takes effect on resume"
        with pytest.raises(Refused, match="not paused"):
            resume(r.engine, "production")


def test_a_rollback_trigger_still_fires_while_the_canary_is_paused(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="canary-5xx", config=rig_config(criteria=LIVE_JUDGE_ONLY), start=START) as r:
        stable = next(iter(r.served()))
        deployment_id = _at_first_step(r)
        pause(r.engine, "production")

        tick = r.drive(deployment_id)

        assert tick.state == "finished", tick
        final = r.deployment(deployment_id)
        assert final.status == DeploymentStatus.ROLLED_BACK
        assert "5xx" in (final.rollback_cause or "") and "rollback trigger" in (final.rollback_cause or "")
        assert r.served() == {stable: 100}
        assert [e.actor for e in r.events if isinstance(e, RolledBack)] == ["engine"]


def test_set_weight_by_hand_to_5_then_0_moves_traffic_and_keeps_the_deployment_running(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        stable = next(iter(r.served()))
        deployment_id = _at_first_step(r)
        new = r.rollout(deployment_id).new_revision
        assert new is not None
        moves: list[dict[str, int]] = []
        r.engine.bus.subscribe(lambda e: moves.append(dict(e.split)) if isinstance(e, WeightChanged) else None)

        set_weight(r.engine, "production", 5)
        r.engine.tick(deployment_id)
        assert r.served() == {new: 5, stable: 95}

        set_weight(r.engine, "production", 0)
        r.engine.tick(deployment_id)
        assert r.served() == {stable: 100}
        r.engine.drive(deployment_id, sleep=r.sleep, max_ticks=30)  # judging on, nothing else changes

        assert moves == [{new: 5, stable: 95}, {stable: 100}]
        assert r.served() == {stable: 100}
        final = r.deployment(deployment_id)
        assert final.status == DeploymentStatus.IN_PROGRESS and r.engine.active("production") is not None
        requests = [(e.action, e.detail.get("percent")) for e in r.registry.events(deployment_id)
                    if e.kind == "request" and e.action == "set weight"]
        assert requests == [("set weight", 5), ("set weight", 0)]
        with pytest.raises(BadInput, match="between 0 and 100"):
            set_weight(r.engine, "production", 101)


def test_a_canary_set_to_0_percent_is_handed_back_to_the_operator(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment_id = _at_first_step(r)
        set_weight(r.engine, "production", 0)

        tick = r.engine.drive(deployment_id, sleep=r.sleep, max_ticks=200)

        assert tick.state == "operator", tick


def test_an_operator_outside_the_production_team_is_refused_and_told_which_team(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        mallory = r.engine_for("mallory")
        with pytest.raises(Refused, match=r"operator mallory may not act on production .*team operations"):
            mallory.deploy_to_environment("production", {"websocket-server": IMAGE})
        assert r.registry.list_deployments(environment="production") == []

        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        for action in (approve, promote, pause):
            with pytest.raises(Refused, match="team operations"):
                action(mallory, "production")
        with pytest.raises(Refused, match="team operations"):
            abort(mallory, "production", "I do not like it")
        assert r.rollout(deployment.id).approval is None and not r.rollout(deployment.id).paused
        assert mallory.deploy_to_environment("dev", {"websocket-server": IMAGE}).actor == "mallory", \
            "dev is open to every operator"


def test_one_deployment_and_one_driver_per_environment(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        first = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        with pytest.raises(Refused, match=f"production already has deployment {first.id}"):
            r.engine_for("bob").deploy_to_environment("production", {"frontend": "release/2.0"})
        assert [d.id for d in r.registry.list_deployments(environment="production")] == [first.id]

        r.engine.lock("production").acquire()  # this console drives production
        other = r.restarted("bob")
        with pytest.raises(EnvironmentBusy, match="production is being driven by alice"):
            other.drive(first.id, sleep=r.sleep)
        r.engine.lock("production").release()
        assert other.drive(first.id, sleep=r.sleep).state == "operator", "free again once the first lets go"


def test_a_restarted_console_carries_a_canary_on_without_applying_a_step_twice(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment_id = _at_first_step(r)
        r.drive(deployment_id)
        promote(r.engine, "production")
        r.tick_until(deployment_id, lambda rollout: rollout.weight == 25)
        r.sleep(120)  # 25 % is served, its first window half watched, then the console is gone
        r.engine.release_locks()
        served_at_restart = r.served()
        updates_before = r.cloud.cloudrun_calls["UpdateService"]

        second = r.restarted()
        assert [d.id for d in second.unfinished()] == [deployment_id]
        tick = second.drive(deployment_id, sleep=r.sleep)

        assert r.cloud.cloudrun_calls["UpdateService"] == updates_before, "25 % was in place: nothing re-sent"
        assert r.served() == served_at_restart and tick.state == "operator" and "promote to 50 %" in tick.reason
        for _ in (50, 100):
            promote(second, "production")
            tick = second.drive(deployment_id, sleep=r.sleep)
        assert tick.state == "finished"
        final = second.registry.get_deployment(deployment_id)
        assert final is not None and final.status == DeploymentStatus.SUCCEEDED
        assert _traffic_intents(second.registry.events(deployment_id)) == [10, 25, 50, 100]


class ConsoleKilled(BaseException):
    """The process died: not an error the engine could catch and record."""


class _DiesAfterSettingTraffic:
    """A Cloud Run provider whose console is killed right after Cloud Run accepted a traffic change."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def set_traffic(self, *args: Any, **kwargs: Any) -> Any:
        self._inner.set_traffic(*args, **kwargs)
        raise ConsoleKilled("killed before the outcome was written to the registry")


def test_a_console_killed_between_sending_a_split_and_recording_it_does_not_send_it_again(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        r.drive(deployment.id)
        promote(r.engine, "production")
        doomed_ports = dataclasses.replace(r.engine.ports,
                                           cloudrun=lambda env: _DiesAfterSettingTraffic(r.wiring.cloudrun(env)))
        doomed = Engine(r.engine.config, r.registry, doomed_ports, operator="alice", verify_messages=5)
        with pytest.raises(ConsoleKilled):
            doomed.drive(deployment.id, sleep=r.sleep)
        kinds = Counter((e.kind, e.action) for e in r.registry.events(deployment.id))
        assert kinds[("intent", "set traffic")] == 1 and kinds[("done", "set traffic")] == 0
        new = r.rollout(deployment.id).new_revision
        assert r.served()[new] == 10, "Cloud Run got the split before the console died"
        updates_before = r.cloud.cloudrun_calls["UpdateService"]

        second = r.restarted()
        tick = second.drive(deployment.id, sleep=r.sleep)

        assert tick.state == "operator" and "promote to 25 %" in tick.reason, tick
        assert r.cloud.cloudrun_calls["UpdateService"] == updates_before
        assert _traffic_intents(second.registry.events(deployment.id)) == [10]
        assert r.served()[new] == 10


def test_an_override_moves_a_holding_auto_canary_on_and_is_recorded(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="low-traffic", config=rig_config(mode="auto"), start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda: len(_verdicts(r)) >= 2)

        with pytest.raises(Refused, match="override"):
            promote(r.engine, "production")
        promote(r.engine, "production", override="quiet hours: traffic too low to judge")
        r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda: r.rollout(deployment.id).weight > 10)

        assert r.rollout(deployment.id).weight == 25
        assert r.rollout(deployment.id).overrides[0]["reason"] == "quiet hours: traffic too low to judge"


def test_a_read_only_engine_refuses_every_change(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        watcher = r.engine_for("alice")
        watcher.read_only = True
        for attempt in (lambda: approve(watcher, "production"), lambda: promote(watcher, "production"),
                        lambda: watcher.drive(deployment.id, sleep=r.sleep),
                        lambda: watcher.deploy_to_environment("staging", {"websocket-server": IMAGE})):
            with pytest.raises(Refused, match="read-only"):
                attempt()
        assert r.deployment(deployment.id).metadata["rollout"]["approval"] is None
