"""The console opens the recovery, infrastructure and reports screens from its keys, wired by the composition root."""

from __future__ import annotations

from pathlib import Path

from console.app import OpsConsoleApp
from console.screens.infra import InfraScreen
from console.screens.recovery import RecoveryScreen
from console.screens.reports import ReportsScreen
from tests.engine_rig import rig
from tests.test_tui_console import SIZE, toasts, until


async def test_x_opens_recovery_i_opens_infrastructure_and_o_opens_reports(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="instances-zero") as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep, recovery_ports=r.wiring.recovery_ports)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            await pilot.press("ctrl+r")  # hold the refresh: the screens below do their own reads
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, RecoveryScreen), "the recovery screen")
            recovery = app.screen
            assert isinstance(recovery, RecoveryScreen)
            assert recovery.context.environment == "production" and not recovery.context.dry_run
            await until(pilot, lambda: recovery.assessment is not None and not recovery.busy, "evidence")
            assert recovery.context.incident is None, "nothing is opened before the operator asks"
            await pilot.press("escape")
            await pilot.press("I")
            await until(pilot, lambda: isinstance(app.screen, InfraScreen), "the infrastructure screen")
            assert app.screen.environment == "production"
            await until(pilot, lambda: not app.screen.busy, "the plan")
            await pilot.press("escape")
            await pilot.press("o")
            await until(pilot, lambda: isinstance(app.screen, ReportsScreen), "the reports screen")
            await pilot.press("escape")
            await until(pilot, lambda: not app.busy, "the console's threads end")


async def test_a_read_only_console_walks_recovery_as_a_dry_run_and_refuses_infrastructure(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="instances-zero") as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep, read_only=True, recovery_ports=r.wiring.recovery_ports)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            await pilot.press("ctrl+r")
            await pilot.press("I")
            await until(pilot, lambda: "read-only" in toasts(app), "the refusal")
            assert not isinstance(app.screen, InfraScreen)
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, RecoveryScreen), "the recovery screen")
            recovery = app.screen
            assert isinstance(recovery, RecoveryScreen) and recovery.context.dry_run
            await until(pilot, lambda: recovery.context.incident is not None and not recovery.busy, "the evidence")
            assert "instances" in str(recovery.query_one("#recovery-evidence").render())
            await pilot.press("escape")
            await until(pilot, lambda: not app.busy, "the console's threads end")


async def test_without_recovery_providers_the_key_says_why_instead_of_opening(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            await pilot.press("ctrl+r")
            await pilot.press("x")
            await until(pilot, lambda: "open it with opsconsole ui" in toasts(app), "the reason")
            assert not isinstance(app.screen, RecoveryScreen)
            await until(pilot, lambda: not app.busy, "the console's threads end")
