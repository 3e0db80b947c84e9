"""The reports screen: DORA tiles, a weekly trend chart, rollback causes and the timeline of a range and environment.

The numbers come from core.reports.generate_report (the same as `opsconsole report`), computed in a worker
thread; the screen only renders them. Tables are updated in place, so a refresh keeps the cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Select, Static
from textual_plotext import PlotextPlot

from console.screens.tables import Row, sync_rows
from core.errors import OpsError
from core.registry import Registry
from core.reports import DeploymentReport, fmt, generate_report

RANGES = (("last 7 days", 7), ("last 30 days", 30), ("last 90 days", 90), ("last 365 days", 365))
DEFAULT_DAYS = 90
TIER_STYLES = {"elite": "bold magenta", "high": "bold green", "medium": "bold yellow", "low": "bold red",
               "no data": "dim"}
TIMELINE_ROWS = 100
# Fixed widths: the figures arrive after the first paint, and auto-sized columns keep their first, empty widths.
CAUSE_COLUMNS = (("cause", 44), ("count", 5), ("share", 7))  # the newest id per cause: opsconsole report
TIMELINE_COLUMNS = (("started", 16), ("kind", 10), ("env", 10), ("id", 28), ("what", 80))


class TrendChart(PlotextPlot):
    """Deployments per ISO week: succeeded, rolled back and failed as stacked bars."""

    def show(self, report: DeploymentReport) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        weeks = report.weekly[-26:]  # half a year of bars fits a terminal; the HTML report has them all
        if not weeks:
            plt.title("no deployments in this range")
        else:
            labels = [w.week[2:] for w in weeks]  # "26-W05"
            plt.stacked_bar(labels, [[w.succeeded for w in weeks], [w.rolled_back for w in weeks],
                                     [w.failed for w in weeks]],
                            labels=["succeeded", "rolled back", "failed"], color=["green", "orange", "red"])
            plt.title("deployments per ISO week")
        self.refresh()


def tile_text(title: str, value: str, detail: str, tier: str) -> Text:
    text = Text(f"{title}\n", style="dim")
    text.append(f"{value}\n", style="bold")
    text.append(tier, style=TIER_STYLES.get(tier, ""))
    text.append(f"\n{detail}", style="dim")
    return text


def cause_rows(report: DeploymentReport) -> list[Row]:
    return [(c.cause, [c.cause, str(c.count), fmt.percent(c.share)]) for c in report.rollback_causes]


def timeline_rows(report: DeploymentReport) -> list[Row]:
    return [(f"{e.kind}:{e.id}", [f"{e.at:%Y-%m-%d %H:%M}", Text(e.kind, style="red" if e.kind == "incident" else ""),
                                   e.environment, e.id, e.summary]) for e in report.timeline[:TIMELINE_ROWS]]


class ReportsScreen(Screen[None]):
    """Open with `app.push_screen(ReportsScreen(engine.registry, environments, engine.ports.now))`."""

    CSS_PATH = "reports.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="reports-back"),
        Binding("r", "refresh_report", "Refresh", id="reports-refresh"),
    ]

    @dataclass
    class Computed(Message):
        environment: str | None
        days: int
        report: DeploymentReport | None
        problem: str | None = None

    def __init__(self, registry: Registry, environments: Sequence[str], now: Callable[[], datetime], *,
                 read_only: bool = False) -> None:
        super().__init__(id="reports")
        self.read_only = read_only  # reads the report cache, never writes one
        self.registry = registry
        self.environments = list(environments)
        self.now = now
        self.environment: str | None = None
        self.days = DEFAULT_DAYS
        self.report: DeploymentReport | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="reports-filters"):
            yield Select([(e, e) for e in self.environments], prompt="all environments", id="reports-environment")
            yield Select([(label, days) for label, days in RANGES], value=DEFAULT_DAYS, allow_blank=False,
                         id="reports-range")
        with Horizontal(id="reports-tiles"):
            for key in ("frequency", "lead-time", "failure-rate", "restore"):
                yield Static("", id=f"tile-{key}", classes="tile")
        with Horizontal(id="reports-middle"):
            yield TrendChart(id="reports-trend")
            with Vertical(id="reports-side"):
                yield Static("", id="reports-outcomes", markup=False)
                causes: DataTable[Any] = DataTable(id="reports-causes", cursor_type="row")
                for column, width in CAUSE_COLUMNS:
                    causes.add_column(column, key=column, width=width)
                yield causes
        timeline: DataTable[Any] = DataTable(id="reports-timeline", cursor_type="row", zebra_stripes=True)
        for column, width in TIMELINE_COLUMNS:
            timeline.add_column(column, key=column, width=width)
        yield timeline
        yield Static("computing…", id="reports-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Reports"
        self.action_refresh_report()

    @on(Select.Changed)
    def _filters_changed(self) -> None:
        environment = self.query_one("#reports-environment", Select).value
        days = self.query_one("#reports-range", Select).value
        self.environment = environment if isinstance(environment, str) else None
        self.days = days if isinstance(days, int) else DEFAULT_DAYS
        self.action_refresh_report()

    def action_refresh_report(self) -> None:
        self.query_one("#reports-status", Static).update("computing…")
        self._compute(self.environment, self.days)

    @work(thread=True, exclusive=True, group="reports-compute")
    def _compute(self, environment: str | None, days: int) -> None:
        end = self.now()
        try:
            report = generate_report(self.registry, end - timedelta(days=days), end, environment,
                                     read_only=self.read_only)
        except OpsError as problem:
            self.post_message(self.Computed(environment, days, None, str(problem)))
            return
        self.post_message(self.Computed(environment, days, report))

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        if (message.environment, message.days) != (self.environment, self.days):
            return  # an answer to filters that have changed since
        status = self.query_one("#reports-status", Static)
        if message.report is None:
            status.update(message.problem or "the report could not be computed")
            return
        self.report = report = message.report
        for key, (title, value, detail, tier) in zip(("frequency", "lead-time", "failure-rate", "restore"),
                                                     fmt.dora_tiles(report), strict=True):
            tile = self.query_one(f"#tile-{key}", Static)
            tile.update(tile_text(title, value, detail, tier))
            tile.set_classes(f"tile tier-{tier.replace(' ', '-')}")
        outcomes = ", ".join(f"{name} {count}" + (f" ({rate})" if rate else "")
                             for name, count, rate in fmt.outcome_rows(report))
        self.query_one("#reports-outcomes", Static).update(f"{report.outcomes.total} deployments: {outcomes}")
        self.query_one("#reports-trend", TrendChart).show(report)
        sync_rows(self.query_one("#reports-causes", DataTable), cause_rows(report))
        sync_rows(self.query_one("#reports-timeline", DataTable), timeline_rows(report))
        count = len(report.warnings)
        notes = f" · {count} note{'s' if count > 1 else ''} (opsconsole report shows them)" if count else ""
        status.update(f"{report.scope}, {fmt.period(report)} · r refreshes · esc goes back{notes}")

    def action_close(self) -> None:
        self.dismiss(None)
