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

COMPACT = (",", ":")  # as the archive's lines hold it


def rows_of_registry(registry: Any, start: datetime, end: datetime, environment: str | None) -> list[Row]:
    rows = []
    for ident, env, status, strategy, started, ended, versions, cause, commits, stages in registry.report_docs(
            time_key(start), time_key(end), environment):
        times, malformed = commit_times(commits)
        rows.append(Row(ident, env, status, strategy or "", started.timestamp(),
                        None if ended is None else ended.timestamp(), json.dumps(versions or {}, separators=COMPACT),
                        cause, times, malformed, failed_stage(stages) if status == "rolled_back" else None))
    return rows
