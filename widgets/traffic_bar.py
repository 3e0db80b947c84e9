"""A Cloud Run traffic split drawn as one bar, one coloured segment per revision, with a legend under it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

# Newest revision first (the canary), then the older ones (stable, previous); a bar rarely has more than three.
SEGMENT_STYLES = ("bold #e5c07b", "#61afef", "#98c379", "#c678dd")
NOT_READY_STYLE = "bold red"


@dataclass(frozen=True)
class Segment:
    """One revision's share: `label` is what the operator knows it by (its version), `percent` of requests."""

    label: str
    percent: int
    ready: bool = True


def split_widths(percents: Sequence[int], width: int) -> list[int]:
    """Cells per segment that add up to `width` (largest remainder), so 10 % of 36 cells is never 0 cells."""
    total = sum(percents)
    if total <= 0 or width <= 0:
        return [0 for _ in percents]
    exact = [p * width / total for p in percents]
    cells = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - cells[i], reverse=True)[: width - sum(cells)]:
        cells[i] += 1
    for i, p in enumerate(percents):  # a revision with any traffic stays visible
        if p > 0 and cells[i] == 0:
            donor = max(range(len(cells)), key=lambda j: cells[j])
            cells[donor] -= 1
            cells[i] = 1
    return cells


class TrafficBar(Widget):
    """Two lines: the bar, then `label percent` per segment in the segment's colour."""

    DEFAULT_CSS = """
    TrafficBar { height: 2; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._segments: tuple[Segment, ...] = ()
        self._note = ""

    def show(self, segments: Sequence[Segment], note: str = "") -> None:
        """Draw this split (or `note` instead, e.g. why there is none); repaints only when it changed."""
        segments = tuple(s for s in segments if s.percent > 0)
        if segments != self._segments or note != self._note:
            self._segments, self._note = segments, note
            self.refresh()

    @property
    def legend(self) -> str:
        return self._legend().plain

    def _legend(self) -> Text:
        if not self._segments:
            return Text(self._note or "no traffic", style="dim")
        legend = Text()
        for i, segment in enumerate(self._segments):
            if i:
                legend.append(" · ")
            style = SEGMENT_STYLES[i % len(SEGMENT_STYLES)] if segment.ready else NOT_READY_STYLE
            legend.append("■ ", style=style)
            legend.append(f"{segment.label} {segment.percent}%" + ("" if segment.ready else " not ready"))
        return legend

    def render(self) -> Text:
        width = self.content_size.width
        bar = Text(no_wrap=True, overflow="ellipsis")
        if self._segments:
            cells = split_widths([s.percent for s in self._segments], width)
            for i, (segment, n) in enumerate(zip(self._segments, cells, strict=True)):
                style = SEGMENT_STYLES[i % len(SEGMENT_STYLES)] if segment.ready else NOT_READY_STYLE
                bar.append("█" * n, style=style)
        else:
            bar.append("░" * width, style="dim")
        legend = self._legend()
        legend.no_wrap, legend.overflow = True, "ellipsis"
        return Text("\n").join([bar, legend])
