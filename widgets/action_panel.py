"""The actions that make sense right now, each with its key; a disabled one says why. Click one to run it."""

from __future__ import annotations

import textwrap
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


def short_key(row: ActionRow) -> str:
    """The first of an action's keys, as one cell where it can be (`space` is `␣`)."""
    return row.keys.split(",")[0].strip().replace("space", "␣")


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
            key = short_key(row)
            line.append(key, style="bold reverse" if enabled else "dim")
            if titled:
                line.append(f" {row.title}", style="bold" if enabled else "dim")
            places.append((start, line.cell_len, row))
            line.append("  " if titled else " ")
        if not titled or line.cell_len <= width:
            return line, places
    raise AssertionError("unreachable: the keys-only line is always returned")


MARKS = "¹²³⁴⁵⁶⁷⁸⁹"
MORE = "… press a dimmed key to read the whole reason"


def listed_text(rows: Sequence[ActionRow], width: int, height: int) -> tuple[Text, list[ActionRow | None], bool]:
    """The panel's lines, the action of each line of actions (None: refused ones sharing a line), for a click, and
    whether they and a line of note fit in `height` (0: no limit; if not, the panel collapses to one line).

    A refused action says why on its line when that fits in `width`, else it carries the mark of a note under the
    list, where each such reason is said once, whole and wrapped (the nine actions a read-only console refuses
    share one note). When that is taller than `height`, the actions sharing a note share a line too, where the
    first of them stood (`d a p w ␣ r b x I ¹`). Notes still taller than the room left stop at a line that says
    so, and pressing a dimmed key says the whole reason (in a toast and the log): never cut silently.
    """
    marks: dict[str, str] = {}
    lines: list[tuple[Text, ActionRow]] = []
    for row in rows:
        line = Text(f"{row.keys:>6} ", style="bold reverse" if row.disabled_reason is None else "dim")
        if row.disabled_reason is None:
            line.append(f" {row.title}", style="bold")
        else:
            line.append(f" {row.title}", style="dim strike")
            said = f" — {row.disabled_reason}"
            if width <= 0 or line.cell_len + len(said) <= width:
                line.append(said, style="dim italic")
            else:
                mark = marks.setdefault(row.disabled_reason, MARKS[len(marks)] if len(marks) < len(MARKS) else "*")
                line.append(f" {mark}", style="dim")
        lines.append((line, row))
    notes = [line for reason, mark in marks.items() for line in textwrap.wrap(
        f"{mark} {reason}", max(width, 20), subsequent_indent="  ", break_on_hyphens=False)]
    shown: list[tuple[Text, ActionRow | None]] = list(lines)
    if height > 0 and len(lines) + len(notes) > height:
        shown = []
        for line, row in lines:
            sharing = [r for r in rows if r.disabled_reason == row.disabled_reason]
            if row.disabled_reason not in marks or len(sharing) == 1:
                shown.append((line, row))
            elif row is sharing[0]:  # the others' places close up
                keys = " ".join(short_key(r) for r in sharing)
                shown.append((Text(f"{keys:>6}  {marks[row.disabled_reason]}", style="dim"), None))
    fits = height <= 0 or len(shown) + min(len(notes), 1) <= height
    if height > 0 and len(shown) + len(notes) > height:
        notes = [*notes[:max(height - len(shown) - 1, 0)], MORE]
    text = Text("\n", no_wrap=True, overflow="ellipsis").join(line for line, _ in shown)
    for note in notes:
        text.append(f"\n{note}", style="dim italic")
    return text, [row for _, row in shown], fits


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
        self._lines: list[ActionRow | None] = []  # the action of each line of the full panel (the notes follow)
        self._collapsed = False

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
        """No room even for the list (refused actions sharing a note on one line) and a line of note: one line of
        their keys instead (widgets/action_panel.collapsed_line); `listed_text` says whether it fits."""
        return self._collapsed

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        width, height = self.content_size.width, self.content_size.height
        text, self._lines, fits = listed_text(self.rows, width, height)
        self._collapsed = not fits
        if self._collapsed:
            text, self._places = collapsed_line(self.rows, width, str(self.border_title or "Actions"))
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
            row = self._lines[offset.y] if 0 <= offset.y < len(self._lines) else None
        if row is not None and row.disabled_reason is None:
            self.post_message(self.Chosen(row.action_id))
