"""Incidents as the report reads them: registry records of table "incidents", read tolerantly.

A record needs id, environment, started_at (ISO-8601 with a zone), and optionally resolved_at,
severity ("SEV1".."SEV4"), suspect_deployment_id and status ("open" | "resolved" | "aborted").
Unknown keys are ignored; a record without a usable id, environment or start is skipped and named
in the report's warnings, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.registry import Registry

TABLE = "incidents"


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    environment: str
    started: datetime
    resolved: datetime | None
    severity: str
    suspect: str | None
    status: str


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def parse_incident(key: str, record: Mapping[str, Any]) -> Incident | str:
    """The incident, or one sentence saying why the record was skipped."""
    ident = record.get("id") or key
    environment = record.get("environment")
    started = _moment(record.get("started_at"))
    if not isinstance(ident, str) or not isinstance(environment, str) or not environment:
        return f"incident record {key!r} was skipped: it names no environment"
    if started is None:
        return f"incident {ident} was skipped: its started_at {record.get('started_at')!r} is not an ISO-8601 time"
    resolved = _moment(record.get("resolved_at"))
    if record.get("resolved_at") and resolved is None:
        return f"incident {ident} was skipped: its resolved_at {record.get('resolved_at')!r} is not an ISO-8601 time"
    if resolved is not None and resolved < started:
        return f"incident {ident} was skipped: it is resolved ({resolved:%Y-%m-%d %H:%M}) before it started"
    status = record.get("status")
    status = status if status in ("open", "resolved", "aborted") else ("resolved" if resolved else "open")
    suspect = record.get("suspect_deployment_id")
    severity = record.get("severity")
    return Incident(id=ident, environment=environment, started=started, resolved=resolved,
                    severity=severity if isinstance(severity, str) else "", status=status,
                    suspect=suspect if isinstance(suspect, str) and suspect else None)


def read_incidents(registry: Registry, start: datetime, end: datetime,
                   environment: str | None) -> tuple[list[Incident], list[str]]:
    """Incidents started in [start, end) (in the environment, if one), oldest first, and warnings."""
    found: list[Incident] = []
    warnings: list[str] = []
    for key, record in sorted(registry.records(TABLE).items()):
        parsed = parse_incident(key, record) if isinstance(record, Mapping) else f"incident record {key!r} was skipped"
        if isinstance(parsed, str):
            warnings.append(parsed)
        elif start <= parsed.started < end and environment in (None, parsed.environment):
            found.append(parsed)
    found.sort(key=lambda incident: incident.started)
    return found, warnings
