"""The actions that make sense right now, each with its key; a disabled one says why. Click one to run it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static


@dataclass(frozen=True)
class ActionRow:
    action_id: str
    keys: str
    title: str
    disabled_reason: str | None = None


def collapsed_line(rows: Sequence[ActionRow], width: int, title: str = "Actions") -> Text:
    """`Actions · production: p Promote  w Set weight  b Roll back ...`, the enabled actions only; when their titles
    do not fit in `width`, their keys alone (`p w ␣ b v x`). A disabled action is left out: its reason is in help."""
    enabled = [r for r in rows if r.disabled_reason is None]
    keys = [r.keys.split(",")[0].strip().replace("space", "␣") for r in enabled]
    for titled in (True, False):
        line = Text(f"{title}: ", style="bold", no_wrap=True, overflow="ellipsis")
        for key, row in zip(keys, enabled, strict=True):
            line.append(key, style="bold reverse")
            line.append(f" {row.title}  " if titled else " ")
        if not enabled:
            line.append("nothing to do now", style="dim")
        if titled and line.cell_len > width:
            continue
        return line
    return line


class ActionPanel(Static):
    """One line per action; posts `ActionPanel.Chosen` when an enabled line is clicked."""

    DEFAULT_CSS = """
    ActionPanel {
        border: round $foreground 30%;
        border-title-style: bold;
        padding: 0 1;
        height: 100%;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    @dataclass
    class Chosen(Message):
        action_id: str

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.rows: tuple[ActionRow, ...] = ()

    def on_mount(self) -> None:
        self.border_title = "Actions"

    def show(self, rows: Sequence[ActionRow], title: str = "Actions") -> None:
        """Redraw only when something changed (a refresh every second must not make it flicker)."""
        self.border_title = title
        rows = tuple(rows)
        if rows == self.rows:
            return
        self.rows = rows
        self._draw()

    @property
    def collapsed(self) -> bool:
        """No room for a line per action: one line of the enabled ones' keys instead."""
        height = self.content_size.height
        return 0 < height < len(self.rows)

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        if self.collapsed:
            self.update(collapsed_line(self.rows, self.content_size.width, str(self.border_title or "Actions")))
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        rows = self.rows
        for i, row in enumerate(rows):
            if i:
                text.append("\n")
            if row.disabled_reason is None:
                text.append(f"{row.keys:>6} ", style="bold reverse")
                text.append(f" {row.title}", style="bold")
            else:
                text.append(f"{row.keys:>6} ", style="dim")
                text.append(f" {row.title}", style="dim strike")
                text.append(f" — {row.disabled_reason}", style="dim italic")
        self.update(text)

    @property
    def text(self) -> str:
        return str(self.content)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and 0 <= offset.y < len(self.rows) and self.rows[offset.y].disabled_reason is None:
            self.post_message(self.Chosen(self.rows[offset.y].action_id))
