"""The canary judge's view of the selected environment: its verdict, and canary against stable over the last windows.

The verdict and its one-line explanation come from the rollout status (`Rollout.verdicts`: exactly what
the judge decided on); the trends come from the metrics the refresh worker read (`MetricSeries`). The
panel fits itself to the room it gets: a 2×2 grid of charts when tall, a row of four when wide and
short, the two judged metrics (5xx, p99) as charts beside sparklines of the others when narrower
(120×36), one sparkline line per metric when small (80×24).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from core.model.log_text import ending_headline, revision_roles, split_words, status_words
from widgets.metric_chart import LIMIT_STYLE, STYLES, MetricChart
from widgets.metric_series import METRICS, Metric, MetricSeries, format_value
from widgets.views import EnvironmentView, short_id

OUTCOME_MARKS = {"pass": ("✓", "green"), "fail": ("✗", "bold red"), "inconclusive": ("~", "yellow"),
                 "no_data": ("·", "yellow")}
CHART_MIN_ROWS = 5  # a border and three rows of plot: less is not worth reading
GRID_MIN_WIDTH = 56
ROW_MIN_WIDTH = 100


def layout_for(width: int, height: int, text_rows: int = 2) -> str:
    """'grid', 'row', 'pair' or 'sparks' for a panel whose content area is width × height, of which the verdict's
    wrapped lines take `text_rows`."""
    if height >= text_rows + 2 * CHART_MIN_ROWS and width >= GRID_MIN_WIDTH:
        return "grid"
    if height >= text_rows + CHART_MIN_ROWS and width >= ROW_MIN_WIDTH:
        return "row"
    if height >= text_rows + CHART_MIN_ROWS + 2 and width >= GRID_MIN_WIDTH:
        return "pair"
    return "sparks"


def rows_of(text: Text, width: int) -> int:
    """How many lines `text` takes wrapped at `width` (at least one)."""
    return max(1, sum(-(-max(1, len(line)) // max(1, width)) for line in text.plain.split("\n")))


def _update(static: Static, text: Text) -> None:
    if static.content != text:  # most refreshes bring the same text: an idle console should stay idle
        static.update(text)


def figures(series: MetricSeries, metric: Metric) -> Text:
    """'canary 0.21 %  stable 0.18 %  limit 1.00 %' for one metric's newest windows."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if series.canary is not None:
        canary = series.latest(metric, "canary")
        limit = series.limit(metric)
        over = canary is not None and limit is not None and canary > limit
        text.append("canary ", style="dim")
        text.append(format_value(metric, canary), style="bold red" if over else "bold")
        text.append("  ")
    text.append("stable ", style="dim")
    text.append(format_value(metric, series.latest(metric, "stable")))
    limit = series.limit(metric)
    if limit is not None:
        text.append("  limit ", style="dim")
        text.append(format_value(metric, limit))
    return text


def legend(series: MetricSeries) -> Content:
    """Which line is which, over how many windows; or why the metrics could not be read."""
    if series.error:
        return Content.styled(f"metrics: {series.error}", "bold red")
    parts: list[Content | tuple[str, str] | str] = []
    if series.canary is not None:
        parts += [("━ canary ", STYLES["canary"]), ("━ stable ", STYLES["stable"])]
    else:
        parts.append(("━ serving revision ", STYLES["stable"]))
    parts += [("─ limit ", LIMIT_STYLE), f"· {len(series.ends)} × {series.window_s} s windows"]
    return Content.assemble(*parts)


