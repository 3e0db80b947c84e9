"""The history screen over the registry (sandbox, frozen clock): pages, narrowing filters, enter opens a deployment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.widgets import DataTable, Input, Select

from console.app import OpsConsoleApp
from console.screens.detail import DetailScreen
from console.screens.history import PAGE, HistoryScreen
from tests.engine_rig import START, Rig, rig
from tests.test_tui_console import console, type_text, until

ENVIRONMENTS = ("dev", "staging", "production")
STATUSES = ("succeeded", "rolled_back", "failed")


def seed(r: Rig, count: int) -> None:
    """`count` finished deployments, one every 10 minutes up to an hour ago, newest last."""
    newest = r.engine.ports.now() - timedelta(hours=1)
    r.registry.import_history([
        {"environment": ENVIRONMENTS[n % 3], "status": STATUSES[n % 3 if n % 7 else 0], "strategy": "blue-green",
         "actor": "bob", "versions": {"websocket-server": f"example/ws:v1.{n}.0"},
         "started_at": newest - timedelta(minutes=10 * (count - n)),
         "ended_at": newest - timedelta(minutes=10 * (count - n) - 4)}
        for n in range(count)])


def ids(app: OpsConsoleApp) -> list[str]:
    table = app.screen.query_one("#history-table", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def column(app: OpsConsoleApp, index: int) -> list[str]:
    table = app.screen.query_one("#history-table", DataTable)
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


async def test_history_pages_filters_and_opens_a_deployment(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        seed(r, 240)
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("h")
            await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and len(ids(app)) == PAGE,
                        "the first page")
            newest = [d.id for d in r.registry.list_deployments(limit=2 * PAGE)]
            assert ids(app) == newest[:PAGE]
            assert "ctrl+n shows 100 more" in str(app.screen.query_one("#history-status").content)
            await pilot.press("ctrl+n")
            await until(pilot, lambda: len(ids(app)) == 2 * PAGE, "the second page")
            assert ids(app) == newest

            app.screen.query_one("#filter-environment", Select).value = "staging"
            await until(pilot, lambda: set(column(app, 1)) == {"staging"}, "only staging")
            assert len(ids(app)) == 80 and "(all that match)" in str(app.screen.query_one("#history-status").content)
            app.screen.query_one("#filter-status", Select).value = "rolled_back"
            await until(pilot, lambda: set(column(app, 2)) == {"rolled_back"}, "only rolled back staging")
            narrowed = len(ids(app))
            assert 0 < narrowed < 80
            app.screen.query_one("#filter-text", Input).focus()
            await type_text(pilot, "v1.22")
            await until(pilot, lambda: len(ids(app)) < narrowed, "the version narrows it")
            assert all("v1.22" in versions for versions in column(app, 4))

            app.screen.query_one("#filter-environment", Select).clear()
            app.screen.query_one("#filter-status", Select).clear()
            app.screen.query_one("#filter-text", Input).value = ""
            recent = r.registry.list_deployments(since=r.engine.ports.now() - timedelta(hours=3))
            assert 0 < len(recent) < 20
            app.screen.query_one("#filter-since", Input).value = "3h"
            await until(pilot, lambda: ids(app) == [d.id for d in recent], "only the last three hours")
            app.screen.query_one("#filter-since", Input).value = "yesterday"
            await until(pilot, lambda: "since 'yesterday' is neither a duration" in
                        str(app.screen.query_one("#history-status").content), "the bad date is named")

            app.screen.query_one("#filter-since", Input).value = ""
            await until(pilot, lambda: len(ids(app)) == PAGE, "every deployment again")
            table = app.screen.query_one("#history-table", DataTable)
            table.focus()
            table.move_cursor(row=0)
            await pilot.press("down", "down", "enter")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.deployment is not None,
                        "the deployment's detail")
            assert app.screen.deployment_id == newest[2]
            await pilot.press("escape")
            assert isinstance(app.screen, HistoryScreen)
            await pilot.press("escape")
            assert app.screen is app.main
