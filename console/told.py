"""What the console tells the operator: a toast that goes away, and the same line in the log, which stays.

A result read only in a toast is lost once the toast fades (or while the operator looks elsewhere), so every
toast is also written in the log of the environment it is about, at the cloud's time (the log's one clock).
A toast whose news is in the log already (an engine event, a change of health) passes `log=False`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

from core.model.events import Note


class Told(App[None]):
    """Mixed into the console's App (which has `engine`, `selected` and the `EngineEventArrived` message)."""

    def tell(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
             environment: str | None = None, log: bool = True) -> None:
        """A toast, never markup (messages quote providers, revisions and what the operator typed), and its line in
        the log of `environment` (the selected one unless named)."""
        self.notify(message, title=title, severity=severity, markup=False)
        if log:
            app: Any = self
            where = environment or app.selected
            line = f"{title}: {message}" if title and not message.startswith(title) else message
            # Before the console has connected (console/startup.py) there is no cloud clock yet: this machine's.
            now = app.engine.ports.now() if app.connected else datetime.now(UTC)
            self.post_message(app.EngineEventArrived(Note("", where, now, line)))
