"""The confirmation of a change: what it will do, in core's sentence, then production's name typed or one key.

A change that moves production forward wants the name typed (a slip of the finger never reaches production);
one that takes traffic away (a lower weight) is confirmed with enter. core.model.effects decides which.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from console.actions import OpsAction
from core.model.effects import Confirm, Effect


class ConfirmScreen(ModalScreen[str | None]):
    """Dismissed with what was typed (the caller compares it; without typing, enter gives the environment's name),
    or None when the operator backs out with esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel-confirm"),
                                             Binding("enter", "confirm", "Confirm", id="confirm-once", show=False)]

    def __init__(self, environment: str, what: str, effect: str = "", *, typed: bool = True) -> None:
        super().__init__()
        self.environment = environment
        self.what = what
        self.effect = effect
        self.typed = typed

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog production-dialog"):
            yield Label(f"{self.what} on {self.environment.upper()}", classes="dialog-title")
            if self.effect:
                yield Label(self.effect, id="confirm-effect", markup=False)
            if self.typed:
                yield Label(f"Type the environment name ({self.environment}) to confirm; esc cancels.")
                yield Input(placeholder=self.environment, id="confirm-input")
            else:
                yield Label("enter confirms; esc cancels.")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_confirm(self) -> None:
        if not self.typed:  # with the input, enter submits what was typed instead
            self.dismiss(self.environment)

    def action_cancel(self) -> None:
        self.dismiss(None)


def confirmation(action: OpsAction, effect: Effect | None, confirmed_environment: bool) -> ConfirmScreen | None:
    """The confirmation `action` still owes for `effect` (None: nothing more is asked), after core's rule."""
    owed = action.owed(effect, confirmed_environment)
    if effect is None or owed is Confirm.NONE:
        return None
    return ConfirmScreen(effect.environment, action.title, effect.sentence, typed=owed is Confirm.TYPED)
