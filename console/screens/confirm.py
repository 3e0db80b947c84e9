"""Production changes ask for the environment's name, typed: a slip of the finger never reaches production."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class ConfirmScreen(ModalScreen[str | None]):
    """Dismissed with what was typed (the caller compares it), or None when the operator backs out with esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel-confirm")]

    def __init__(self, environment: str, what: str) -> None:
        super().__init__()
        self.environment = environment
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog production-dialog"):
            yield Label(f"{self.what} on {self.environment.upper()}", classes="dialog-title")
            yield Label(f"Type the environment name ({self.environment}) to confirm; esc cancels.")
            yield Input(placeholder=self.environment, id="confirm-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
