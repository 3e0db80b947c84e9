"""The help screen as an operator opens it: the key table on top, prose below, scrolled with the keyboard."""

from __future__ import annotations

from pathlib import Path

from textual.containers import VerticalScroll
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownBlock, MarkdownTable

from console.actions import ACTIONS, keys_for
from console.screens.help import HelpScreen
from tests.engine_rig import START, rig
from tests.test_tui_console import console, until


async def test_help_opens_on_the_key_table_and_scrolls_by_keyboard(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
            scroll = app.screen.query_one("#help-scroll", VerticalScroll)
            markdown = app.screen.query_one("#help-text", Markdown)
            await until(pilot, lambda: bool(markdown.query(MarkdownTable)) and scroll.max_scroll_y > 0,
                        "the help is laid out, longer than the screen")
            assert app.focused is scroll, "the keys scroll the page at once"

            table, hint, *_ = markdown.query_children(MarkdownBlock)
            assert isinstance(table, MarkdownTable), "the page opens on the key table"
            assert "scroll this page" in hint.source
            lines = table.source.splitlines()
            assert lines[0] == "| key | action | what it does |"
            assert [line.split("|")[1].strip() for line in lines[2:]] == [f"`{keys_for(a, app.keymap)}`"
                                                                          for a in ACTIONS]
            assert table.region.y <= scroll.region.y + 3, "the table is the first thing on the page"

            await pilot.press("down")
            assert scroll.scroll_y == 1
            await pilot.press("pagedown")
            await until(pilot, lambda: scroll.scroll_y > 1, "pagedown scrolls a page")
            paged = scroll.scroll_y
            assert paged >= scroll.scrollable_content_region.height - 1 or paged == scroll.max_scroll_y
            await pilot.press("end")
            await until(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y, "end reaches the bottom")
            await pilot.press("pageup")
            await until(pilot, lambda: scroll.scroll_y < scroll.max_scroll_y, "pageup goes back")
            await pilot.press("home")
            await until(pilot, lambda: scroll.scroll_y == 0, "home goes to the top")
            await pilot.press("escape")
            assert app.screen is app.main
