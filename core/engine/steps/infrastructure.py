"""The infrastructure stage: Terraform applied through the hook the composition root gives (or skipped)."""

from __future__ import annotations

from core.engine.context import StepContext
from core.engine.tick import Tick
from core.model.deployment import Deployment, StageStatus
from core.model.rollout import Rollout


def apply_infrastructure(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    hook = ctx.ports.infrastructure
    if hook is None:
        ctx.record(deployment, "note", "infrastructure skipped",
                   {"reason": "no Terraform runner is configured yet; infrastructure was not changed"})
        ctx.finish_stage(deployment, rollout, StageStatus.SKIPPED)
        return Tick("progressed", "infrastructure skipped: no Terraform runner configured")
    version = rollout.infrastructure_version or ""
    ctx.act(deployment, "apply infrastructure", {"version": version},
            lambda: hook.apply(deployment.environment, version))
    ctx.finish_stage(deployment, rollout)
    return Tick("progressed", f"infrastructure {version} applied")
