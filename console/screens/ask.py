"""A modal that asks the operator for one value (a traffic weight, a rollback reason, a configuration setting) and
checks it before closing."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Function, Integer, Validator
from textual.widgets import Input, Label

Kind = Literal["percent", "reason", "override", "incident", "setting"]

QUESTIONS: dict[Kind, tuple[str, str]] = {
    "percent": ("Percent of traffic on the new revision (0-100)", "e.g. 25"),
    "reason": ("Why? The reason is recorded as the rollback cause and sent to Slack/PagerDuty", "e.g. 5xx spike"),
    "incident": ("Why? The reason goes on the incident's timeline and to Slack", "e.g. fixed by hand: min instances 2"),
    "override": ("Promote anyway? Write why: the reason is recorded with your name and what it overrode",
                 "e.g. quiet hours: traffic too low to judge"),
    "setting": ("KEY = VALUE, KEY inside the environment; the value is read as TOML (a bare word is text)",
                "e.g. health.max_5xx_rate = 0.02"),
}


def _validators(kind: Kind) -> list[Validator]:
    if kind == "percent":
        return [Integer(minimum=0, maximum=100, failure_description="a whole number from 0 to 100")]
    if kind == "setting":
        return [Function(lambda text: bool(text.partition("=")[0].strip() and text.partition("=")[2].strip()),
                         "write KEY = VALUE, e.g. health.max_5xx_rate = 0.02")]
    return [Function(lambda text: bool(text.strip()), "say why: the reason cannot be empty")]  # reason, override


class AskScreen(ModalScreen[str | None]):
    """Dismissed with the valid answer, or None on esc; an invalid answer keeps the dialog open and says why."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel-ask")]

    def __init__(self, title: str, kind: Kind, context: str = "", effect: str = "") -> None:
        """`context`: why it is asked (the engine's refusal an override gets past); `effect`: what answering does
        (core.model.effects' sentence; for a reason, answering is the confirmation), both above the question."""
        super().__init__()
        self.title_text = title
        self.kind = kind
        self.context = context
        self.effect = effect

    def compose(self) -> ComposeResult:
        question, placeholder = QUESTIONS[self.kind]
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            if self.context:
                yield Label(self.context, id="ask-context", classes="dialog-problem", markup=False)
            if self.effect:
                yield Label(self.effect, id="ask-effect", markup=False)
            yield Label(question)
            yield Input(placeholder=placeholder, validators=_validators(self.kind), id="ask-input",
                        type="integer" if self.kind == "percent" else "text")
            yield Label("", id="ask-problem", classes="dialog-problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        result = event.validation_result
        if result is not None and not result.is_valid:
            self.query_one("#ask-problem", Label).update("; ".join(result.failure_descriptions))
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
