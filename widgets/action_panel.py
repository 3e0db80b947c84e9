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


def collapsed_line(rows: Sequence[ActionRow], width: int,
                   title: str = "Actions") -> tuple[Text, list[tuple[int, int, ActionRow]]]:
    """`Actions · production: d Deploy  p Promote  b Roll back ...` in one line, and where each action's words are
    (start, end cell, row) for a click; when the titles do not fit in `width`, the keys alone (`d a p w ␣ r b v x I`).
    Every key is there, so roll back and verify are always seen; a disabled one is dim (its reason is in the
    palette and help, and pressing it says why)."""
    for titled in (True, False):
        line = Text(f"{title}: ", style="bold", no_wrap=True, overflow="ellipsis")
        places: list[tuple[int, int, ActionRow]] = []
        for row in rows:
            start = line.cell_len
            enabled = row.disabled_reason is None
            key = row.keys.split(",")[0].strip().replace("space", "␣")
            line.append(key, style="bold reverse" if enabled else "dim")
            if titled:
                line.append(f" {row.title}", style="bold" if enabled else "dim")
            places.append((start, line.cell_len, row))
            line.append("  " if titled else " ")
        if not titled or line.cell_len <= width:
            return line, places
    raise AssertionError("unreachable: the keys-only line is always returned")


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
        self._places: list[tuple[int, int, ActionRow]] = []  # where each action is on the collapsed line

    def on_mount(self) -> None:
        self.border_title = "Actions"

    def show(self, rows: Sequence[ActionRow], title: str = "Actions") -> None:
        """Redraw only when something changed (a refresh every second must not make it flicker)."""
        rows = tuple(rows)
        if rows == self.rows and title == self.border_title:
            return
        self.border_title = title
        self.rows = rows
        self._draw()

    @property
    def collapsed(self) -> bool:
        """No room for a line per action: one line of their keys instead (widgets/action_panel.collapsed_line)."""
        height = self.content_size.height
        return 0 < height < len(self.rows)

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        if self.collapsed:
            line, self._places = collapsed_line(self.rows, self.content_size.width, str(self.border_title or "Actions"))
            self.update(line)
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
        if offset is None:
            return
        if self.collapsed:  # one line: the action whose key (or title) was clicked
            row = next((r for start, end, r in self._places if start <= offset.x < end), None)
        else:
            row = self.rows[offset.y] if 0 <= offset.y < len(self.rows) else None
        if row is not None and row.disabled_reason is None:
            self.post_message(self.Chosen(row.action_id))
