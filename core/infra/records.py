"""Last known good infrastructure per environment, kept in the registry's `infrastructure` table.

One record per environment: the newest good apply at the top level (git commit, plan hash, state serial,
configuration snapshot, when and by whom) and up to HISTORY_LIMIT earlier ones under `history`, newest
first, so an operator can see what was good before. Only references and counts are stored, never values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import BadInput, OperationFailed
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


def entry_id(entry: Mapping[str, Any]) -> str:
    """The id an operator names a good apply by (`rollback --to ID`): its plan hash's first 12 characters."""
    return str(entry.get("id") or str(entry.get("plan_hash", ""))[:12])


def known_good(record: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every known-good apply of a record, newest first: the last known good, then its history."""
    if not record:
        return []
    head = {key: value for key, value in record.items() if key != "history"}
    return [head, *[dict(entry) for entry in record.get("history") or []]]


def choose_good(record: Mapping[str, Any] | None, environment: str, to: str | None = None) -> dict[str, Any]:
    """The known-good apply to restore: the one named `to` (its id, or a longer prefix of its plan hash), else
    the last known good. The one place this is decided: the rollback command, the engine's hook, recovery
    and the infrastructure screen all ask it.

    BadInput (nothing applied) when `to` names none of them or more than one; OperationFailed when nothing was
    ever applied through the console and no id was given.
    """
    entries = known_good(record)
    if to is None:
        if not entries:
            raise OperationFailed(f"{environment} has no last known good infrastructure: nothing was applied "
                                  "through the console yet")
        return entries[0]
    wanted = to.strip().lower()
    matches: dict[str, dict[str, Any]] = {}
    for entry in entries:
        ident = entry_id(entry)
        if wanted and (wanted == ident or (len(wanted) >= 6 and str(entry.get("plan_hash", "")).startswith(wanted))):
            matches.setdefault(ident, entry)
    if len(matches) == 1:
        return next(iter(matches.values()))
    known = ", ".join(f"{entry_id(e)} ({str(e.get('applied_at', ''))[:19]})" for e in entries) or "none"
    if not matches:
        raise BadInput(f"{environment} has no known-good infrastructure apply {to!r}; the known ones, newest first: "
                       f"{known}; nothing was applied")
    raise BadInput(f"{to!r} names more than one known-good apply of {environment} ({', '.join(matches)}); give "
                   "more of the id; nothing was applied")
