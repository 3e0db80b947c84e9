"""The span a report may cover, one rule for the CLI's --since/--until, the console's ranges and generate_report.

Deployment ids are born after 1970, and a report adds a day to an inclusive end, steps through days and weeks
and turns times into POSIX seconds: a moment at the edge of the calendar (`--until 9999-12-31`,
`0001-01-01T00:00+01:00`) would overflow. So a report covers [1970-01-01, 9999-01-01) UTC; anything outside,
or a time whose zone pushes it outside, is bad input named by the option it came from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.errors import BadInput

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive: the last day a report covers is 9998-12-31
FIRST_DAY, LAST_DAY = "1970-01-01", "9998-12-31"


def in_span(moment: datetime, what: str, shown: str | None = None, *, start: bool = False) -> datetime:
    """``moment`` in UTC if a report can end there (or, with ``start``, begin there: before LATEST); BadInput naming
    ``what`` (an option) otherwise.

    ``shown`` is how the operator wrote it, when that is clearer than the moment (a day made inclusive).
    """
    if moment.tzinfo is None:
        raise BadInput(f"{what} {shown or moment.isoformat()} needs a time zone")
    # Aware comparisons never overflow (they subtract offsets as timedeltas); astimezone near the edges does.
    if not EARLIEST <= moment <= LATEST or (start and moment == LATEST):
        raise BadInput(f"{what} {shown or moment.isoformat()} is outside the days a report covers "
                       f"({FIRST_DAY} to {LAST_DAY}, UTC)")
    return moment.astimezone(UTC)


def default_start(end: datetime, days: int) -> datetime:
    """``days`` before ``end``, but never before the first day a report covers (a default must not be refused)."""
    return end - timedelta(days=days) if end - EARLIEST > timedelta(days=days) else EARLIEST
