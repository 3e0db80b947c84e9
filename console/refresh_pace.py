"""How often the console refreshes which environment, and the line that says so.

An environment with a deployment in progress is read every `refresh_seconds` (its split and judge move); one
without, every `idle_refresh_seconds`: nothing its card shows changes then but through a deployment, which this
console drives or hears of at once (its engine's events, the shared registry's notifications: those refresh
every environment), or through someone else's change, which a few seconds later is soon enough. The timer beats
at the quick pace while any environment is busy and reads only the environments due (`due`): a production
canary does not make dev and staging cost three reads of Cloud Run and Vercel a second and a half.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from console.snapshot import EnvironmentSnapshot
from core.config.models import ConsoleSettings


def refresh_period(settings: ConsoleSettings, snapshots: Iterable[EnvironmentSnapshot]) -> float:
    busy = any(s.active is not None for s in snapshots)
    return settings.refresh_seconds if busy else max(settings.refresh_seconds, settings.idle_refresh_seconds)


def due(settings: ConsoleSettings, snapshots: Mapping[str, EnvironmentSnapshot], taken: Mapping[str, float],
        names: Iterable[str], now: float) -> list[str]:
    """The environments a beat of the timer reads: never read yet, busy, or quiet for `idle_refresh_seconds`
    (`taken`: when each was last read, on the caller's monotonic clock; a little early counts, so a quiet one
    is not read one beat late)."""
    idle = max(settings.refresh_seconds, settings.idle_refresh_seconds)
    slack = settings.refresh_seconds / 2
    return [name for name in names
            if name not in snapshots or name not in taken or snapshots[name].active is not None
            or now - taken[name] >= idle - slack]


def refresh_line(*, paused: bool, period: float, when: str, keys: str, read_only: bool,
                 connecting: str | None = None, quiet_period: float | None = None, width: int = 200) -> str:
    """The indicator under the header: connecting (to where), live and how often (`quiet_period`: how often
    the environments without a deployment, said when slower and when `width` leaves room), or paused and how to
    resume; read-only said too."""
    def line(quiet: str) -> str:
        text = (f"◌ connecting to {connecting}… (the cards fill in when it answers)" if connecting is not None
                else f"⏸ REFRESH PAUSED ({keys} resumes) · last refresh {when}" if paused
                else f"● live · every {period:g} s{quiet} · last refresh {when}")
        return text + (" · READ-ONLY: actions are refused" if read_only else "")

    full = line(f" (quiet ones {quiet_period:g} s)" if quiet_period is not None and quiet_period > period else "")
    return full if len(full) <= width else line("")
