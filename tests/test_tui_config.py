"""The selected environment's configuration from the command palette, driven with Pilot: a value set through the
question and production's typed confirmation lands in the project file and in the "Configuration history" screen
with the operator; a read-only console says why at once and asks nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from console.app import OpsConsoleApp
from console.screens.ask import AskScreen
from console.screens.config_history import ConfigHistoryScreen
from console.screens.confirm import ConfirmScreen
from tests.engine_rig import OPERATOR, rig
from tests.test_tui_console import SIZE, type_text, until


@pytest.fixture
def project_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    file = tmp_path / "opsconsole.toml"
    monkeypatch.setenv("OPSCONSOLE_CONFIG", str(file))  # what `opsconsole --config FILE ui` passes on
    return file


async def test_a_value_set_from_the_palette_is_written_and_listed_with_the_operator(
        tmp_path: Path, project_file: Path) -> None:
    with rig(tmp_path) as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            assert app.selected == "production"
            commands = {c.title: c for c in app.get_system_commands(app.main)}
            commands["Set a configuration value"].callback()
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "the question")
            await type_text(pilot, "health.max_5xx_rate", "enter")  # no value: the dialog stays and says why
            assert isinstance(app.screen, AskScreen)
            assert "write KEY = VALUE" in str(app.screen.query_one("#ask-problem", Static).render())
            app.screen.query_one("#ask-input", Input).value = ""
            await type_text(pilot, "health.max_5xx_rate = 0.02", "enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "production's confirmation")
            assert not project_file.exists(), "nothing is written before production's name is typed"
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: project_file.exists(), "the file written")
            written = tomllib.loads(project_file.read_text())
            assert written["environments"]["production"]["health"]["max_5xx_rate"] == 0.02

            commands["Configuration history"].callback()
            await until(pilot, lambda: isinstance(app.screen, ConfigHistoryScreen) and app.screen.loaded, "history")
            table = app.screen.query_one(DataTable)
            assert table.row_count == 1
            row = [str(cell) for cell in table.get_row_at(0)]
            assert (row[0], row[2], row[3]) == ("1", OPERATOR, "health.max_5xx_rate") and row[4].endswith("→ 0.02")
            await pilot.press("escape")
            await until(pilot, lambda: not app.busy, "the console's threads end")


async def test_a_read_only_console_refuses_at_once_and_writes_nothing(tmp_path: Path, project_file: Path) -> None:
    with rig(tmp_path) as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep, read_only=True)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            {c.title: c for c in app.get_system_commands(app.main)}["Set a configuration value"].callback()
            await pilot.pause()
            assert not isinstance(app.screen, AskScreen)
            assert any("read-only" in n.message for n in app._notifications)
            assert not project_file.exists()
            await until(pilot, lambda: not app.busy, "the console's threads end")
