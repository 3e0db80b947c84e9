"""Operator actions on a running deployment: approve, promote, set weight, pause, resume, roll back, verify.

Each action asks the model whether it may run now (core.model.actions: the same answer the console
greys its keys with), then records the operator's request in the rollout status (who and when, in the
event log too); the driver applies it on its next tick. The same functions serve the TUI's keys and the
CLI's commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.engine.engine import Engine
from core.engine.rollback import rollback_deployment, verify_deployment
from core.errors import BadInput, Refused
from core.model.deployment import Deployment
from core.model.rollout import Rollout
from core.verify import VerificationReport


class PromotionBlocked(Refused):
    """Promotion refused by a failed check or a holding judge: an override with a reason gets past it."""


def _allowed(engine: Engine, env: str, action: str) -> tuple[Deployment, Rollout]:
    """The running deployment and its rollout, if the model allows `action` now; refused in its words otherwise."""
    engine.check_access(env)
    deployment = engine.active(env)
    state = engine.actions(env, deployment)[action]
    if state.unavailable is not None:
        raise (PromotionBlocked if state.overridable else Refused)(state.unavailable)
    assert deployment is not None  # every operator action here needs one, and the model said so
    return deployment, Rollout.of(deployment)


def _request(engine: Engine, deployment: Deployment, rollout: Rollout, action: str,
             detail: dict[str, Any] | None = None) -> Deployment:
    rollout.waiting_for = ""
    rollout.waits_for_person = False  # a person acted: whoever drives applies it
    saved = engine.save(deployment, rollout)
    engine.record(deployment, "request", action, {"at": engine.ports.now().isoformat(), **(detail or {})})
    return saved


def approve(engine: Engine, env: str) -> Deployment:
    """Record the approval an environment with `requires_approval` waits for (by an allowed operator)."""
    deployment, rollout = _allowed(engine, env, "approve")
    rollout.approval = {"actor": engine.operator, "at": engine.ports.now().isoformat()}
    return _request(engine, deployment, rollout, "approve")


def promote(engine: Engine, env: str, *, override: str | None = None) -> Deployment:
    """Let the next step that waits for the operator run (the next canary weight, or the frontend promotion).

    Refused while verification has failed or the judge does not allow it, unless `override` gives a
    reason: the override is recorded with the operator's name and shown in the deployment's history.
    """
    if override is not None and not override.strip():
        raise BadInput("an override needs a reason: it is recorded with your name")
    deployment, rollout = _allowed(engine, env, "promote-anyway" if override else "promote")
    target = rollout.next_step()
    assert target is not None  # the model allowed the promote, so a step is there to let run
    for what, why in rollout.promotion_blockers():
        rollout.overrides.append({"what": what, "actor": engine.operator, "reason": override,
                                  "overrode": why, "at": engine.ports.now().isoformat()})
    rollout.approved_through = max(rollout.approved_through, target)
    return _request(engine, deployment, rollout, "promote", {"to": rollout.step_name(target),
                                                             "override": override or ""})


def set_weight(engine: Engine, env: str, percent: int) -> Deployment:
    """Put `percent` of traffic on the new revision by hand (0 sends it all to stable without ending)."""
    if not 0 <= percent <= 100:
        raise BadInput(f"weight must be between 0 and 100, got {percent}")
    deployment, rollout = _allowed(engine, env, "set-weight")
    if percent > rollout.weight and rollout.verification_blocks:
        raise Refused("verification failed: traffic cannot be raised without an override")
    rollout.manual_weight = percent
    return _request(engine, deployment, rollout, "set weight", {"percent": percent})


def pause(engine: Engine, env: str) -> Deployment:
    deployment, rollout = _allowed(engine, env, "pause")
    rollout.paused = True
    return _request(engine, deployment, rollout, "pause")


def resume(engine: Engine, env: str) -> Deployment:
    deployment, rollout = _allowed(engine, env, "resume")
    rollout.paused = False
    return _request(engine, deployment, rollout, "resume")


def abort(engine: Engine, env: str, reason: str) -> Deployment:
    """Roll the running deployment back (traffic to stable, frontend to previous) on the next tick."""
    if not reason.strip():
        raise BadInput("say why you roll back: the reason is recorded as the deployment's rollback cause")
    engine.check_access(env)
    deployment = engine.active(env)
    if deployment is None:
        raise Refused(f"{env} has no deployment in progress")
    rollout = Rollout.of(deployment)
    rollout.abort = {"cause": f"rolled back by {engine.operator}: {reason}", "actor": engine.operator}
    rollout.paused = False
    return _request(engine, deployment, rollout, "roll back", {"reason": reason})


@dataclass(frozen=True)
class RollbackDone:
    """What `roll_back` did: `requested` a running deployment's rollback (the driver carries it out), or rolled a
    component back at once (`deployment` is the recorded rollback, `to` the version it went back to)."""

    deployment: Deployment
    requested: bool
    component: str = ""
    to: str = ""

    def describe(self, env: str) -> str:
        if self.requested:
            return f"{env}: roll back of deployment {self.deployment.id} requested"
        if self.deployment.metadata.get("rollback_verified") is False:
            return (f"{env}: {self.component} rolled back to {self.to}, but the checks afterwards failed: "
                    f"{self.deployment.metadata.get('check')}")
        if self.component == "infrastructure":  # what the restore changed and how it was verified
            check = self.deployment.metadata.get("check")
            return f"{env}: infrastructure rolled back to known-good apply {self.to}" + (
                f"\n{check}" if isinstance(check, str) and check else "")
        return f"{env}: {self.component} rolled back to {self.to}"


def roll_back(engine: Engine, env: str, reason: str, *, component: str = "websocket-server",
              version: str | None = None) -> RollbackDone:
    """Roll back what the operator sees: the running deployment if there is one, else `component` to its previous
    version (or to `version`). The CLI's `rollback` and the console's `b` both come here."""
    if engine.active(env) is not None:
        return RollbackDone(abort(engine, env, reason), requested=True)
    done = rollback_deployment(engine, env, component, version, reason=reason)
    return RollbackDone(done, requested=False, component=component, to=next(iter(done.versions.values())))


def verify(engine: Engine, env: str) -> VerificationReport:
    """The environment's required checks on the running deployment's new revision, else on what serves now."""
    running = engine.active(env)
    return verify_deployment(engine, env, running.id if running else None)
