"""The shape an incident record must have before guided recovery, `incident` commands or a postmortem use it.

Records live in the registry's "incidents" table, which the reports read tolerantly (a record they cannot use
is skipped with a warning). Recovery acts on a record, so one of the wrong shape is damage: refused in one
sentence naming the registry file, the record and the field (exit 1, as for a damaged registry), never a
KeyError halfway through a postmortem. Unknown keys are allowed: records grow as recovery goes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.recovery.runbook import RunbookStep
from core.registry.errors import RegistryRecordDamaged


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class _Entry(_Open):
    seq: int
    at: str
    actor: str
    kind: str
    step: str | None = None
    summary: str = ""
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class _Scope(_Open):
    components: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)


class _Classification(_Open):
    scope: _Scope = Field(default_factory=_Scope)
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    signals: list[str] = Field(default_factory=list)


class _Plan(_Open):
    environment: str
    failure_type: str
    runbook: str
    title: str
    estimate_s: float
    dropped: list[str] = Field(default_factory=list)
    steps: list[RunbookStep]


class IncidentRecord(_Open):
    id: str
    environment: str
    started_at: str
    resolved_at: str | None = None
    severity: str
    status: Literal["open", "resolved", "aborted"]
    suspect_deployment_id: str | None = None
    timeline: list[_Entry] = Field(default_factory=list)
    root_cause: str = ""
    time_to_restore_s: float | None = None
    cursor: int = Field(default=0, ge=0)
    jumped_to: list[str] = Field(default_factory=list)
    classification: _Classification | None = None
    plan: _Plan | None = None
    summary: str = ""
    failure_type: str = ""
    validation: dict[str, Any] | None = None


def incident_problem(record: Any, key: str) -> str | None:
    """Why a stored incident record cannot be used (a phrase naming the record and field), or None."""
    try:
        IncidentRecord.model_validate(record)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) if str(part).isprintable() else repr(str(part)) for part in first["loc"])
        message = str(first["msg"])
        return f"incident {key!r}: field {field or '(the record)'}: {message[:1].lower() + message[1:]}"
    if record["id"] != key:
        return f"incident {key!r} is headed {record['id']!r}"
    return None


def checked(record: Any, key: str, registry: Path | str) -> dict[str, Any]:
    """``record`` if it has an incident's shape; RegistryRecordDamaged naming the registry, record and field."""
    problem = incident_problem(record, key)
    if problem is not None:
        raise RegistryRecordDamaged(registry, problem)
    return dict(record)
