"""Listing deployments newest first across the hot file and the monthly archives, reading months lazily."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from core.registry.archive import ArchiveEntry, MonthlyArchive
from core.registry.ids import month_key, month_of, time_key
from core.registry.models import Deployment


def newest_first(
    hot: dict[str, dict[str, Any]],
    archive: MonthlyArchive,
    environment: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Iterator[Deployment]:
    """Deployments matching the filters, newest id first; ``since <= started_at < until`` to the ms.

    Ids sort by start time and months partition ids, so months are visited newest first and the walk
    stops at the first id older than ``since``; a caller that stops early never opens older months.
    """
    low = None if since is None else time_key(since)
    high = None if until is None else time_key(until)
    hot_by_month: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ident, raw in hot.items():
        hot_by_month[month_of(ident)].append(raw)
    for month in sorted(set(archive.months()) | set(hot_by_month), reverse=True):
        if since is not None and month < month_key(since):
            return
        if until is not None and month > month_key(until):
            continue
        archived = archive.newest_first(month)
        archived_ids = {entry.id for entry in archived}
        # An id in both (finished after the hot file was read) is taken from the archive: it is final.
        hot_rows = sorted(
            (raw for raw in hot_by_month.get(month, []) if raw["id"] not in archived_ids),
            key=lambda raw: raw["id"],
            reverse=True,
        )
        merged = heapq.merge(
            ((entry.id, entry.environment, entry.status, entry) for entry in archived),
            ((raw["id"], raw["environment"], raw["status"], raw) for raw in hot_rows),
            key=lambda row: row[0],
            reverse=True,
        )
        for ident, env_name, state, item in merged:
            if low is not None and ident < low:
                return
            if high is not None and ident >= high:
                continue
            if environment not in (None, env_name) or status not in (None, state):
                continue
            yield archive.deployment(month, item) if isinstance(item, ArchiveEntry) else Deployment.model_validate(item)
