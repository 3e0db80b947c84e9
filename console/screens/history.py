"""Every deployment in the registry, newest first, filtered by environment, status, component/version and age.

The registry can hold 100 000 deployments: rows are read lazily (iter_deployments) one page at a time
in a worker, and more are read only when asked for. A refresh reads the same page again and updates
the table in place. Enter opens the deployment's detail screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static
from textual.worker import Worker, get_current_worker

from console.screens.detail import STATUS_STYLES, DetailScreen
from console.screens.tables import Row, sync_rows
from core.engine.choices import parse_since
from core.errors import OpsError
from core.registry import Deployment, DeploymentStatus, Registry

PAGE = 100
COLUMNS = ("id", "env", "status", "strategy", "versions", "by", "started", "took")


@dataclass(frozen=True)
class Filters:
    environment: str | None = None
    status: str | None = None
    text: str = ""
    since: str = ""


def matching(registry: Registry, filters: Filters, now: datetime,
             cancelled: Callable[[], bool] = lambda: False) -> Iterator[Deployment]:
    """Deployments newest first under the filters; the text matches a component name or a version.

    A text that matches little reads the whole registry (seconds at 100 000): `cancelled` is asked
    at every deployment read, so a newer filter stops an older scan at once.
    """
    found = registry.iter_deployments(environment=filters.environment, status=filters.status,
                                      since=parse_since(filters.since, now))
    needle = filters.text.strip().lower()
    for deployment in found:
        if cancelled():
            return
        if not needle or any(needle in c.lower() or needle in v.lower() for c, v in deployment.versions.items()):
            yield deployment


def _versions(deployment: Deployment) -> str:
    return ", ".join(f"{c} {v.rsplit('/', 1)[-1]}" for c, v in deployment.versions.items())


def history_row(deployment: Deployment) -> Row:
    took = "-"
    if deployment.ended_at is not None:
        seconds = int((deployment.ended_at - deployment.started_at).total_seconds())
        took = f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
    return (deployment.id, [deployment.id, deployment.environment,
                            Text(str(deployment.status), style=STATUS_STYLES.get(str(deployment.status), "")),
                            deployment.strategy, _versions(deployment), deployment.actor,
                            f"{deployment.started_at:%Y-%m-%d %H:%M}", took])


class HistoryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="history-back"),
        Binding("ctrl+n", "more", f"{PAGE} more", id="history-more"),
    ]

    @dataclass
    class Loaded(Message):
        filters: Filters
        rows: list[Row]
        more: bool
        problem: str | None = None

    def __init__(self, registry: Registry, environments: Sequence[str], now: Callable[[], datetime]) -> None:
        super().__init__(id="history")
        self.registry = registry
        self.environments = list(environments)
        self.now = now
        self.filters = Filters()
        self.limit = PAGE
        self.shown = 0
        self._loading: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="history-filters"):
            yield Select([(e, e) for e in self.environments], prompt="any environment", id="filter-environment")
            yield Select([(s.value, s.value) for s in DeploymentStatus], prompt="any status", id="filter-status")
            yield Input(placeholder="component or version", id="filter-text")
            yield Input(placeholder="since: 24h, 7d, 2026-11-01", id="filter-since")
        table: DataTable[Any] = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        for column in COLUMNS:
            table.add_column(column, key=column)
        yield table
        yield Static("", id="history-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "History"
        self.query_one("#history-table").focus()
        self._read()

    # -- loading ---------------------------------------------------------------------------------------

    def reload(self) -> None:
        """The app's refresh: read the same page again, unless a read is still under way (a long text scan)."""
        if self._loading is None or self._loading.is_finished:
            self._read()

    def _read(self) -> None:
        """Read now, replacing a read of older filters."""
        if not self.shown:
            self.query_one("#history-status", Static).update("reading the registry…")
        self._loading = self._load(self.filters, self.limit)

    @work(thread=True, exclusive=True, group="history-load")
    def _load(self, filters: Filters, limit: int) -> None:
        worker = get_current_worker()
        try:
            found = matching(self.registry, filters, self.now(), lambda: worker.is_cancelled)
            rows = [history_row(deployment) for deployment in islice(found, limit + 1)]
            if worker.is_cancelled:  # a newer filter replaced this one
                return
        except OpsError as problem:
            self.post_message(self.Loaded(filters, [], False, str(problem)))
            return
        self.post_message(self.Loaded(filters, rows[:limit], len(rows) > limit))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        status = self.query_one("#history-status", Static)
        if message.filters != self.filters:
            return  # an answer to filters since changed
        if message.problem is not None:
            status.update(message.problem)
            return
        sync_rows(self.query_one("#history-table", DataTable), message.rows)
        self.shown = len(message.rows)
        more = f" · ctrl+n shows {PAGE} more" if message.more else " (all that match)"
        status.update(f"{self.shown} deployments{more} · enter opens one · esc goes back")

    # -- filters -----------------------------------------------------------------------------------------

    @on(Select.Changed)
    @on(Input.Changed)
    def _filter_changed(self) -> None:
        environment = self.query_one("#filter-environment", Select).value
        status = self.query_one("#filter-status", Select).value
        self.filters = Filters(environment=environment if isinstance(environment, str) else None,
                               status=status if isinstance(status, str) else None,
                               text=self.query_one("#filter-text", Input).value,
                               since=self.query_one("#filter-since", Input).value)
        self.limit = PAGE
        self._read()

    def action_more(self) -> None:
        self.limit += PAGE
        self._read()

    @on(DataTable.RowSelected, "#history-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(DetailScreen(self.registry, event.row_key.value, self.now))

    def action_close(self) -> None:
        self.dismiss(None)
