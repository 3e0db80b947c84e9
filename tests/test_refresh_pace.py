"""The console's pace: quick while a deployment is in progress, slower when nothing moves, and it says which."""

from __future__ import annotations

from pathlib import Path

from console.app import OpsConsoleApp
from tests.engine_rig import IMAGE, rig
from tests.test_tui_console import SIZE, START, until


def _indicator(app: OpsConsoleApp) -> str:
    return str(app.main.query_one("#refresh-state").render())


async def test_an_idle_console_refreshes_every_5_s_and_a_deployment_brings_back_1_5_s(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "every 5 s" in _indicator(app), "the idle pace is shown")
            r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})  # waits for its approval
            app.request_refresh()
            await until(pilot, lambda: "every 1.5 s" in _indicator(app), "a deployment in progress: the quick pace")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")
