"""Deployment ids: unique, sortable by start time, and readable (d-YYYYMMDD-HHMMSS-mmm-xxxxxx, UTC)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import TypeGuard

# 24 random bits after the millisecond: two deployments started in the same millisecond still differ,
# and the registry re-draws on the (rare) collision with an active id.
ID_RE = re.compile(r"d-(\d{8})-(\d{6})-(\d{3})-([0-9a-f]{6})")


def time_key(moment: datetime) -> str:
    """The id prefix for a moment: ids of deployments started at or after it compare >= this string."""
    moment = moment.astimezone(UTC)
    # The year padded by hand: strftime's %Y gives "999", not "0999", and ids must sort as text.
    return f"d-{moment.year:04d}{moment:%m%d-%H%M%S}-{moment.microsecond // 1000:03d}"


def new_deployment_id(started_at: datetime) -> str:
    """A fresh id encoding ``started_at`` (to the millisecond) and 24 random bits."""
    return f"{time_key(started_at)}-{secrets.token_hex(3)}"


def is_deployment_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` has the shape of a deployment id (it may still not exist)."""
    return isinstance(value, str) and ID_RE.fullmatch(value) is not None and started_at_of(value) is not None


def started_at_of(deployment_id: str) -> datetime | None:
    """The start time encoded in an id (millisecond precision), or None for a malformed id."""
    match = ID_RE.fullmatch(deployment_id)
    if match is None:
        return None
    day, clock, millis, _ = match.groups()
    try:
        moment = datetime.strptime(day + clock, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return moment.replace(microsecond=int(millis) * 1000, tzinfo=UTC)


def month_of(deployment_id: str) -> str:
    """The archive month (YYYY-MM) a deployment belongs to, taken from its id."""
    return f"{deployment_id[2:6]}-{deployment_id[6:8]}"


def month_key(moment: datetime) -> str:
    """The archive month (YYYY-MM) of a moment, in UTC."""
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"
