"""Adding a strategy is one module plus its config model: "halfway", written below as that module and model and
registered, is accepted in the configuration, planned, run by the engine on the sandbox, and offered by
`deploy --strategy` and the deploy wizard, with no other file edited. The built-in strategies obey the same rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import CliRunner
from textual.widgets import DataTable, Input, OptionList

from console import deploy_commands
from core.config import (
    CanaryStrategy,
    ConfigError,
    LoadTest,
    RollingStrategy,
    StrategySettings,
    default_config,
    validate_configuration,
)
from core.config.strategies import STRATEGY_CLASSES, WindowSeconds
from core.engine.choices import default_strategy, strategy_choices
from core.engine.planning import plan_for
from core.model.events import WeightChanged
from core.registry import DeploymentStatus
from core.strategies import (
    BUILT_IN,
    DEFAULT_WINDOW_S,
    DeploymentPlan,
    Monitoring,
    PlanBuilder,
    StageKind,
    Strategy,
    Validation,
    load_test_of,
    mode_of,
    register,
    registered,
    summary_of,
    unregister,
    window_of,
)
from tests.engine_rig import IMAGE, START, rig
from tests.test_tui_console import console, until
from tests.test_tui_wizard import step, wizard

STABLE = "websocket-server-00007-abc"

# --- the whole of a new strategy: its config model, and its module -------------------------------------------


class HalfwayStrategy(StrategySettings):
    """Half the traffic to the new revision, judged against stable over a window, then all of it."""

    kind: Literal["halfway"] = "halfway"
    judged_for_s: WindowSeconds = 60


class Halfway(Strategy[HalfwayStrategy]):
    settings = HalfwayStrategy
    steppable_by_hand = True

    def traffic_stages(self, plan: PlanBuilder, settings: HalfwayStrategy) -> None:
        if plan.first_deploy:
            plan.one_switch(settings.judged_for_s, replacing=self.kind)
            return
        for percent in (50, 100):
            plan.add(name=f"halfway {percent} %", kind=StageKind.SET_TRAFFIC, component="websocket-server",
                     traffic_percent=percent, needs_operator=plan.manual, validation=Validation(judge=True),
                     monitoring=Monitoring(window_s=settings.judged_for_s, compare_to_stable=percent < 100))

    def settings_like(self, base: StrategySettings, window_s: int) -> HalfwayStrategy:
        return HalfwayStrategy(judged_for_s=window_s, criteria=base.criteria, triggers=base.triggers)

    def window_s(self, settings: HalfwayStrategy) -> int:
        return settings.judged_for_s


# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def halfway() -> Iterator[Halfway]:
    strategy = register(Halfway())
    yield strategy
    unregister("halfway")


def staging_halfway(**settings: Any) -> dict[str, Any]:
    return {"environments": {"staging": {"strategy": {"kind": "halfway", **settings}}}}


def problems_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_configuration(data, source="ops.toml")
    return [(p.path, p.message) for p in caught.value.problems]


def test_the_configuration_accepts_its_settings_and_explains_its_mistakes(halfway: Halfway) -> None:
    config = validate_configuration(staging_halfway(judged_for_s=120), source="ops.toml")
    strategy = config.environment("staging").strategy
    # Switching kind drops the blue-green settings the built-in staging had (observation_window_s).
    assert isinstance(strategy, HalfwayStrategy) and strategy.judged_for_s == 120
    assert strategy.criteria == default_config().environment("staging").strategy.criteria

    assert problems_of(staging_halfway(judged_for=120)) == [
        ("environments.staging.strategy.judged_for", "is not a known setting; did you mean judged_for_s?")]
    assert problems_of(staging_halfway(judged_for_s=5)) == [
        ("environments.staging.strategy.judged_for_s", "must be greater than or equal to 10")]
    assert problems_of({"environments": {"staging": {"strategy": {"kind": "big-bang"}}}}) == [
        ("environments.staging.strategy.kind", "kind must be one of blue-green, canary, rolling, halfway")]


def test_unregistered_it_is_refused_again_as_before() -> None:
    register(Halfway())
    unregister("halfway")
    assert problems_of(staging_halfway()) == [
        ("environments.staging.strategy.kind", "kind must be one of blue-green, canary, rolling")]


def test_it_is_planned_configured_or_chosen_for_one_deployment(halfway: Halfway) -> None:
    config = validate_configuration(staging_halfway(judged_for_s=120), source="ops.toml")
    plan = plan_for(config.environment("staging"), {"websocket-server": IMAGE}, stable=STABLE).plan
    assert (plan.strategy, plan.mode) == ("halfway", "auto")
    assert [s.name for s in plan.stages] == ["deploy websocket-server", "verify websocket-server on its tag URL",
                                             "halfway 50 %", "halfway 100 %", "finalize"]
    half = plan.stage("halfway 50 %")
    assert half.monitoring == Monitoring(window_s=120, compare_to_stable=True)
    assert half.rollback[0].target_revision == STABLE
    assert plan.stage("finalize").tag == "previous"
    assert DeploymentPlan.from_json(plan.to_json()) == plan  # the registry stores it and reads it back

    # Chosen by hand in production (a canary there): production's criteria, triggers and window.
    production = default_config().environment("production")
    chosen = plan_for(production, {"websocket-server": IMAGE}, stable=STABLE, strategy="halfway", mode="manual").plan
    assert chosen.strategy == "halfway" and chosen.criteria == production.strategy.criteria
    assert chosen.stage("halfway 50 %").needs_operator
    assert chosen.stage("halfway 50 %").monitoring == Monitoring(window_s=300, compare_to_stable=True)

    first = plan_for(config.environment("staging"), {"websocket-server": IMAGE}, stable=None).plan
    assert [s.name for s in first.stages if s.kind is StageKind.SET_TRAFFIC] == ["switch 100 % to the new revision"]
    assert first.notes == ("First deploy: there is no stable revision to split traffic with, so the halfway steps "
                           "are replaced by one switch to 100 %.",)


def test_deploy_offers_it_as_a_strategy(halfway: Halfway) -> None:
    runner = CliRunner()
    assert "halfway" in runner.invoke(deploy_commands.deploy, ["--help"]).output
    refused = runner.invoke(deploy_commands.deploy, ["dev", "--set", "frontend=v1", "--strategy", "big-bang"])
    assert refused.exit_code == 2
    assert "'big-bang' is not one of 'blue-green', 'canary', 'rolling', 'halfway'" in refused.output
    parsed = deploy_commands.deploy.make_context("deploy", ["dev", "--set", "frontend=v1", "--strategy", "halfway"])
    assert parsed.params["strategy"] == "halfway"


def test_the_wizard_choices_offer_it_in_both_modes(halfway: Halfway) -> None:
    labels = [c.label for c in strategy_choices()]
    assert labels == ["canary · manual", "canary · auto", "halfway · manual", "halfway · auto", "blue-green",
                      "rolling"]
    config = validate_configuration(staging_halfway(), source="ops.toml")
    assert default_strategy(config.environment("staging")).label == "halfway · auto"


async def test_the_wizard_screen_lists_it_and_plans_with_it(tmp_path: Path, halfway: Halfway) -> None:
    with rig(tmp_path, start=START) as r:
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("d")
            await until(pilot, lambda: step(app) == "step-environment", "the wizard")
            await pilot.press("enter")  # production
            await until(pilot, lambda: step(app) == "step-versions", "the versions step")
            app.screen.query_one("#version-websocket-server", Input).value = IMAGE
            await pilot.press("enter")
            await until(pilot, lambda: step(app) == "step-strategy", "the strategy step")
            options = app.screen.query_one("#wizard-strategies", OptionList)
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            assert "halfway · auto" in ids
            options.highlighted = ids.index("halfway · auto")
            await pilot.press("enter")
            table = app.screen.query_one("#wizard-plan", DataTable)
            await until(pilot, lambda: table.row_count > 0, "the plan preview")
            assert wizard(app).plan is not None and wizard(app).plan.strategy == "halfway"
            stages = [table.get_row_at(i)[1] for i in range(table.row_count)]
            assert [s for s in stages if s.startswith("halfway")] == ["halfway 50 %", "halfway 100 %"]


def test_the_engine_runs_it_to_the_end_on_the_sandbox(tmp_path: Path, halfway: Halfway) -> None:
    with rig(tmp_path, start=START) as r:
        old = next(iter(r.served("staging")))
        deployment = r.engine.deploy_to_environment("staging", {"websocket-server": IMAGE}, strategy="halfway")
        tick = r.drive(deployment.id)
        assert tick.state == "finished", tick
        assert r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED
        new = r.rollout(deployment.id).new_revision
        assert new is not None
        splits = [e.split for e in r.events if isinstance(e, WeightChanged)]
        assert splits == [{new: 50, old: 50}, {new: 100}]


def test_every_registered_kind_has_settings_and_every_settings_model_a_strategy() -> None:
    assert [s.kind for s in registered()] == [s.kind for s in BUILT_IN] == ["blue-green", "canary", "rolling"]
    assert {s.kind: s.settings for s in registered()} == STRATEGY_CLASSES


def test_one_line_answers_about_a_configured_strategy_match_each_kind() -> None:
    production, staging = (default_config().environment(e).strategy for e in ("production", "staging"))
    rolling = RollingStrategy(batch_percent=25, pause_between_batches_s=30)
    assert [window_of(s) for s in (production, staging, rolling)] == [300, 300, DEFAULT_WINDOW_S]
    assert [mode_of(s) for s in (production, staging, rolling)] == ["manual", "auto", "auto"]
    assert [summary_of(s) for s in (production, staging, rolling)] == [
        "canary 10 → 25 → 50 → 100, manual", "blue-green", "rolling"]
    assert summary_of(production, compact=True) == "canary 10,25,50,100 manual"
    with_load = CanaryStrategy(steps=[50, 100], analysis_window_s=60, load_test=LoadTest(rps=2))
    assert load_test_of(with_load) == LoadTest(rps=2) and load_test_of(staging) is None
