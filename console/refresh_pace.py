"""How often the console refreshes, and the line that says so.

While a deployment is in progress anywhere, every `refresh_seconds` (the split and the judge move); with none,
every `idle_refresh_seconds`: nothing the cards show changes then but through a deployment, which this console
drives or hears of at once (its engine's events, the shared registry's notifications), or through someone
else's change, which a few seconds later is soon enough. An idle console then costs a third of the CPU.
"""

from __future__ import annotations

from collections.abc import Iterable

from console.snapshot import EnvironmentSnapshot
from core.config.models import ConsoleSettings


def refresh_period(settings: ConsoleSettings, snapshots: Iterable[EnvironmentSnapshot]) -> float:
    busy = any(s.active is not None for s in snapshots)
    return settings.refresh_seconds if busy else max(settings.refresh_seconds, settings.idle_refresh_seconds)


def refresh_line(*, paused: bool, period: float, when: str, keys: str, read_only: bool,
                 connecting: str | None = None) -> str:
    """The indicator under the header: connecting (to where), live and how often, or paused and how to resume;
    read-only said too."""
    text = (f"◌ connecting to {connecting}… (the cards fill in when it answers)" if connecting is not None
            else f"⏸ REFRESH PAUSED ({keys} resumes) · last refresh {when}" if paused
            else f"● live · every {period:g} s · last refresh {when}")
    return text + (" · READ-ONLY: actions are refused" if read_only else "")
