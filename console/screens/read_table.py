"""A screen that reads rows in a worker and shows them in a table under a one-line note: the palette's lists
(incidents, configuration history). A subclass says what to read (`fetch`, off the UI thread) and how to show it
(`show`); a read that fails is its one sentence in the note."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from core.errors import OpsError


class ReadTableScreen(Screen[None]):
    COLUMNS: Sequence[str] = ()

    def __init__(self, *, id: str, reading: str) -> None:
        super().__init__(id=id)
        self.reading = reading  # the note until the rows arrive
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.reading, id=f"{self.id}-note", markup=False)
        yield DataTable(id=f"{self.id}-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in self.COLUMNS:
            table.add_column(column, key=column)
        self.read()

    def fetch(self) -> Any:
        raise NotImplementedError

    def show(self, found: Any) -> None:
        raise NotImplementedError

    @work(thread=True, exclusive=True)
    def read(self) -> None:
        try:
            found = self.fetch()
        except OpsError as exc:
            self.app.call_from_thread(self.say, str(exc))
            return
        self.app.call_from_thread(self.show, found)

    def say(self, text: str) -> None:
        self.query_one(f"#{self.id}-note", Static).update(text)
        self.loaded = True
