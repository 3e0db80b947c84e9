"""Deployment plans: the stages of each strategy, who must step them, how each is undone, and that a plan
survives being stored as JSON."""

from __future__ import annotations

import json

import pytest

from core.config import BlueGreenStrategy, CanaryStrategy, RollingStrategy, ValidationCriteria, default_config
from core.errors import BadInput
from core.registry.models import StageRecord
from core.strategies import (
    DeploymentPlan,
    PlanContext,
    PlanError,
    RollbackAction,
    StageKind,
    generate_deployment_plan,
)

STABLE = "websocket-server-00007-abc"
BOTH = {"websocket-server": "us-docker.pkg.dev/p/r/ws:1.4.0", "frontend": "v2.3.0"}
WS_ONLY = {"websocket-server": "us-docker.pkg.dev/p/r/ws:1.4.0"}


def plan_for(environment: str, versions: dict[str, str] = WS_ONLY, *, stable: str | None = STABLE,
             mode: str | None = None) -> DeploymentPlan:
    strategy = default_config().environment(environment).strategy
    context = PlanContext(environment, "websocket-server", stable, versions, mode)  # type: ignore[arg-type]
    return generate_deployment_plan(strategy, context)


def kinds(plan: DeploymentPlan) -> list[str]:
    return [stage.kind.value for stage in plan.stages]


def test_blue_green_deploys_dark_verifies_on_its_tag_switches_observes_and_keeps_the_old_one() -> None:
    plan = plan_for("staging")
    assert kinds(plan) == ["deploy_revision", "verify", "set_traffic", "observe", "finalize"]
    deploy, verify, switch, observe, finalize = plan.stages
    assert (deploy.traffic_percent, deploy.tag) == (0, "candidate")
    assert verify.validation is not None and verify.validation.target == "tag_url"
    assert verify.validation.checks == ("health", "websocket", "smoke", "error_rate", "integration")  # staging's
    assert switch.traffic_percent == 100
    assert observe.monitoring is not None
    assert (observe.monitoring.window_s, observe.monitoring.compare_to_stable) == (300, False)
    assert observe.validation is not None and observe.validation.judge
    assert finalize.tag == "previous"  # the old revision stays addressable for an instant switch-back
    assert not any(stage.needs_operator for stage in plan.stages)  # staging runs on its own
    assert plan.mode == "auto"


def test_production_canary_steps_by_hand_with_an_analysis_window_per_step() -> None:
    plan = plan_for("production")
    assert plan.traffic_steps == [10, 25, 50, 100]
    steps = [stage for stage in plan.stages if stage.kind is StageKind.SET_TRAFFIC]
    assert [stage.name for stage in steps] == ["canary 10 %", "canary 25 %", "canary 50 %", "canary 100 %"]
    assert all(stage.needs_operator for stage in steps)
    assert all(stage.validation is not None and stage.validation.judge for stage in steps)
    assert [stage.monitoring.window_s for stage in steps if stage.monitoring] == [300] * 4
    # At 100 % stable serves nothing, so the last window is judged on the ceilings alone.
    assert [stage.monitoring.compare_to_stable for stage in steps if stage.monitoring] == [True, True, True, False]
    assert kinds(plan)[:2] == ["deploy_revision", "verify"]  # no traffic before it is verified on its tag


def test_auto_mode_advances_on_the_judge_without_an_operator() -> None:
    plan = plan_for("production", mode="auto")
    assert plan.mode == "auto"
    assert not any(stage.needs_operator for stage in plan.stages)


def test_manual_mode_asks_for_an_operator_even_in_blue_green() -> None:
    plan = plan_for("dev", mode="manual")
    assert [s.name for s in plan.stages if s.needs_operator] == ["switch 100 % to the new revision"]


@pytest.mark.parametrize(("batch", "expected"), [(25, [25, 50, 75, 100]), (30, [30, 60, 90, 100]), (100, [100])])
def test_rolling_moves_fixed_batches_with_verification_and_a_pause(batch: int, expected: list[int]) -> None:
    strategy = RollingStrategy(batch_percent=batch, pause_between_batches_s=60)
    plan = generate_deployment_plan(strategy, PlanContext("staging", "websocket-server", STABLE, WS_ONLY))
    assert plan.traffic_steps == expected
    batches = [stage for stage in plan.stages if stage.kind is StageKind.SET_TRAFFIC]
    assert [stage.pause_after_s for stage in batches] == [60] * (len(expected) - 1) + [0]
    assert all(s.validation is not None and s.validation.checks == ("health",) for s in batches)
    assert batches[0].name == f"batch 1 of {len(expected)}: {expected[0]} %"


def test_every_stage_after_traffic_moves_can_send_it_back_to_stable() -> None:
    plan = plan_for("production")
    first_traffic = next(i for i, s in enumerate(plan.stages) if s.kind is StageKind.SET_TRAFFIC)
    for stage in plan.stages[:first_traffic]:
        assert [p.action for p in stage.rollback] == [RollbackAction.NOTHING_SERVED]
    for stage in plan.stages[first_traffic:]:
        (procedure,) = stage.rollback
        assert procedure.action is RollbackAction.TRAFFIC_TO_STABLE
        assert procedure.target_revision == STABLE
        assert procedure.keep_new_revision_tagged
        assert STABLE in procedure.description


