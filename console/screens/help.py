"""The help screen: console/help.md, then every key from the action registry (so the table cannot drift)."""

from __future__ import annotations

from importlib.resources import files
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Markdown

from console.actions import ACTIONS, keys_for


def help_markdown(keymap: dict[str, str]) -> str:
    """help.md with the key table appended, generated from the registry after the configured keymap."""
    text = files("console").joinpath("help.md").read_text(encoding="utf-8")
    rows = "\n".join(f"| `{keys_for(a, keymap)}` | {a.title} | {a.description} |" for a in ACTIONS)
    return f"{text.rstrip()}\n\n## Keys\n\n| key | action | what it does |\n|---|---|---|\n{rows}\n"


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "close", "Close", id="close-help")]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.source = help_markdown(keymap)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Markdown(self.source, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
