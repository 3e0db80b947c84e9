"""The help screen: every key first, from the action registry (so the table cannot drift), then console/help.md.

The page scrolls by keyboard (`↑`/`↓`, `pgup`/`pgdn`, `home`/`end`): the scrolling container has the focus
from the moment the screen opens.
"""

from __future__ import annotations

from importlib.resources import files
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from console.actions import ACTIONS, keys_for

SCROLLING = "`↑` `↓` `pgup` `pgdn` `home` `end` scroll this page; `esc` closes it."


def key_table(keymap: dict[str, str]) -> str:
    """Every action with its keys after the configured keymap, as a Markdown table."""
    rows = "\n".join(f"| `{keys_for(a, keymap)}` | {a.title} | {a.description} |" for a in ACTIONS)
    return f"| key | action | what it does |\n|---|---|---|\n{rows}\n"


def help_markdown(keymap: dict[str, str]) -> str:
    """The key table first (what an operator opens help for), then help.md's prose."""
    prose = files("console").joinpath("help.md").read_text(encoding="utf-8")
    return f"{key_table(keymap)}\n{SCROLLING}\n\n{prose.rstrip()}\n"


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "close", "Close", id="close-help")]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.source = help_markdown(keymap)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help-dialog", id="help-scroll"):
            yield Markdown(self.source, id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