class CanaryPanel(Vertical):
    """Shows the active deployment's judgement (or the last one's) and the environment's canary/stable metrics."""

    DEFAULT_CSS = """
    CanaryPanel { border: round $foreground 30%; border-title-style: bold; padding: 0 1; height: 100%; }
    CanaryPanel { overflow-y: auto; }
    CanaryPanel Static { width: 100%; text-wrap: nowrap; text-overflow: ellipsis; }
    CanaryPanel .canary-head, CanaryPanel .canary-explanation { text-wrap: wrap; height: auto; }
    CanaryPanel #canary-charts { grid-size: 2 2; grid-gutter: 0 1; height: 1fr; display: none; }
    CanaryPanel.-row #canary-charts { grid-size: 4 1; }
    CanaryPanel.-pair #canary-charts { grid-size: 2 1; }
    CanaryPanel.-grid #canary-charts, CanaryPanel.-row #canary-charts, CanaryPanel.-pair #canary-charts {
        display: block;
    }
    CanaryPanel.-pair #chart-p50, CanaryPanel.-pair #chart-rps { display: none; }
    CanaryPanel #canary-sparks { height: auto; }
    CanaryPanel.-grid #canary-sparks, CanaryPanel.-row #canary-sparks { display: none; }
    CanaryPanel.-pair #spark-row-5xx, CanaryPanel.-pair #spark-row-p99, CanaryPanel.-pair .canary-history {
        display: none;
    }
    CanaryPanel #canary-sparks Horizontal { height: 1; }
    CanaryPanel .metric-name { width: 5; color: $foreground 70%; }
    CanaryPanel #canary-sparks Sparkline { width: 16; margin-right: 1; }
    CanaryPanel .metric-figures { width: 1fr; }
    """

    LAYOUTS: ClassVar[tuple[str, ...]] = ("grid", "row", "pair", "sparks")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._borders: dict[str, Content | str] = {}
        self.wording: Callable[[str], str] = str  # the console's words for the engine's (its CLI hints as keys)

    def compose(self) -> ComposeResult:
        yield Static("", classes="canary-head", markup=False)
        yield Static("", classes="canary-explanation", markup=False)
        with Grid(id="canary-charts"):
            for metric in METRICS:
                yield MetricChart(metric, id=f"chart-{metric}")
        with Vertical(id="canary-sparks"):
            for metric in METRICS:
                with Horizontal(id=f"spark-row-{metric}"):
                    yield Static(metric, classes="metric-name", markup=False)
                    yield Sparkline([], id=f"spark-{metric}")
                    yield Static("", id=f"figures-{metric}", classes="metric-figures", markup=False)
            yield Static("", classes="canary-history", markup=False)

    def _border(self, which: str, value: Content | str) -> None:
        """Set the border title or subtitle only when it changed (each set repaints the panel)."""
        if self._borders.get(which) != value:
            self._borders[which] = value
            setattr(self, f"border_{which}", value)

    def on_mount(self) -> None:
        self._border("title", "Canary judge")
        self.add_class("-sparks")

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        """Choose the charts' layout for the room left under the verdict's wrapped lines."""
        width, height = self.content_size.width, self.content_size.height
        if not width:
            return
        text_rows = sum(rows_of(Text(str(s.content)), width) for s in self.query(".canary-head, .canary-explanation"))
        chosen = layout_for(width, height, text_rows)
        for name in self.LAYOUTS:
            self.set_class(name == chosen, f"-{name}")

    @property
    def layout_name(self) -> str:
        return next((name for name in self.LAYOUTS if self.has_class(f"-{name}")), "sparks")

    @property
    def text(self) -> str:
        """What the panel says in words (chart titles included), as an operator reads it."""
        lines = [str(s.content) for s in self.query(Static)]
        lines += [f"{chart.border_title} {Content.from_markup(chart.border_subtitle or '').plain}"
                  for chart in self.query(MetricChart)]
        return "\n".join(lines)

    def show(self, view: EnvironmentView) -> None:
        """Update in place from one refresh of the selected environment."""
        self._show_verdict(view)
        series = view.metrics
        if series is None:
            return
        for metric in METRICS:
            self.query_one(f"#chart-{metric}", MetricChart).show(series)
            spark = self.query_one(f"#spark-{metric}", Sparkline)
            side = "canary" if series.canary is not None else "stable"
            values = [v for v in series.values(metric, side) if v is not None]
            if list(spark.data or []) != values:
                spark.data = values
            _update(self.query_one(f"#figures-{metric}", Static), figures(series, metric))
        self._border("subtitle", legend(series))

    def _show_verdict(self, view: EnvironmentView) -> None:
        """The headline (deployment, weight, split, the judge's action or how the deployment ended), then the
        judge's explanation; both wrap, so a verdict is never cut."""
        deployment, rollout = view.deployment, view.rollout
        verdicts = rollout.verdicts if rollout is not None else []
        self._border("title", f"Canary judge · {view.name}")
        head = Text()
        ended = ending_headline(deployment) if deployment is not None and view.active is None else None
        if deployment is None or rollout is None:
            head.append(f"no deployment of {view.name} has been judged", style="dim")
        else:
            head.append("running " if view.active is not None else "last ", style="dim")
            head.append(f"{short_id(deployment.id)} ", style="bold")
            head.append(f"{rollout.plan.strategy} {rollout.mode} · ")
            if ended is None:
                head.append(f"weight {rollout.weight} %", style="bold")
                roles = revision_roles(rollout.new_revision, rollout.stable_revision)
                head.append(f" ({split_words(rollout.split(rollout.weight), roles)}) · ")
            if ended is not None:
                head.append(ended, style="bold green" if ended == "PROMOTED" else "bold red")
            elif verdicts:
                action = status_words(verdicts[-1].get("action", "")).upper()
                head.append(action, style="bold red" if action == "ROLLBACK" else "bold")
            else:
                head.append("no window judged yet", style="dim")
        _update(self.query_one(".canary-head", Static), head)
        explanation = str(verdicts[-1].get("decision") or verdicts[-1].get("explanation", "")) if verdicts else ""
        if rollout is not None and rollout.settling_note:  # not stuck: the next window waits for Monitoring's data
            explanation = rollout.settling_note + (f" · last: {explanation}" if explanation else "")
        _update(self.query_one(".canary-explanation", Static),
                Text(explanation or (self.wording(rollout.waiting_for) if rollout is not None else ""),
                     style="italic"))
        self._fit()
        history = Text("verdicts ", style="dim", no_wrap=True, overflow="ellipsis")
        for verdict in verdicts[-20:]:
            mark, style = OUTCOME_MARKS.get(str(verdict.get("outcome")), ("?", ""))
            history.append(f"{mark}{verdict.get('weight', '?')}% ", style=style)
        if not verdicts:
            history.append("none")
        _update(self.query_one(".canary-history", Static), history)
