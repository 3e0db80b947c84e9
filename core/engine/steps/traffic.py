"""Traffic steps: the planned weight (or the operator's) put on the new revision, verified, judged, held."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.engine.context import StepContext
from core.engine.steps.analysis import advance, analyse
from core.engine.steps.verification import after_failed_verification, run_checks
from core.engine.tick import Tick
from core.model.deployment import Deployment
from core.model.events import WeightChanged
from core.model.rollout import Rollout


def route(ctx: StepContext, deployment: Deployment, rollout: Rollout, percent: int) -> None:
    """Serve `percent` on the new revision (the rest on stable), unless that is already what is served."""
    cloudrun = ctx.ports.cloudrun(deployment.environment)
    split = rollout.split(percent)
    ctx.act(deployment, "set traffic", {"split": split, "percent": percent},
            lambda: cloudrun.set_traffic(rollout.service, split, rollout.tags()),
            in_place=dict(cloudrun.get_service(rollout.service).traffic) == split)
    rollout.weight = percent
    now = ctx.ports.now()
    rollout.routed_at = rollout.window_start = now.isoformat()
    rollout.analysis = {}  # a new weight starts new evidence
    ctx.emit(WeightChanged(deployment.id, deployment.environment, now, rollout.new_revision or "", percent, split))


def set_traffic(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    assert stage is not None and stage.traffic_percent is not None
    if rollout.routed_stage != rollout.stage:
        if stage.needs_operator and rollout.approved_through < rollout.stage:
            return ctx.wait(deployment, rollout, f"promote to {stage.traffic_percent} % when ready "
                            f"(opsconsole promote {deployment.environment})", operator=True)
        if rollout.verification_blocks:
            return after_failed_verification(ctx, deployment, rollout)
        route(ctx, deployment, rollout, stage.traffic_percent)
        rollout.routed_stage = rollout.stage
        ctx.save(deployment, rollout)
        return Tick("progressed", f"{stage.traffic_percent} % of traffic on {rollout.new_revision}")
    if stage.validation and stage.validation.checks and rollout.verified_stage != rollout.stage:
        run_checks(ctx, deployment, rollout, list(stage.validation.checks))
        if rollout.verification_blocks:
            return after_failed_verification(ctx, deployment, rollout)
        return Tick("progressed", "verified at this weight")
    if stage.monitoring and stage.validation and stage.validation.judge:
        return analyse(ctx, deployment, rollout, stage.monitoring.window_s)
    if stage.pause_after_s:
        until = datetime.fromisoformat(rollout.routed_at or ctx.ports.now().isoformat()) + \
            timedelta(seconds=stage.pause_after_s)
        if ctx.ports.now() < until:
            return ctx.wait(deployment, rollout, f"pausing {stage.pause_after_s} s before the next batch",
                            seconds=(until - ctx.ports.now()).total_seconds())
    return advance(ctx, deployment, rollout, f"{stage.traffic_percent} % holds")


def apply_manual_weight(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    weight = rollout.manual_weight
    assert weight is not None
    route(ctx, deployment, rollout, weight)
    rollout.manual_weight = None
    ctx.save(deployment, rollout)
    return Tick("progressed", f"weight set by hand to {weight} %")
