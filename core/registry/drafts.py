"""From a validated draft to the Deployment a registry stores: the one rule both backends follow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.errors import BadInput
from core.registry.ids import new_deployment_id
from core.registry.models import TERMINAL_STATUSES, Deployment, DeploymentDraft, EventDraft, StepEvent


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
