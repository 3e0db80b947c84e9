"""Whole flows on the sandbox (frozen clock): an auto canary rolling itself back; promoting past a failed check."""

from __future__ import annotations

from pathlib import Path

from console.screens.ask import AskScreen
from console.screens.detail import DetailScreen
from console.screens.wizard import WizardScreen
from core.engine import approve
from core.registry import DeploymentStatus
from tests.engine_rig import IMAGE, START, rig, rig_config
from tests.test_tui_console import card, console, toasts, type_text, until
from tests.test_tui_wizard import confirm_production, seed_history, step


async def test_an_auto_canary_started_in_the_wizard_rolls_itself_back_under_elevated_5xx(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="canary-5xx", start=START) as r:
        stable = next(iter(r.served()))
        seed_history(r, {"websocket-server": IMAGE})
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("d")
            await until(pilot, lambda: step(app) == "step-environment", "the wizard")
            await pilot.press("enter", "up", "enter")  # production; the version staging ran
            await until(pilot, lambda: step(app) == "step-strategy", "the strategy step")
            await pilot.press("down", "enter")  # canary · auto instead of production's manual
            await until(pilot, lambda: step(app) == "step-plan", "the plan")
            assert isinstance(app.screen, WizardScreen) and app.screen.strategy.label == "canary · auto"
            await until(pilot, lambda: app.screen.plan is not None, "the plan preview")  # type: ignore[attr-defined]
            assert app.screen.plan.mode == "auto"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: "needs an approval" in card(app, "production"), "the deployment waits")
            await pilot.press("a")
            await confirm_production(pilot, app)
            await until(pilot, lambda: "rolled back" in card(app, "production"), "the card shows the rollback")
            assert "Rolled back" in toasts(app)
            log = app.main.query_one("#log").lines_text
            assert any("▸ rolled back by engine: " in line for line in log), "\n".join(log)
            assert r.served() == {stable: 100}
            deployment = r.registry.list_deployments(environment="production", limit=1)[0]
            assert deployment.status == DeploymentStatus.ROLLED_BACK and deployment.strategy == "canary"


async def test_a_refused_promotion_offers_promote_anyway_and_records_the_override(tmp_path: Path) -> None:
    # Redis down: the new revision fails verification; with this trigger off the engine waits for the operator.
    config = rig_config(triggers={"on_failed_verification": False})
    with rig(tmp_path, scenario="redis-unreachable", config=config, start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        assert "verification failed" in r.drive(deployment.id).reason
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("p")
            await confirm_production(pilot, app)
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "promote anyway is offered")
            assert "not promoting production: verification failed" in str(app.screen.query_one("#ask-context").content)
            await pilot.press("escape")  # backing out changes nothing
            await until(pilot, lambda: app.screen is app.main, "the main screen")
            assert r.rollout(deployment.id).overrides == []

            await pilot.press("p")
            await confirm_production(pilot, app)
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "promote anyway again")
            await pilot.press("enter")  # an empty reason is not a reason
            assert isinstance(app.screen, AskScreen)
            assert "production: canary 0 % → 10 % on ws:v2.0.0" in str(app.screen.query_one("#ask-effect").content)
            await type_text(pilot, "redis fix", "enter")  # the reason is the one confirmation: no name typed again
            await until(pilot, lambda: r.rollout(deployment.id).overrides != [], "the override is recorded")
            override = r.rollout(deployment.id).overrides[0]
            assert (override["what"], override["actor"], override["reason"]) == (
                "verification", "alice", "redis fix")
            assert "with an override by alice" in toasts(app)

            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.deployment is not None,
                        "the detail screen")
            screen = app.screen
            assert isinstance(screen, DetailScreen)
            assert "override by alice" in str(screen.query_one("#detail-summary").content)
            assert any("promote by alice" in line and "override redis fix" in line
                       for line in screen.log_text)
