"""Incidents from the command palette: every incident newest first, one incident's timeline, its postmortem.

Reads only (the registry's "incidents" table, in a worker); resolving and aborting live on the recovery screen,
where the page they close is shown first. Enter shows the incident under the cursor; p shows its postmortem.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Markdown, Static

from console.screens.read_table import ReadTableScreen
from core.errors import OpsError
from core.recovery.incident import IncidentStore, timeline_line
from core.recovery.postmortem import postmortem_markdown
from core.registry import Registry

COLUMNS = ("id", "env", "severity", "status", "failure", "started", "summary")


class IncidentsScreen(ReadTableScreen):
    """Every incident newest first (an empty registry says so)."""

    COLUMNS = COLUMNS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "show", "Show", id="incidents-show"),
        Binding("p", "postmortem", "Postmortem", id="incidents-postmortem"),
        Binding("escape", "app.pop_screen", "Back", id="incidents-back"),
    ]

    def __init__(self, registry: Registry) -> None:
        super().__init__(id="incidents", reading="reading incidents…")
        self.registry = registry

    def fetch(self) -> list[dict[str, Any]]:
        return IncidentStore(self.registry).list()

    def show(self, found: list[dict[str, Any]]) -> None:
        table = self.query_one(DataTable)
        for r in found:
            table.add_row(r["id"], r["environment"], r.get("severity", ""), r.get("status", ""),
                          r.get("failure_type", ""), str(r.get("started_at", ""))[:19], r.get("summary", ""),
                          key=r["id"])
        self.say(f"{len(found)} incidents, newest first · enter: show · p: postmortem" if found else "no incidents")
        table.focus()

    def _chosen(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_show(self) -> None:
        if (chosen := self._chosen()) is not None:
            self.app.push_screen(IncidentScreen(self.registry, chosen))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        """Enter on the table (the table takes the key before the screen's binding)."""
        self.app.push_screen(IncidentScreen(self.registry, str(event.row_key.value)))

    def action_postmortem(self) -> None:
        if (chosen := self._chosen()) is not None:
            self.app.push_screen(IncidentScreen(self.registry, chosen, postmortem=True))


class IncidentScreen(Screen[None]):
    """One incident: its headline and timeline, or (p toggles) its postmortem as Markdown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle", "Timeline/postmortem", id="incident-toggle"),
        Binding("escape", "app.pop_screen", "Back", id="incident-back"),
    ]

    def __init__(self, registry: Registry, incident_id: str, *, postmortem: bool = False) -> None:
        super().__init__(id="incident")
        self.registry = registry
        self.incident_id = incident_id
        self.postmortem = postmortem
        self.record: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"reading {self.incident_id}…", id="incident-head", markup=False)
        with VerticalScroll(id="incident-body"):
            yield Static("", id="incident-timeline", markup=False)
            yield Markdown("", id="incident-postmortem")
        yield Footer()

    def on_mount(self) -> None:
        self.read()

    @work(thread=True, exclusive=True, group="incident")
    def read(self) -> None:
        try:
            record = IncidentStore(self.registry).get(self.incident_id).record
        except OpsError as exc:
            self.app.call_from_thread(self.query_one("#incident-head", Static).update, str(exc))
            return
        self.app.call_from_thread(self._show, record)

    def _show(self, record: dict[str, Any]) -> None:
        self.record = record
        self.query_one("#incident-head", Static).update(
            f"{record['id']} · {record.get('severity')} · {record.get('status')} · {record.get('summary', '')}")
        self.query_one("#incident-timeline", Static).update(
            "\n".join(timeline_line(e) for e in record.get("timeline", [])) or "no timeline entries")
        self.query_one("#incident-postmortem", Markdown).update(postmortem_markdown(record))
        self._display()

    def _display(self) -> None:
        self.query_one("#incident-timeline").display = not self.postmortem
        self.query_one("#incident-postmortem").display = self.postmortem

    def action_toggle(self) -> None:
        self.postmortem = not self.postmortem
        self._display()
