"""The deploy wizard driven by Pilot on the sandbox (frozen clock): a production canary deployed and stepped by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label

from console import deploy_commands
from console.app import OpsConsoleApp
from console.screens.confirm import ConfirmScreen
from console.screens.wizard import WizardScreen
from core.config import ConsoleConfig
from core.engine.choices import parse_since, validate_version
from core.errors import BadInput
from core.registry import DeploymentStatus
from tests.engine_rig import IMAGE, START, Rig, rig, rig_config
from tests.test_tui_console import card, console, toasts, type_text, until


def wizard(app: OpsConsoleApp) -> WizardScreen:
    assert isinstance(app.screen, WizardScreen), app.screen
    return app.screen


def step(app: OpsConsoleApp) -> str:
    return str(app.screen.query_one("#wizard-body").current) if isinstance(app.screen, WizardScreen) else ""


def text_of(app: OpsConsoleApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Label).content)


async def confirm_production(pilot: Pilot, app: OpsConsoleApp) -> None:
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation modal")
    await type_text(pilot, "production", "enter")


def seed_history(r: Rig, *versions: dict[str, str], environment: str = "staging") -> None:
    """Finished deployments in the registry (only there: the sandbox keeps serving what it serves)."""
    day = r.engine.ports.now() - timedelta(days=1)
    r.registry.import_history([
        {"environment": environment, "versions": v, "status": "succeeded", "strategy": "blue-green", "actor": "bob",
         "started_at": day + timedelta(minutes=10 * n), "ended_at": day + timedelta(minutes=10 * n + 4)}
        for n, v in enumerate(versions)])


def waiting_for(r: Rig) -> str:
    active = r.engine.active("production")
    return r.rollout(active.id).waiting_for if active else ""


async def test_a_production_canary_deployed_through_the_wizard_and_stepped_to_100(tmp_path: Path) -> None:
    with rig(tmp_path, config=rig_config(analysis_window_s=120), start=START) as r:
        seed_history(r, {"websocket-server": IMAGE})
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("d")
            await until(pilot, lambda: step(app) == "step-environment", "the wizard opens on the environment")
            await pilot.press("enter")  # production, the selected card, is pre-selected
            await until(pilot, lambda: step(app) == "step-versions", "the versions step")
            assert wizard(app).environment == "production"

            await type_text(pilot, "v2", "enter")  # a bare tag is not an image: said inline, the wizard stays
            assert "websocket-server 'v2' is not a container image" in text_of(app, "#versions-problem")
            assert step(app) == "step-versions" and app.is_running
            app.screen.query_one("#version-websocket-server", Input).value = ""
            assert IMAGE in str(app.screen.query_one("#recent-websocket-server").content)  # staging ran it
            await pilot.press("up", "enter")  # ↑ takes the newest version the registry knows
            assert app.screen.query_one("#version-websocket-server", Input).value == IMAGE
            await until(pilot, lambda: step(app) == "step-strategy", "the strategy step")

            await pilot.press("escape")  # back one step: what was typed is still there
            assert step(app) == "step-versions"
            assert app.screen.query_one("#version-websocket-server", Input).value == IMAGE
            await pilot.press("escape")
            assert step(app) == "step-environment"
            await pilot.press("enter")
            assert app.screen.query_one("#version-websocket-server", Input).value == IMAGE
            await pilot.press("enter")
            await until(pilot, lambda: step(app) == "step-strategy", "the strategy step again")
            assert wizard(app).strategy.label == "canary · manual"  # pre-filled from production's config
            await pilot.press("enter")

            table = app.screen.query_one("#wizard-plan", DataTable)
            await until(pilot, lambda: table.row_count > 0, "the plan preview")
            stages = [table.get_row_at(i)[1] for i in range(table.row_count)]
            assert [s for s in stages if s.startswith("canary")] == ["canary 10 %", "canary 25 %", "canary 50 %",
                                                                     "canary 100 %"]
            assert table.get_row_at(stages.index("canary 10 %"))[3:] == ["10 %", "120 s", "yes"]
            await pilot.press("enter")
            await until(pilot, lambda: step(app) == "step-confirm", "the confirmation step")
            await type_text(pilot, "prod", "enter")
            assert "did not match 'production'; nothing was deployed" in text_of(app, "#confirm-problem")
            assert r.engine.active("production") is None
            app.screen.query_one("#wizard-confirm", Input).value = ""
            await type_text(pilot, "production", "enter")

            await until(pilot, lambda: app.screen is app.main, "the wizard closes")
            await until(pilot, lambda: "needs an approval" in card(app, "production"), "the card shows it waiting")
            assert "deployment" in toasts(app) and "canary · manual" in toasts(app)
            deployment = r.engine.active("production")
            assert deployment is not None and deployment.versions == {"websocket-server": IMAGE}
            await pilot.press("a")
            await confirm_production(pilot, app)
            for percent in (10, 25, 50, 100):
                await until(pilot, lambda p=percent: f"promote to {p} %" in waiting_for(r), f"waits for {percent} %")
                await pilot.press("p")
                await confirm_production(pilot, app)
                if percent < 100:
                    await until(pilot, lambda p=percent: f"v2.0.0 {p}%" in card(app, "production"),
                                f"the card shows {percent} %")
            await until(pilot, lambda: r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED,
                        "the deployment succeeds")
            await until(pilot, lambda: "succeeded" in card(app, "production"), "the card shows it succeeded")
            assert list(r.served().values()) == [100]


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_snapshot_of_the_wizard_plan_preview(tmp_path: Path, size: tuple[int, int], snap_compare: Any) -> None:
    with rig(tmp_path, start=START) as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep)

        async def to_the_plan(pilot: Pilot) -> None:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            app.action_toggle_refresh()
            await pilot.press("d")
            await until(pilot, lambda: step(app) == "step-environment", "the wizard")
            await pilot.press("enter")
            app.screen.query_one("#version-websocket-server", Input).value = IMAGE
            await pilot.press("enter", "enter")
            await until(pilot, lambda: wizard(app).plan is not None, "the plan preview")
            await until(pilot, lambda: not app.busy, "the console is idle")

        assert snap_compare(app, terminal_size=size, run_before=to_the_plan)


@pytest.mark.parametrize(("component", "version", "problem"), [
    ("websocket-server", "v2.0.0", "not a container image with a tag or digest"),
    ("websocket-server", "example/websocket-server", "not a container image with a tag or digest"),
    ("websocket-server", "Example/ws:v2", "not a container image"),
    ("frontend", "release/2..0", "not a git ref"),
    ("frontend", "main branch", "not a git ref"),
    ("infrastructure", "v1 4", "not a version"),
    ("websocket-server", "  ", "needs a version"),
])
def test_the_wizard_and_the_cli_refuse_the_same_versions(component: str, version: str, problem: str) -> None:
    with pytest.raises(BadInput, match=problem):
        validate_version(component, version)
    with pytest.raises(BadInput, match=problem):  # the CLI's --set parser calls the same check
        deploy_commands._versions((f"{component}={version}",))


def test_valid_versions_pass_as_typed_and_since_reads_durations_and_dates() -> None:
    assert validate_version("websocket-server", f" {IMAGE} ") == IMAGE
    assert validate_version("websocket-server", "example/ws@sha256:" + "a" * 64).endswith("a" * 64)
    assert validate_version("frontend", "release/2.0") == "release/2.0"
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("", now) is None
    with pytest.raises(BadInput, match="neither a duration"):
        parse_since("last week", now)


async def test_a_busy_environment_is_offered_disabled_with_its_reason_before_step_one(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        busy = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})  # waits for its approval
        async with console(r.engine, r) as (app, pilot):
            await until(pilot, lambda: app.snapshots["production"].active is not None, "the deployment on its card")
            await pilot.press("3", "d")  # production is busy: the wizard opens on an environment it can take
            await until(pilot, lambda: step(app) == "step-environment", "the wizard's first step")
            options = app.screen.query_one("#wizard-environments")
            production = options.get_option("production")  # type: ignore[attr-defined]
            assert production.disabled and f"not now: production already has deployment {busy.id}" in str(
                production.prompt), "said before step one, not after step five"
            assert wizard(app).environment == "dev" and options.highlighted == 0
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.main, "the wizard closes")


async def test_with_nowhere_to_deploy_d_says_why_and_opens_no_wizard(tmp_path: Path) -> None:
    data = rig_config().model_dump()
    for name in ("dev", "staging"):  # alice may change production only
        data["environments"][name]["access"] = {"operators": ["bob"], "groups": []}
    with rig(tmp_path, start=START, config=ConsoleConfig.model_validate(data)) as r:
        busy = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})  # waits for its approval
        async with console(r.engine, r) as (app, pilot):
            await until(pilot, lambda: app.snapshots["production"].active is not None, "the deployment on its card")
            await pilot.press("3", "d")
            said = f"Deploy on production: production already has deployment {busy.id}"
            await until(pilot, lambda: said in toasts(app).replace("\n", " "), "the reason, at once")
            await pilot.pause()
            assert not isinstance(app.screen, WizardScreen)
