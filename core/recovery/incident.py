"""The incident record in the registry (table "incidents"): classification, plan, cursor and timeline.

Shape agreed with the reports: id, environment, started_at (ISO UTC), resolved_at (ISO or null), severity
"SEV1".."SEV4", suspect_deployment_id, status "open"|"resolved"|"aborted", plus timeline, classification,
root_cause and time_to_restore_s. Every timeline entry is saved as it is written, so the record is the
recovery's write-ahead log: a killed console resumes from it. A dry run keeps its incident in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.errors import BadInput
from core.recovery.incident_shape import checked
from core.registry import Registry

TABLE = "incidents"
STATUSES = ("open", "resolved", "aborted")


def iso(moment: datetime) -> str:
    return moment.isoformat()


def timeline_line(entry: dict[str, Any]) -> str:
    """One timeline entry as `opsconsole incident show` and the console's incident screen print it."""
    step = f" [{entry['step']}]" if entry.get("step") else ""
    error = f": {entry['error']}" if entry.get("error") else ""
    return f"{str(entry['at'])[11:19]} {entry['kind']:<9}{step} {entry['summary']}{error}"


class Incident:
    """One incident's record; `add` appends a timeline entry and saves the record at once."""

    def __init__(self, record: dict[str, Any], save: Callable[[dict[str, Any]], None],
                 listener: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.record = record
        self._save = save
        self.listener = listener

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def timeline(self) -> list[dict[str, Any]]:
        return list(self.record.get("timeline", []))

    def add(self, kind: str, summary: str, *, at: datetime, actor: str, step: str | None = None,
            inputs: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None,
            error: str | None = None) -> dict[str, Any]:
        entry = {"seq": len(self.record.setdefault("timeline", [])) + 1, "at": iso(at), "actor": actor, "kind": kind,
                 "step": step, "summary": summary, "inputs": dict(inputs or {}), "outputs": dict(outputs or {}),
                 "error": error}
        self.record["timeline"].append(entry)
        self.save()
        if self.listener is not None:
            self.listener(entry)
        return entry

    def update(self, **changes: Any) -> None:
        self.record.update(changes)
        self.save()

    def save(self) -> None:
        self._save(self.record)

    def step_entries(self, step_id: str) -> list[dict[str, Any]]:
        return [e for e in self.record.get("timeline", []) if e.get("step") == step_id]

    def last_outcome(self, step_id: str) -> str | None:
        """The newest intent/outcome kind of a step: intent, done, failed, skipped, dry-run, or None."""
        for entry in reversed(self.step_entries(step_id)):
            if entry["kind"] in ("intent", "done", "failed", "skipped", "dry-run"):
                return str(entry["kind"])
        return None


class IncidentStore:
    """Incidents in the registry; with `persist=False` (a dry run) nothing is written anywhere."""

    def __init__(self, registry: Registry, *, persist: bool = True) -> None:
        self.registry = registry
        self.persist = persist

    def _save(self, record: dict[str, Any]) -> None:
        if self.persist and not record.get("dry_run"):  # a looked-at incident never reaches the registry
            self.registry.put_record(TABLE, str(record["id"]), record)

    def create(self, environment: str, started_at: datetime, *, dry_run: bool = False, **fields: Any) -> Incident:
        """A new open incident; `dry_run` (or a store that does not persist) keeps it in memory only."""
        dry_run = dry_run or not self.persist
        base = f"INC-{environment}-{started_at:%Y%m%dT%H%M%SZ}"
        taken = set(self.registry.records(TABLE)) if not dry_run else set()
        incident_id, n = base, 1
        while incident_id in taken:
            n += 1
            incident_id = f"{base}-{n}"
        record = {"id": incident_id, "environment": environment, "started_at": iso(started_at), "resolved_at": None,
                  "severity": "SEV4", "suspect_deployment_id": None, "status": "open", "timeline": [],
                  "root_cause": "", "time_to_restore_s": None, "dry_run": dry_run, **fields}
        incident = Incident(record, self._save)
        incident.save()
        return incident

    def get(self, incident_id: str) -> Incident:
        found = self.registry.get_record(TABLE, incident_id)
        if found is None:
            raise BadInput(f"no incident with id {incident_id!r} in registry {self.registry.location}")
        return Incident(checked(found, incident_id, self.registry.location), self._save)

    def list(self, environment: str | None = None) -> list[dict[str, Any]]:
        """Incidents newest first; a record of the wrong shape is refused (see incident_shape.py)."""
        records = [checked(r, key, self.registry.location) for key, r in self.registry.records(TABLE).items()]
        found = [r for r in records if environment is None or r["environment"] == environment]
        return sorted(found, key=lambda r: str(r["started_at"]), reverse=True)

    def open_by_environment(self) -> dict[str, dict[str, Any]]:
        """Each environment's open incident (the newest, as `open_for` picks it), from one read of the table."""
        found: dict[str, dict[str, Any]] = {}
        for record in self.list():
            if record.get("status") == "open":
                found.setdefault(str(record["environment"]), record)
        return found

    def open_for(self, environment: str) -> Incident | None:
        """The environment's open incident (the one a new `recover` resumes), if any."""
        found = [r for r in self.list(environment) if r.get("status") == "open"]
        return Incident(found[0], self._save) if found else None
