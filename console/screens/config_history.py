"""The configuration changes of one environment, newest first (the list `opsconsole config history ENV` prints).

Reads only: the project file's history (core.config.changes), in a worker. Setting and reverting are the palette's
"Set a configuration value" and `opsconsole config revert`.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from console.screens.read_table import ReadTableScreen
from core.config.changes import ConfigEditor, EnvironmentChange, shown

COLUMNS = ("id", "when (UTC)", "who", "key", "before → after", "reason")


class ConfigHistoryScreen(ReadTableScreen):
    """Every recorded change of `environment`'s configuration (an empty history says so)."""

    COLUMNS = COLUMNS

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back", id="config-history-back")]

    def __init__(self, editor: ConfigEditor, environment: str) -> None:
        super().__init__(id="config-history", reading=f"reading {environment}'s configuration history…")
        self.editor = editor
        self.environment = environment

    def fetch(self) -> list[EnvironmentChange]:
        return self.editor.history(self.environment)

    def show(self, changes: list[EnvironmentChange]) -> None:
        table = self.query_one(DataTable)
        for recorded in changes:
            c = recorded.change
            for f in recorded.fields:
                table.add_row(str(c.id), f"{c.at:%Y-%m-%d %H:%M:%S}", c.actor, f.path,
                              f"{shown(f.old)} → {shown(f.new)}", c.reason)
        self.say(f"{self.environment}: {len(changes)} configuration change(s), newest first, from "
                  f"{self.editor.history_file}" if changes else f"no configuration change recorded for "
                  f"{self.environment} in {self.editor.history_file}")
