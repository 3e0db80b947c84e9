"""What the console says when a card's health changes: a line for the log (with who was told), and a toast when
it got worse. Each change is said once per console, whichever console recorded it (a team's changes too)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.notifications import SeverityLevel

from console.snapshot import EnvironmentSnapshot
from core.model.events import Note

if TYPE_CHECKING:  # the monitor (and its probes' clients) loads after the first frame (console/startup.py)
    from core.health.monitor import HealthMonitor


@dataclass(frozen=True)
class News:
    """The log's note; the toast's text ("" for good news), title and severity."""

    note: Note
    toast: str
    title: str
    severity: SeverityLevel


@dataclass
class HealthNews:
    shown: dict[str, str] = field(default_factory=dict)  # the state each card last showed

    def of(self, snapshot: EnvironmentSnapshot) -> News | None:
        """What to say of a change of the card's health, or None when nothing changed.

        An environment first seen ok is no news; first seen degraded or down is."""
        health, env = snapshot.health_now, snapshot.name
        if health is None:
            return None
        before = self.shown.get(env, "ok")
        self.shown[env] = health.state
        if before == health.state:
            return None
        told = ""
        checked = snapshot.health
        if checked is not None and checked.alert is not None:
            told = f" (told {', '.join(checked.sent) or 'nobody: no channel is configured'})"
            if checked.failures:
                told += f"; not told: {'; '.join(checked.failures)}"
        note = Note("", env, health.observed_at, f"health {before} → {health.state}: {health.reason}{told}")
        return News(note, "" if health.state == "ok" else f"{env}: {health.headline}", f"{env} {health.state.upper()}",
                    "error" if health.state == "down" else "warning")


def unseen_health(monitor: HealthMonitor, names: Iterable[str], snapshots: Mapping[str, EnvironmentSnapshot]) -> bool:
    """Observe each environment whose interval has passed (the console's health beat, in a worker thread): True
    when one is now in a state its card does not show yet."""
    shown = {name: s.health_now.state for name, s in snapshots.items() if s.health_now is not None}
    changed = False
    for name in names:
        checked = monitor.due(name)
        changed |= checked is not None and shown.get(name) != checked.health.state
    return changed
