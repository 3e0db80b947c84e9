"""The deployment detail screen on the sandbox (frozen clock): stages, the judge's windows, checks, log, in place."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from console.app import OpsConsoleApp
from console.screens.detail import DetailScreen
from tests.engine_rig import START, Rig, rig
from tests.test_tui_console import canary_waiting_at_10, console, type_text, until


def rows(app: OpsConsoleApp, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_detail_screen_shows_stages_verdicts_checks_and_log_and_keeps_the_cursor(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.deployment is not None,
                        "the detail screen loads")
            screen = app.screen
            assert isinstance(screen, DetailScreen) and screen.deployment_id == deployment.id
            stages = {row[1]: row for row in rows(app, "#detail-stages")}
            assert stages["deploy websocket-server"][3] == "succeeded"
            assert stages["canary 10 %"][3] == "in progress" and stages["canary 10 %"][4] == "10 %"
            assert stages["canary 25 %"][3] == "pending" and stages["canary 25 %"][5] == "-"
            verdicts = rows(app, "#detail-analysis")
            assert verdicts and all(v[2] == "10 %" for v in verdicts)
            assert verdicts[-1][3:5] == ["pass", "promote_allowed"]
            assert all(v[5] for v in verdicts), "every window has its one-line explanation"
            checks = {row[0]: row[1] for row in rows(app, "#detail-verification")}
            assert checks["health"] == "pass" and checks["websocket"] == "pass"
            assert "promote to 25 % when ready" in str(screen.query_one("#detail-summary").content)
            assert any("request promote by alice" in line for line in screen.log_text)

            table = screen.query_one("#detail-stages", DataTable)
            table.focus()
            table.move_cursor(row=3)
            logged = len(screen.log_text)
            await pilot.press("escape")  # the operator steps on; the detail screen follows in place
            await pilot.press("p")
            await until(pilot, lambda: app.screen is not app.main, "the confirmation")
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: r.rollout(deployment.id).weight == 25, "the weight moves")
            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.deployment is not None,
                        "the detail screen again")
            screen = app.screen
            assert isinstance(screen, DetailScreen)
            table = screen.query_one("#detail-stages", DataTable)
            table.move_cursor(row=3)
            before = len(screen.log_text)
            app.request_refresh()
            await until(pilot, lambda: len(screen.log_text) >= before, "a refresh reaches the screen")
            await until(pilot, lambda: any(row[1] == "canary 25 %" and row[3] in ("in progress", "succeeded")
                                           for row in rows(app, "#detail-stages")), "the stage table updates")
            assert table.cursor_row == 3, "the refresh kept the cursor"
            assert logged > 0
            await pilot.press("escape")
            assert app.screen is app.main


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deployment ids end in random bits; a snapshot needs the same id on every run."""
    monkeypatch.setattr("core.registry.ids.secrets", SimpleNamespace(token_hex=lambda _: "5eed00"))


def steady(r: Rig, deployment_id: str) -> None:
    """What a picture cannot hold still: real round-trip times in check summaries (rewritten to 1.0 ms)."""
    deployment = r.deployment(deployment_id)
    rollout = dict(deployment.metadata["rollout"])  # type: ignore[arg-type]
    report = dict(rollout["verification"])
    report["results"] = [{**c, "summary": re.sub(r"[0-9.]+ ms", "1.0 ms", c["summary"])} for c in report["results"]]
    rollout["verification"] = report
    r.registry.update_deployment(deployment_id, metadata={"rollout": rollout})


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
def test_snapshot_of_the_detail_screen(tmp_path: Path, size: tuple[int, int], fixed_ids: None,
                                       monkeypatch: pytest.MonkeyPatch, snap_compare: Any) -> None:
    with rig(tmp_path, start=START) as r:
        # The registry stamps step events with the machine's clock: put them on the sandbox's frozen one.
        monkeypatch.setattr("core.registry.registry.utc_now", r.engine.ports.now)
        steady(r, canary_waiting_at_10(r).id)
        # Read-only: no driver moves the deployment (or the clock) while the picture is taken.
        app = OpsConsoleApp(r.engine, sleep=r.sleep, read_only=True)

        async def open_detail(pilot: Pilot) -> None:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.deployment is not None,
                        "the detail screen loads")
            app.action_toggle_refresh()  # nothing changes under the picture
            await until(pilot, lambda: not app.busy, "the console is idle")

        assert snap_compare(app, terminal_size=size, run_before=open_detail)
