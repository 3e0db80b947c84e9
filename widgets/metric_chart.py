"""One canary metric over the last windows: canary and stable as two lines, the judge's limit as a third.

A textual-plotext plot (plotext draws into the widget's size); the series is handed in whole and the
plot is rebuilt only when it changed and the chart is painted, so neither an idle console nor a hidden
chart redraws.
"""

from __future__ import annotations

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from widgets.metric_series import LABELS, Metric, MetricSeries, Side, format_value

# plotext's colour names for the lines, and the same terminal colours in Rich's names for legends and titles
# ("orange" is plotext's name for ANSI colour 3, which Rich calls yellow).
COLOURS: dict[Side, str] = {"canary": "orange", "stable": "cyan"}
STYLES: dict[Side, str] = {"canary": "yellow", "stable": "cyan"}
LIMIT_COLOUR, LIMIT_STYLE = "red", "red"
LIMIT_IN_VIEW = 3.0  # a limit further above the data than this would flatten the lines: the title gives it instead


def segments(values: list[float | None]) -> list[tuple[list[int], list[float]]]:
    """Runs of measured values as (x, y), so a window without requests is a gap, not a fall to zero."""
    runs: list[tuple[list[int], list[float]]] = []
    for x, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][0][-1] == x - 1:
            runs[-1][0].append(x)
            runs[-1][1].append(value)
        else:
            runs.append(([x], [value]))
    return runs


class MetricChart(PlotextPlot):
    """`show(series)` draws `metric`; the border subtitle carries the newest figures so they survive a small plot."""

    DEFAULT_CSS = """
    MetricChart {
        border: round $foreground 20%; border-title-color: $foreground 80%; border-subtitle-align: right;
        height: 1fr; width: 1fr;
    }
    """

    def __init__(self, metric: Metric, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.metric = metric
        self.border_title = LABELS[metric]
        self._drawn: tuple[object, ...] | None = None
        self._figures = ""
        self._pending: MetricSeries | None = None

    def figures(self, series: MetricSeries) -> str:
        """The newest canary and stable values and the limit, in the lines' colours (markup for the border)."""
        parts = []
        for side in ("canary", "stable"):
            if series.revision(side) is not None:
                value = format_value(self.metric, series.latest(self.metric, side), compact=True)
                parts.append(f"[{STYLES[side]}]{value}[/]")
        limit = series.limit(self.metric)
        if limit is not None:  # drawn as a red line when it is in view, always given here
            parts.append(f"[{LIMIT_STYLE}]≤{format_value(self.metric, limit, compact=True)}[/]")
        return " ".join(parts)

    def show(self, series: MetricSeries) -> None:
        """Take the refresh's series; the plot itself is rebuilt when next painted, so a hidden chart costs nothing."""
        figures = self.figures(series)
        if figures != self._figures:  # setting a border title repaints: only when it changed
            self._figures = figures
            self.border_subtitle = figures
        key = (series.ends, series.values(self.metric, "canary"), series.values(self.metric, "stable"),
               series.limit(self.metric))
        if key == self._drawn:
            return
        self._drawn = key
        self._pending = series
        self.refresh()

    def render(self) -> RenderResult:
        if self._pending is not None:
            self._draw(self._pending)
            self._pending = None
        return super().render()

    def _draw(self, series: MetricSeries) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.frame(False)
        plt.xfrequency(0)
        plt.yfrequency(3)
        count = max(len(series.ends), 1)
        plt.xlim(0, max(series.windows - 1, 1))
        top = 0.0
        for side in ("stable", "canary"):
            values = series.values(self.metric, side)
            offset = series.windows - count  # the newest window sits at the right edge while older ones load
            for xs, ys in segments(values):
                plt.plot([x + offset for x in xs], ys, color=COLOURS[side], marker="braille")
                top = max(top, *ys)
        limit = series.limit(self.metric)
        if limit is not None and (top == 0 or limit <= top * LIMIT_IN_VIEW):
            plt.hline(limit, LIMIT_COLOUR)
            top = max(top, limit)
        plt.ylim(0, top * 1.15 if top > 0 else 1)
