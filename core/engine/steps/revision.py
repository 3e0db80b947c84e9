"""The new revision: created on Cloud Run with no traffic, found again after a crash, failed when it never starts."""

from __future__ import annotations

from core.engine.context import StepContext
from core.engine.steps.rollback import roll_back
from core.engine.tick import Tick
from core.model.deployment import Deployment, DeploymentStatus, StageStatus
from core.model.rollout import Rollout
from core.model.service import revision_name
from core.ports import RevisionFailed

POLL_S = 2.0


def deploy_revision(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    service, cloudrun = rollout.service, ctx.ports.cloudrun(deployment.environment)
    image, tag = rollout.image, rollout.new_tag
    assert image and tag
    name = revision_name(service, tag, image)
    if rollout.new_revision != name:
        rollout.new_revision = name
        deployment = ctx.save(deployment, rollout)
    revision = cloudrun.get_service(service).revision(name)
    detail = {"service": service, "image": rollout.image, "tag": rollout.new_tag, "revision": name}
    if revision is None:
        try:
            ctx.act(deployment, "deploy revision", detail,
                    lambda: cloudrun.deploy_revision(service, image, tag, wait=False))
        except RevisionFailed as exc:
            return fail(ctx, deployment, rollout, str(exc))
        return ctx.wait(deployment, rollout, f"revision {name} is starting", seconds=POLL_S)
    ctx.act(deployment, "deploy revision", detail, lambda: None, in_place=True)  # closes an intent left open
    if revision.failed:
        return fail(ctx, deployment, rollout, f"revision {name} did not become ready: {revision.message}")
    if not revision.ready:
        return ctx.wait(deployment, rollout, f"waiting for revision {name} to become ready", seconds=POLL_S)
    ctx.finish_stage(deployment, rollout)
    return Tick("progressed", f"revision {name} is ready with no traffic")


def fail(ctx: StepContext, deployment: Deployment, rollout: Rollout, reason: str) -> Tick:
    """Nothing new ever served traffic: there is nothing to roll back, the deployment failed."""
    if rollout.weight > 0 or rollout.frontend_promoted:
        return roll_back(ctx, deployment, rollout, reason, "engine")
    deployment = ctx.mark_stage(deployment, rollout, StageStatus.FAILED)
    text = f"deployment {deployment.id} to {deployment.environment} failed: {reason}"
    ctx.announce(deployment, ctx.announcement(deployment, "deployment_failed", text))
    return ctx.end(deployment, rollout, DeploymentStatus.FAILED, reason, cause=reason)
