"""The report's read path on the shared registry: PostgreSQL selects only the fields a Row needs.

The embedded registry parses archive files through a month cache (core.reports.source); here the database
does that work: one indexed range scan on the id (which encodes the start), the JSON fields extracted by the
server, and `row_of`'s definitions applied to what comes back, so both backends give the same Rows.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from core.registry.ids import time_key
from core.reports.row import Row, commit_times, failed_stage


def rows_of_registry(registry: Any, start: datetime, end: datetime, environment: str | None) -> list[Row]:
    rows = []
    for ident, env, status, strategy, started, ended, versions, cause, commits, stages in registry.report_docs(
            time_key(start), time_key(end), environment):
        times, malformed = commit_times(None if commits is None else json.loads(commits))
        rows.append(Row(ident, env, status, strategy or "", started, ended, versions or "{}", cause, times, malformed,
                        failed_stage(json.loads(stages)) if stages is not None else None))
    return rows
