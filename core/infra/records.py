"""Last known good infrastructure per environment, kept in the registry's `infrastructure` table.

One record per environment: the newest good apply at the top level (git commit, plan hash, state serial,
configuration snapshot, when and by whom) and up to HISTORY_LIMIT earlier ones under `history`, newest
first, so an operator can see what was good before. Only references and counts are stored, never values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.registry import Registry

INFRA_TABLE = "infrastructure"
HISTORY_LIMIT = 10


def last_good(registry: Registry, environment: str) -> dict[str, Any] | None:
    """The environment's last known good apply, or None when nothing was applied through the console."""
    return registry.get_record(INFRA_TABLE, environment)


def record_good(registry: Registry, environment: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Make `entry` the last known good; the previous one moves to the head of the bounded history."""
    previous = registry.get_record(INFRA_TABLE, environment)
    history: list[dict[str, Any]] = []
    if previous is not None:
        older = previous.pop("history", [])
        history = [previous, *older][:HISTORY_LIMIT]
    record = {**dict(entry), "history": history}
    registry.put_record(INFRA_TABLE, environment, record)
    return record