def test_a_promoted_frontend_is_undone_first_by_an_instant_rollback() -> None:
    plan = plan_for("production", BOTH)
    promote = plan.stage("promote frontend")
    assert promote.needs_operator  # production is stepped by a person
    assert [p.action for p in promote.rollback] == [RollbackAction.FRONTEND_INSTANT_ROLLBACK,
                                                   RollbackAction.TRAFFIC_TO_STABLE]
    names = [s.name for s in plan.stages]
    # The frontend is promoted once the backend has all the traffic and passed its window.
    assert names.index("promote frontend") > names.index("canary 100 %")
    assert names[-1] == "finalize"


def test_frontend_only_and_websocket_only_plans_keep_to_their_component() -> None:
    frontend = plan_for("staging", {"frontend": "v2.3.0"})
    assert kinds(frontend) == ["deploy_frontend", "verify", "promote_frontend", "verify", "finalize"]
    assert {s.component for s in frontend.stages} == {"frontend", None}
    assert frontend.traffic_steps == []
    websocket = plan_for("staging")
    assert "frontend" not in {s.component for s in websocket.stages}


def test_infrastructure_goes_first_and_is_undone_last() -> None:
    plan = plan_for("staging", {"infrastructure": "plan-2026-11-02", **WS_ONLY})
    assert plan.stages[0].kind is StageKind.APPLY_INFRASTRUCTURE
    assert plan.stages[-1].rollback[-1].action is RollbackAction.REAPPLY_INFRASTRUCTURE


def test_a_first_deploy_has_nothing_to_split_with_and_says_so() -> None:
    plan = plan_for("production", stable=None)
    assert plan.traffic_steps == [100]
    assert plan.notes and "no stable revision" in plan.notes[0]
    switch = plan.stage("switch 100 % to the new revision")
    assert switch.needs_operator
    assert [p.action for p in switch.rollback] == [RollbackAction.NO_PREVIOUS_REVISION]
    assert plan.stage("finalize").tag is None


def test_stage_names_are_unique_so_the_engine_can_key_on_them() -> None:
    for environment in ("dev", "staging", "production"):
        names = [s.name for s in plan_for(environment, BOTH).stages]
        assert len(names) == len(set(names))


def test_a_plan_survives_json_and_fits_the_registry() -> None:
    plan = plan_for("production", BOTH)
    text = plan.to_json()
    assert DeploymentPlan.from_json(text) == plan
    assert json.loads(text)["stages"][4]["traffic_percent"] == 10
    records = [StageRecord(name=s.name, detail=s.model_dump(mode="json")) for s in plan.stages]
    assert records[4].detail["needs_operator"] is True


def test_a_plan_keeps_the_criteria_it_was_made_with() -> None:
    strategy = CanaryStrategy(steps=[5, 100], analysis_window_s=60, criteria=ValidationCriteria(max_5xx_rate=0.02))
    plan = generate_deployment_plan(strategy, PlanContext("production", "websocket-server", STABLE, WS_ONLY))
    assert plan.criteria.max_5xx_rate == 0.02
    assert plan.traffic_steps == [5, 100]


def test_a_damaged_stored_plan_is_refused_in_one_sentence() -> None:
    text = plan_for("staging").to_json().replace('"set_traffic"', '"teleport"')
    with pytest.raises(PlanError, match=r"^The stored deployment plan is not valid at stages\.2\.kind: ") as caught:
        DeploymentPlan.from_json(text)
    assert isinstance(caught.value, BadInput)


@pytest.mark.parametrize(
    ("context", "words"),
    [
        (dict(versions={}), "Nothing to deploy"),
        (dict(versions={"database": "v1"}), "Unknown component 'database'"),
        (dict(versions={"frontend": " "}), "The version of frontend is empty"),
        (dict(service="Web Socket"), "service name 'Web Socket' is not valid"),
        (dict(environment=""), "environment name '' is not"),
        (dict(mode="yolo"), "mode must be auto or manual"),
        (dict(stable_revision=""), "stable revision name is empty"),
    ],
)
def test_a_wrong_context_is_refused_with_what_is_wrong(context: dict, words: str) -> None:
    fields = dict(environment="staging", service="websocket-server", stable_revision=STABLE, versions=WS_ONLY)
    with pytest.raises(PlanError, match=words):
        PlanContext(**{**fields, **context})


def test_planning_with_something_that_is_not_a_strategy_is_refused() -> None:
    with pytest.raises(PlanError, match="expected a blue-green, canary or rolling strategy"):
        generate_deployment_plan(object(), PlanContext("dev", "websocket-server", STABLE, WS_ONLY))  # type: ignore[arg-type]


def test_blue_green_can_let_the_old_revision_go() -> None:
    strategy = BlueGreenStrategy(observation_window_s=60, keep_previous_addressable=False)
    plan = generate_deployment_plan(strategy, PlanContext("dev", "websocket-server", STABLE, WS_ONLY))
    assert plan.stage("finalize").tag is None
