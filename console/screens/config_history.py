"""The configuration changes of one environment, newest first (the list `opsconsole config history ENV` prints).

Reads only: the project file's history (core.config.changes), in a worker. Setting and reverting are the palette's
"Set a configuration value" and `opsconsole config revert`.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from core.config.changes import ConfigEditor, EnvironmentChange, shown
from core.errors import OpsError

COLUMNS = ("id", "when (UTC)", "who", "key", "before → after", "reason")


class ConfigHistoryScreen(Screen[None]):
    """Every recorded change of `environment`'s configuration (an empty history says so)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back", id="config-history-back")]

    def __init__(self, editor: ConfigEditor, environment: str) -> None:
        super().__init__(id="config-history")
        self.editor = editor
        self.environment = environment
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"reading {self.environment}'s configuration history…", id="config-history-note", markup=False)
        yield DataTable(id="config-history-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.read()

    @work(thread=True, exclusive=True, group="config-history")
    def read(self) -> None:
        try:
            found = self.editor.history(self.environment)
        except OpsError as exc:
            self.app.call_from_thread(self._say, str(exc))
            return
        self.app.call_from_thread(self._show, found)

    def _say(self, text: str) -> None:
        self.query_one("#config-history-note", Static).update(text)
        self.loaded = True

    def _show(self, changes: list[EnvironmentChange]) -> None:
        table = self.query_one(DataTable)
        for recorded in changes:
            c = recorded.change
            for f in recorded.fields:
                table.add_row(str(c.id), f"{c.at:%Y-%m-%d %H:%M:%S}", c.actor, f.path,
                              f"{shown(f.old)} → {shown(f.new)}", c.reason)
        self._say(f"{self.environment}: {len(changes)} configuration change(s), newest first, from "
                  f"{self.editor.history_file}" if changes else f"no configuration change recorded for "
                  f"{self.environment} in {self.editor.history_file}")
