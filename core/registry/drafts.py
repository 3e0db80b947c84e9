"""From a validated draft to the Deployment a registry stores: the one rule both backends follow."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from core.errors import BadInput
from core.registry.ids import new_deployment_id
from core.registry.models import (
    TERMINAL_STATUSES,
    Deployment,
    DeploymentDraft,
    DeploymentStatus,
    EventDraft,
    StageRecord,
    StepEvent,
)
from core.registry.validation import as_status, validate


def new_deployment(draft: DeploymentDraft, now: datetime, taken: set[str], what: str,
                   exists: Callable[[str], bool]) -> Deployment:
    """The deployment with a fresh id (re-drawn while `taken` or `exists` holds it) and its times checked."""
    started = draft.started_at or now
    terminal = draft.status in TERMINAL_STATUSES
    if draft.ended_at is not None and not terminal:
        raise BadInput(f"{what} sets ended_at, but status {draft.status} is not terminal")
    ended = (draft.ended_at or now) if terminal else None
    if ended is not None and ended < started:
        raise BadInput(f"{what} has ended_at {ended} before started_at {started}")
    ident = new_deployment_id(started)
    while ident in taken or exists(ident):
        ident = new_deployment_id(started)
    taken.add(ident)
    fields = {name: getattr(draft, name) for name in DeploymentDraft.model_fields}
    fields.update(id=ident, started_at=started, ended_at=ended, created_at=now, updated_at=now)
    # Every field was validated in the draft; the rest we made ourselves.
    return Deployment.model_construct(**fields)


def history_events(deployment: Deployment, drafts: list[EventDraft]) -> list[StepEvent]:
    """An imported deployment's events, numbered from 1, at the deployment's start when they carry no time."""
    return [
        StepEvent.model_construct(
            deployment_id=deployment.id, seq=seq, at=event.at or deployment.started_at,
            kind=event.kind, action=event.action, actor=event.actor, detail=event.detail,
        )
        for seq, event in enumerate(drafts, start=1)
    ]


def updated_deployment(current: Mapping[str, Any], deployment_id: str, now: datetime, *,
                       status: DeploymentStatus | str | None, stages: Sequence[StageRecord | Mapping[str, Any]] | None,
                       rollback_cause: str | None, metadata: Mapping[str, Any] | None,
                       ended_at: datetime | None) -> Deployment:
    """A stored unfinished deployment with a change applied, checked: the one update rule both backends follow.

    `stages` replaces the list; `metadata` is merged key by key; a terminal status ends it (at `ended_at`, or now).
    """
    changes: dict[str, Any] = {"updated_at": now}
    new_status = DeploymentStatus(current["status"])
    if status is not None:
        new_status = as_status(status, "status")
        changes["status"] = new_status
    if stages is not None:
        changes["stages"] = list(stages)
    if rollback_cause is not None:
        changes["rollback_cause"] = rollback_cause
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise BadInput(f"metadata for deployment {deployment_id} must be a mapping of keys to values")
        changes["metadata"] = {**current["metadata"], **metadata}
    if new_status in TERMINAL_STATUSES:
        changes["ended_at"] = now if ended_at is None else ended_at
    elif ended_at is not None:
        raise BadInput(f"ended_at for deployment {deployment_id} can only be set with a terminal status, "
                       f"not {new_status}")
    updated = validate(Deployment, {**current, **changes}, f"update of deployment {deployment_id}")
    if updated.ended_at is not None and updated.ended_at < updated.started_at:
        raise BadInput(f"ended_at of deployment {deployment_id} is before its start ({updated.started_at})")
    return updated
