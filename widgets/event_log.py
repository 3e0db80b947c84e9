"""The selected deployment's log: the registry's step events (durable) and the engine's live events, in time order.

Both carry the time of one clock (the cloud's: the sandbox's when attached to one, core.registry writes at the
engine's `now`), so they interleave by it. A line that arrives in order is appended, which never resets the
operator's scroll position; one that belongs earlier (a registry event read by the next refresh, after the live
event it caused) puts the log back in order. Lines wrap at the log's width, and are wrapped again on a resize.

What a line says is core's (core.model.log_text): a split by role, status names in words; and the console's
own wording (`wording`: the CLI's hints turned into keys) is applied to every line, one function of the text.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise

from rich.text import Text
from textual import events
from textual.widgets import RichLog

from core.model.deployment import StepEvent
from core.model.events import EngineEvent
from core.model.log_text import engine_words, step_words

KIND_STYLES = {"intent": "cyan", "done": "green", "failed": "bold red", "request": "bold magenta", "note": "dim"}
ENGINE_STYLES = {"RolledBack": "bold red", "DeploymentFinished": "bold", "VerdictReached": "yellow",
                 "WeightChanged": "bold cyan", "WaitingForOperator": "bold magenta", "Note": ""}

Wording = Callable[[str], str]
KEPT = 1000  # the newest lines of the log (a deployment's whole story is much shorter)


def _same(text: str) -> str:
    return text


def step_line(event: StepEvent, roles: Mapping[str, str] | None = None, wording: Wording = _same) -> Text:
    line = Text()
    line.append(f"{event.at:%H:%M:%S} ", style="dim")
    line.append(f"{event.kind:8}", style=KIND_STYLES.get(event.kind, ""))
    line.append(wording(step_words(event, roles or {})))
    return line


def engine_line(event: EngineEvent, roles: Mapping[str, str] | None = None, wording: Wording = _same) -> Text:
    line = Text()
    line.append(f"{event.at:%H:%M:%S} ", style="dim")
    line.append("▸ ", style=ENGINE_STYLES.get(event.kind, "bold"))
    line.append(wording(engine_words(event, roles or {})), style=ENGINE_STYLES.get(event.kind, ""))
    return line


class EventLog(RichLog):
    """`show_steps` follows the registry; `add_engine_event` adds a live event of the deployment in view."""

    DEFAULT_CSS = """
    EventLog { border: round $foreground 30%; border-title-style: bold; height: 100%; }
    EventLog { scrollbar-gutter: stable; overflow-x: hidden; }  /* lines wrap at a width that does not change */
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, wrap=True, markup=False, max_lines=KEPT * 4)  # lines wrap
        self.deployment_id: str | None = None
        self.roles: Mapping[str, str] = {}  # revision → its role in the deployment in view (candidate, stable)
        self.wording: Wording = _same
        self._shown_seq = 0
        self._order = 0
        self._entries: list[tuple[datetime, int, Text]] = []  # in time order; (time, arrival) breaks ties
        self._width = 0

    @property
    def lines_text(self) -> list[str]:
        """What the log says, in plain text and in order, for readers without a screen."""
        return [text.plain for _, _, text in self._entries]

    def _add(self, *lines: tuple[datetime, Text]) -> None:
        """Add lines (time, text): appended when they come after what is shown, else the log is put back in order
        once for all of them (a refresh may bring many registry entries older than the live events shown)."""
        if not lines:
            return
        entries = []
        for at, line in lines:
            self._order += 1
            entries.append((at, self._order, line))
        last = self._entries[-1][0] if self._entries else None
        in_order = (last is None or entries[0][0] >= last) and all(a[0] <= b[0] for a, b in pairwise(entries))
        for entry in entries:
            insort(self._entries, entry, key=lambda e: (e[0], e[1]))
        del self._entries[:-KEPT]
        if in_order:
            for _, _, line in entries:
                self._write(line)
        else:
            self._rewrite()

    def _write(self, line: Text) -> None:
        """Wrapped at the log's own width (RichLog would measure against the whole console's)."""
        width = self.scrollable_content_region.width
        self.write(line, width=width if width > 0 else None)

    def _rewrite(self) -> None:
        super().clear()
        for _, _, line in self._entries:
            self._write(line)

    def on_resize(self, event: events.Resize) -> None:
        """Wrap every line again at the new width (RichLog wraps a line once, when it is written), after the
        resize is laid out (and RichLog has written what it held back until it knew its size)."""
        if event.size.width != self._width:
            self._width = event.size.width
            if self._entries:
                self.call_after_refresh(self._rewrite)

    def follow(self, environment: str, deployment_id: str | None, engine_events: Iterable[EngineEvent] = (),
               roles: Mapping[str, str] | None = None) -> None:
        """Show another deployment (or none): start over with its engine events seen so far."""
        title = f"Log · {environment}" + (f" · {deployment_id}" if deployment_id else "")
        if self.border_title != title:  # setting it repaints the log even when it is the same
            self.border_title = title
        self.roles = roles or self.roles
        if deployment_id == self.deployment_id:
            return
        super().clear()
        self._entries.clear()
        self.deployment_id, self._shown_seq = deployment_id, 0
        if deployment_id is None:  # a placeholder, not a line of the log: the first line goes after it
            self.write(Text(f"no deployment of {environment} yet", style="dim"))
        self._add(*((event.at, engine_line(event, self.roles, self.wording)) for event in engine_events
                    if event.deployment_id in (deployment_id, "")))

    def show_steps(self, events: Sequence[StepEvent]) -> None:
        """Add the step events of the deployment in view that are not on screen yet."""
        new = [event for event in events if event.deployment_id == self.deployment_id and event.seq > self._shown_seq]
        if new:
            self._shown_seq = max(event.seq for event in new)
            self._add(*((event.at, step_line(event, self.roles, self.wording)) for event in new))

    def add_engine_event(self, event: EngineEvent) -> None:
        """An event of the deployment in view, or of the environment itself (no deployment id: a change of
        health, the result of an action), which stays in the log whichever deployment is shown."""
        if event.deployment_id in (self.deployment_id, ""):
            self._add((event.at, engine_line(event, self.roles, self.wording)))
