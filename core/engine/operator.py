"""Operator actions on a running deployment: approve, promote, set weight, pause, resume, roll back.

Each action checks access and the deployment's state, then records the operator's request in the
rollout status (who and when, in the event log too); the driver applies it on its next tick. The
same functions serve the TUI's keys and the CLI's commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.analysis import Action, AnalysisHistory
from core.engine.rollout import Rollout, judge_settings
from core.errors import BadInput, OperationFailed
from core.registry import Deployment
from core.strategies import StageKind

if TYPE_CHECKING:
    from core.engine.engine import Engine


class PromotionBlocked(OperationFailed):
    """Promotion refused by a failed check or a holding judge: an override with a reason gets past it."""


def _running(engine: Engine, env: str) -> tuple[Deployment, Rollout]:
    engine.check_access(env)
    deployment = engine.active(env)
    if deployment is None:
        raise OperationFailed(f"{env} has no deployment in progress")
    return deployment, Rollout.of(deployment)


def _request(engine: Engine, deployment: Deployment, rollout: Rollout, action: str,
             detail: dict[str, Any] | None = None) -> Deployment:
    rollout.waiting_for = ""
    saved = engine.save(deployment, rollout)
    engine.record(deployment, "request", action, {"at": engine.ports.now().isoformat(), **(detail or {})})
    return saved


def approve(engine: Engine, env: str) -> Deployment:
    """Record the approval an environment with `requires_approval` waits for (by an allowed operator)."""
    deployment, rollout = _running(engine, env)
    if rollout.approval is not None:
        raise OperationFailed(f"deployment {deployment.id} was already approved by {rollout.approval['actor']}")
    rollout.approval = {"actor": engine.operator, "at": engine.ports.now().isoformat()}
    return _request(engine, deployment, rollout, "approve")


def promote(engine: Engine, env: str, *, override: str | None = None) -> Deployment:
    """Let the next step that waits for the operator run (the next canary weight, or the frontend promotion).

    Refused while verification has failed or the judge does not allow it, unless `override` gives a
    reason: the override is recorded with the operator's name and shown in the deployment's history.
    """
    deployment, rollout = _running(engine, env)
    if engine.environment(env).requires_approval and rollout.approval is None:
        raise OperationFailed(f"deployment {deployment.id} needs an approval first (opsconsole approve {env})")
    target = rollout.next_operator_stage()
    stage = rollout.current
    judged = stage is not None and stage.kind in (StageKind.SET_TRAFFIC, StageKind.OBSERVE) \
        and rollout.routed_stage == rollout.stage and stage.validation is not None and stage.validation.judge
    if target is None and judged:
        target = rollout.stage + 1  # an auto step that the judge holds: only an override moves it on
    if target is None:
        raise OperationFailed(f"deployment {deployment.id} has no step waiting for the operator; it runs on its own")
    blockers = []
    if rollout.verification_failed and not rollout.overridden("verification"):
        blockers.append(("verification", f"verification failed: {(rollout.verification or {}).get('summary', '')}"))
    if judged:
        decision = AnalysisHistory.from_dict(rollout.analysis, rollout.plan.criteria, rollout.plan.triggers,
                                             settings=judge_settings(rollout)).decision()
        if decision.action is not Action.PROMOTE_ALLOWED:
            blockers.append((f"analysis@{rollout.stage}", decision.explanation))
    if blockers and not override:
        raise PromotionBlocked(f"not promoting {env}: {blockers[0][1]}; give an override reason to promote anyway")
    for what, why in blockers:
        rollout.overrides.append({"what": what, "actor": engine.operator, "reason": override,
                                  "overrode": why, "at": engine.ports.now().isoformat()})
    rollout.approved_through = target
    step = rollout.plan.stages[min(target, len(rollout.plan.stages) - 1)]
    return _request(engine, deployment, rollout, "promote", {"to": step.name, "override": override or ""})


def set_weight(engine: Engine, env: str, percent: int) -> Deployment:
    """Put `percent` of traffic on the new revision by hand (0 sends it all to stable without ending)."""
    if not 0 <= percent <= 100:
        raise BadInput(f"weight must be between 0 and 100, got {percent}")
    deployment, rollout = _running(engine, env)
    if not rollout.new_revision or rollout.routed_stage < 0:
        raise OperationFailed(f"deployment {deployment.id} has not started moving traffic yet; promote it first")
    if percent > rollout.weight and rollout.verification_failed and not rollout.overridden("verification"):
        raise OperationFailed("verification failed: traffic cannot be raised without an override")
    rollout.manual_weight = percent
    return _request(engine, deployment, rollout, "set weight", {"percent": percent})


def pause(engine: Engine, env: str) -> Deployment:
    deployment, rollout = _running(engine, env)
    if rollout.paused:
        raise OperationFailed(f"deployment {deployment.id} is already paused")
    rollout.paused = True
    return _request(engine, deployment, rollout, "pause")


def resume(engine: Engine, env: str) -> Deployment:
    deployment, rollout = _running(engine, env)
    if not rollout.paused:
        raise OperationFailed(f"deployment {deployment.id} is not paused")
    rollout.paused = False
    return _request(engine, deployment, rollout, "resume")


def abort(engine: Engine, env: str, reason: str) -> Deployment:
    """Roll the running deployment back (traffic to stable, frontend to previous) on the next tick."""
    if not reason.strip():
        raise BadInput("say why you roll back: the reason is recorded as the deployment's rollback cause")
    deployment, rollout = _running(engine, env)
    rollout.abort = {"cause": f"rolled back by {engine.operator}: {reason}", "actor": engine.operator}
    rollout.paused = False
    return _request(engine, deployment, rollout, "roll back", {"reason": reason})
