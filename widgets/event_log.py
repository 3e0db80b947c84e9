"""The selected deployment's log: the registry's step events (durable) and the engine's live events, as they come.

Lines are only ever appended while the same deployment is in view: a refresh adds the step events it
has not shown yet, so the operator's scroll position is never reset by the refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from core.model.deployment import StepEvent
from core.model.events import EngineEvent

KIND_STYLES = {"intent": "cyan", "done": "green", "failed": "bold red", "request": "bold magenta", "note": "dim"}
ENGINE_STYLES = {"RolledBack": "bold red", "DeploymentFinished": "bold", "VerdictReached": "yellow",
                 "WeightChanged": "bold cyan", "WaitingForOperator": "bold magenta"}


def _detail(detail: dict[str, Any]) -> str:
    for key in ("decision", "summary", "reason", "cause", "error", "to", "split", "percent", "revision"):
        if key in detail and detail[key] not in ("", None):
            return f"{key} {detail[key]}"
    return ""


def step_line(event: StepEvent) -> Text:
    line = Text()
    line.append(f"{event.at:%H:%M:%S} ", style="dim")
    line.append(f"{event.kind:8}", style=KIND_STYLES.get(event.kind, ""))
    line.append(f"{event.action}", style="bold")
    line.append(f" by {event.actor}", style="dim")
    if text := _detail(event.detail):
        line.append(f"  {text}")
    return line


def engine_line(event: EngineEvent) -> Text:
    line = Text()
    line.append(f"{event.at:%H:%M:%S} ", style="dim")
    line.append(f"▸ {event.kind} ", style=ENGINE_STYLES.get(event.kind, "bold"))
    line.append(event.describe())
    return line


class EventLog(RichLog):
    """`show_steps` follows the registry; `add_engine_event` appends a live event of the deployment in view."""

    DEFAULT_CSS = """
    EventLog { border: round $foreground 30%; border-title-style: bold; height: 100%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, wrap=False, markup=False, max_lines=2000)
        self.deployment_id: str | None = None
        self._shown_seq = 0
        self.lines_text: list[str] = []  # what was written, in plain text, for readers without a screen

    def _write(self, line: Text) -> None:
        self.lines_text.append(line.plain)
        self.write(line)

    def follow(self, environment: str, deployment_id: str | None, engine_events: Iterable[EngineEvent] = ()) -> None:
        """Show another deployment (or none): start over with its engine events seen so far."""
        self.border_title = f"Log · {environment}" + (f" · {deployment_id}" if deployment_id else "")
        if deployment_id == self.deployment_id:
            return
        self.clear()
        self.lines_text.clear()
        self.deployment_id, self._shown_seq = deployment_id, 0
        if deployment_id is None:
            self._write(Text(f"no deployment of {environment} yet", style="dim"))
        for event in engine_events:
            self.add_engine_event(event)

    def show_steps(self, events: Sequence[StepEvent]) -> None:
        """Append the step events of the deployment in view that are not on screen yet."""
        for event in events:
            if event.deployment_id == self.deployment_id and event.seq > self._shown_seq:
                self._write(step_line(event))
                self._shown_seq = event.seq

    def add_engine_event(self, event: EngineEvent) -> None:
        """An event of the deployment in view, or of the environment itself (no deployment id: a change of
        health), which stays in the log whichever deployment is shown."""
        if event.deployment_id in (self.deployment_id, ""):
            self._write(engine_line(event))
