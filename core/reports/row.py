"""The report's unit: one deployment reduced to the fields the figures use, and its exact definition (`row_of`).

Every read path (the archive's fast decoder, the month cache, active deployments from the hot file) must give
the Row that `row_of` gives for the same stored deployment; tests compare them.

Commit times, for lead time: `metadata["commit_times"]` maps each component to the ISO-8601 time of the
commit that the deployed version was built from (`{"websocket-server": "2026-03-02T09:15:00Z"}`).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, NamedTuple

COMMIT_TIMES = "commit_times"  # the metadata key (see the module doc)


class Row(NamedTuple):
    """What the report needs of one deployment; times are POSIX seconds (UTC), cheap to store and subtract."""

    id: str
    environment: str
    status: str
    strategy: str
    started: float
    ended: float | None
    versions_json: str  # decoded on demand (`versions`): most figures never need it
    cause: str | None
    commit_times: tuple[float, ...]
    commit_times_malformed: bool
    failed_stage_start: float | None  # start of the stage recorded as failed, if any

    @property
    def versions(self) -> dict[str, str]:
        versions: dict[str, str] = json.loads(self.versions_json)
        return versions

    @property
    def day(self) -> str:
        """The UTC day it started, "YYYYMMDD" (from the id, which encodes the start)."""
        return self.id[2:10]

    @property
    def week(self) -> str:
        return iso_week(self.id[2:10])


_WEEKS: dict[str, str] = {}


def iso_week(day: str) -> str:
    """ "2026-W05" for a "YYYYMMDD" day, memoised (a year has 366 of them)."""
    found = _WEEKS.get(day)
    if found is None:
        year, week, _ = date(int(day[:4]), int(day[4:6]), int(day[6:8])).isocalendar()
        found = _WEEKS[day] = f"{year}-W{week:02d}"
    return found


def seconds(value: Any) -> float | None:
    """POSIX seconds of an ISO-8601 time with a zone; None for anything else (absent, naive, not a time)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def commit_times(times: Any) -> tuple[tuple[float, ...], bool]:
    """The usable commit times of a `metadata["commit_times"]` value, and whether any was not a zoned time."""
    if times is None:
        return (), False
    if not isinstance(times, dict):
        return (), True
    found = [seconds(value) for value in times.values()]
    return tuple(s for s in found if s is not None), None in found


def failed_stage(stages: Any) -> float | None:
    """Start of the first stage recorded as failed (None when there is none or it has no start)."""
    for stage in stages if isinstance(stages, list) else ():
        if isinstance(stage, dict) and stage.get("status") == "failed":
            return seconds(stage.get("started_at"))
    return None


def row_of(raw: dict[str, Any]) -> Row:
    """A Row from a deployment as stored (JSON-ready dict)."""
    times, malformed = commit_times((raw.get("metadata") or {}).get(COMMIT_TIMES))
    started = seconds(raw["started_at"])
    assert started is not None, "the registry stores zoned times"
    return Row(raw["id"], raw["environment"], raw["status"], raw.get("strategy", ""), started,
               seconds(raw.get("ended_at")), json.dumps(raw.get("versions") or {}), raw.get("rollback_cause"),
               times, malformed, failed_stage(raw.get("stages")) if raw["status"] == "rolled_back" else None)
