"""The public view of one deployment: what a script or a screen may rely on, built once from the Deployment and its
Rollout, instead of `metadata.rollout` (about 30 internal fields that change as the engine does).

Its fields (`to_dict()`; documented in docs/CLI.md, "The deployment view"):

    id, environment, status, strategy, actor, versions, started_at, ended_at, rollback_cause
    mode            "auto" (steps advance on the judge's pass) or "manual" (a person promotes); None without a plan
    stage           {"index", "of", "name", "kind"}: the step it is at (None once past the last, or without a plan)
    stages          [{"name", "status"}]: every step of the plan as carried out
    weight          percent of traffic on the new revision
    split           {revision: percent} as the rollout has routed it (sums to 100)
    stable_revision, new_revision
    next_step       the step a promote would let run ("canary 50 %"), None when no promote is possible
    waiting_for     what it waits on, in one sentence (None when it is moving or has ended)
    waits_for_person  whether that is a person's step (approve, promote, resume) rather than time or the judge
    paused          whether a person paused it
    approval        {"by", "at"} once approved, else None
    verdict         the judge on the current step: {"outcome", "action", "explanation", "at", "weight", "windows",
                    "partial"}
                    of the last judged window (None before the first); outcome is pass, fail, inconclusive or
                    no_data, action promote_allowed, hold or rollback; stream is the evidence that decided it:
                    "monitoring" (Cloud Monitoring's served traffic) or "probes" (the engine's own probes, which
                    only ever roll back)
    probes          the engine's probe stream on the current weight: {"windows", "outcome", "decision", "at"} of its
                    last burst (None when the strategy's probes are off or none was sent yet)
    verification    {"passed", "summary"} of the last verification, else None
    overrides       [{"what", "by", "reason", "at"}]: checks a person promoted past, with their reason
    frontend        {"previous", "new", "promoted"} when the deployment carries a frontend, else None

`outcome_of` is the rule that turns how a deployment stands into a command's outcome (core.outcome).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.analysis.streams import Stream
from core.model.deployment import TERMINAL_STATUSES, Deployment, DeploymentStatus
from core.model.rollout import Rollout
from core.outcome import Outcome


@dataclass(frozen=True)
class DeploymentView:
    id: str
    environment: str
    status: str
    strategy: str
    actor: str
    versions: dict[str, str]
    started_at: str
    ended_at: str | None
    rollback_cause: str | None
    mode: str | None = None
    stage: dict[str, Any] | None = None
    stages: list[dict[str, str]] = field(default_factory=list)
    weight: int = 0
    split: dict[str, int] = field(default_factory=dict)
    stable_revision: str | None = None
    new_revision: str | None = None
    next_step: str | None = None
    waiting_for: str | None = None
    waits_for_person: bool = False
    paused: bool = False
    approval: dict[str, Any] | None = None
    verdict: dict[str, Any] | None = None
    probes: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None
    overrides: list[dict[str, Any]] = field(default_factory=list)
    frontend: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def deployment_view(deployment: Deployment) -> DeploymentView:
    """The public view of `deployment` (one with no rollout status, e.g. a recorded rollback, has no steps)."""
    base = DeploymentView(
        id=deployment.id, environment=deployment.environment, status=str(deployment.status),
        strategy=deployment.strategy, actor=deployment.actor, versions=dict(deployment.versions),
        started_at=deployment.started_at.isoformat(),
        ended_at=deployment.ended_at.isoformat() if deployment.ended_at else None,
        rollback_cause=deployment.rollback_cause,
        stages=[{"name": s.name, "status": str(s.status)} for s in deployment.stages])
    if "rollout" not in deployment.metadata:
        return base
    rollout = Rollout.of(deployment)
    ended = deployment.status in TERMINAL_STATUSES
    current = rollout.current
    follows = rollout.next_step()
    return replace(
        base,
        mode=rollout.mode,
        stage=None if current is None else {"index": rollout.stage, "of": len(rollout.plan.stages),
                                            "name": current.name, "kind": str(current.kind)},
        weight=rollout.weight,
        split=rollout.split(rollout.weight),
        stable_revision=rollout.stable_revision,
        new_revision=rollout.new_revision,
        next_step=None if ended or follows is None else rollout.step_name(follows),
        waiting_for=None if ended or not rollout.waiting_for else rollout.waiting_for,
        waits_for_person=not ended and rollout.waits_for_person,
        paused=rollout.paused,
        approval=None if rollout.approval is None else {"by": rollout.approval.get("actor"),
                                                        "at": rollout.approval.get("at")},
        verdict=_verdict(rollout),
        probes=_probes(rollout),
        verification=None if rollout.verification is None else {
            "passed": not rollout.verification_failed, "summary": rollout.verification.get("summary", "")},
        overrides=[{"what": o.get("what"), "by": o.get("actor"), "reason": o.get("reason"), "at": o.get("at")}
                   for o in rollout.overrides],
        frontend=None if not rollout.frontend_ref else {"previous": rollout.frontend_previous,
                                                        "new": rollout.frontend_new,
                                                        "promoted": rollout.frontend_promoted},
    )


def _verdict(rollout: Rollout) -> dict[str, Any] | None:
    """The last judged window, as the judge decided it then (the rollout keeps every one, for the screens)."""
    if not rollout.verdicts:
        return None
    last = rollout.verdicts[-1]
    return {"outcome": last.get("outcome"), "action": last.get("action"), "explanation": last.get("decision"),
            "at": last.get("at"), "weight": last.get("weight"), "windows": last.get("windows"),
            "partial": bool(last.get("partial")),
            "stream": last.get("stream", Stream.MONITORING.value)}  # older records: Monitoring's


def _probes(rollout: Rollout) -> dict[str, Any] | None:
    """The probe stream's last look at the weight routed now (core.engine.steps.probes keeps it)."""
    state = rollout.probes
    last = state.get("last")
    if not last or state.get("routed_at") != rollout.routed_at:
        return None
    return {"windows": len(state.get("windows", [])), "outcome": last.get("outcome"),
            "decision": last.get("decision"), "at": last.get("at")}


def outcome_of(deployment: Deployment, *, waits_for_person: bool, rollback_asked: bool = False) -> Outcome:
    """What a command that carried `deployment` on reports: done when it succeeded (or, for the person who asked
    for it, when it was rolled back and the checks afterwards passed), waiting when the next step is a person's,
    failed when it ended otherwise."""
    if deployment.status is DeploymentStatus.ROLLED_BACK:
        verified = deployment.metadata.get("rollback_verified") is not False  # absent: recorded before it was kept
        return Outcome.DONE if rollback_asked and verified else Outcome.FAILED
    if deployment.status in (DeploymentStatus.FAILED, DeploymentStatus.ABORTED):
        return Outcome.FAILED
    if waits_for_person and deployment.status not in TERMINAL_STATUSES:
        return Outcome.WAITING
    return Outcome.DONE
