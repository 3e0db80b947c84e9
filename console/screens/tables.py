"""Updating a DataTable in place from fresh rows, so a refresh keeps the operator's cursor and scroll."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

Cell = str | Text
Row = tuple[str, Sequence[Cell]]  # (row key, one cell per column)


def sync_rows(table: DataTable[Cell], rows: Sequence[Row]) -> None:
    """Make the table show `rows`: changed cells are updated, new rows appended; only a reorder rebuilds it.

    When rows must be reordered or removed (a new deployment on top of the history), the table is
    refilled and the cursor put back on the same row key and the scroll where it was.
    """
    current = [key.value for key in table.rows]
    wanted = [key for key, _ in rows]
    if wanted[:len(current)] == current:
        columns = list(table.columns)
        for key, cells in rows[:len(current)]:
            old = table.get_row(key)
            for column, cell, before in zip(columns, cells, old, strict=False):
                if cell != before:
                    table.update_cell(key, column, cell)
        for key, cells in rows[len(current):]:
            table.add_row(*cells, key=key)
        return
    selected = current[table.cursor_row] if current and 0 <= table.cursor_row < len(current) else None
    scroll = table.scroll_y
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if selected in wanted:
        table.move_cursor(row=wanted.index(selected), scroll=False)
    table.scroll_to(y=scroll, animate=False)
