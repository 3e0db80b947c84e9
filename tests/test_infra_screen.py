"""The infrastructure screen driven with Pilot on the Terraform stand-in: the plan for review with destructive
changes set apart, apply with a, and production's typed confirmation before anything is applied."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from console.screens.confirm import ConfirmScreen
from console.screens.infra import InfraScreen
from core.config import ConsoleConfig, default_config
from core.infra import InfrastructureService, entry_id, last_good, make_runner
from core.registry import DeploymentRegistry
from sandbox.terraform_command import standin_command

INFRA = Path(__file__).resolve().parents[1] / "infrastructure"
SIZE = (120, 36)


class InfraApp(App[None]):
    """A bare app that opens the screen (the console's app opens it with the engine and the selected environment)."""

    def __init__(self, screen: InfraScreen) -> None:
        super().__init__()
        self.infra = screen

    def on_mount(self) -> None:
        self.push_screen(self.infra)


async def until(pilot: Pilot, condition: Callable[[], bool], what: str) -> None:
    for _ in range(1200):
        if condition():
            return
        await pilot.pause(0.025)
    raise AssertionError(f"never happened: {what}")


def team_config() -> ConsoleConfig:
    """The built-in configuration with alice on the operations team: the access gate lets her apply production."""
    data = default_config().model_dump()
    data["teams"] = {"operations": ["alice"]}
    return ConsoleConfig.model_validate(data)


def service(tmp_path: Path, config: ConsoleConfig | None = None) -> InfrastructureService:
    tree = tmp_path / "infrastructure"
    if not tree.exists():
        shutil.copytree(INFRA, tree)
    runner = make_runner("sandbox", {"PATH": "/usr/bin:/bin"}, tmp_path / "work", tree,
                         standin=standin_command)
    return InfrastructureService(config or team_config(), DeploymentRegistry(tmp_path / "registry.json"), runner,
                                 actor="alice", now=lambda: datetime(2026, 11, 26, 9, 0, tzinfo=UTC))


def text(screen: InfraScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def planned(pilot: Pilot, screen: InfraScreen) -> None:
    await until(pilot, lambda: screen.plan is not None and not screen.busy, "the plan is shown")


async def test_staging_plan_is_reviewed_and_applied_with_a(tmp_path: Path) -> None:
    infra = service(tmp_path)
    screen = InfraScreen(None, "staging", infra)
    async with InfraApp(screen).run_test(size=SIZE) as pilot:
        await planned(pilot, screen)
        assert screen.query_one("#infra-changes", DataTable).row_count == 27
        assert "27 to create" in text(screen, "#infra-summary")
        assert "none yet" in text(screen, "#infra-good")
        await pilot.press("a")
        await until(pilot, lambda: "applied: state serial 1" in text(screen, "#infra-status"), "the apply")
        assert "serial 1 · no commit with local changes · by alice" in text(screen, "#infra-good")
    good = last_good(infra.registry, "staging")
    assert good is not None and good["state_serial"] == 1


async def test_production_shows_a_replace_in_red_and_applies_only_after_its_name_is_typed(tmp_path: Path) -> None:
    service(tmp_path).update_infrastructure("production")  # what runs today
    data = team_config().model_dump()
    data["environments"]["production"]["infrastructure"]["region"] = "europe-west1"  # force-new: a replace
    moved = service(tmp_path, ConsoleConfig.model_validate(data))
    screen = InfraScreen(None, "production", moved)
    async with InfraApp(screen).run_test(size=SIZE) as pilot:
        await planned(pilot, screen)
        summary = screen.query_one("#infra-summary", Static)
        assert "(destructive)" in text(screen, "#infra-summary") and summary.has_class("destructive")
        table = screen.query_one("#infra-changes", DataTable)
        row = table.get_row("module.websocket_server.google_cloud_run_v2_service.websocket")
        assert row[0].plain == "-/+ replace (destructive)" and "red" in str(row[0].style)

        await pilot.press("a")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the typed confirmation")
        pilot.app.screen.query_one(Input).value = "prod"
        await pilot.press("enter")
        await until(pilot, lambda: "did not match" in text(screen, "#infra-status"), "the refusal")
        assert last_good(moved.registry, "production")["state_serial"] == 1

        await pilot.press("a")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the typed confirmation")
        pilot.app.screen.query_one(Input).value = "production"
        await pilot.press("enter")
        await until(pilot, lambda: "applied: state serial 2" in text(screen, "#infra-status"), "the apply")
    assert last_good(moved.registry, "production")["variables"]["region"] == "europe-west1"


async def test_r_restores_the_highlighted_known_good_apply(tmp_path: Path) -> None:
    """The screen lists the known-good applies and restores the one highlighted, through core's restore."""
    infra = service(tmp_path)
    infra.update_infrastructure("staging")
    first = entry_id(last_good(infra.registry, "staging") or {})
    data = team_config().model_dump()
    data["environments"]["staging"]["infrastructure"]["max_instances"] = 30
    later = InfrastructureService(ConsoleConfig.model_validate(data), infra.registry, infra.runner, actor="alice",
                                  now=infra.now)
    later.update_infrastructure("staging")
    screen = InfraScreen(None, "staging", infra)
    async with InfraApp(screen).run_test(size=SIZE) as pilot:
        await planned(pilot, screen)
        known = screen.query_one("#infra-known", DataTable)
        assert known.row_count == 2
        known.focus()
        await pilot.press("down")  # the older apply: the first one
        await pilot.press("r")
        await until(pilot, lambda: f"restored known-good apply {first}" in text(screen, "#infra-status"),
                    "the restore")
        assert "changed: max_instances 30 → 10" in text(screen, "#infra-status")
        assert known.row_count == 3
    assert (last_good(infra.registry, "staging") or {})["restored_from"] == first
