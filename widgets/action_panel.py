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
        text = Text(no_wrap=True, overflow="ellipsis")
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
