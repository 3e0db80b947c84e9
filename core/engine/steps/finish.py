"""The end of a deployment that succeeded: the new revision tagged stable, the old one kept addressable."""

from __future__ import annotations

from core.engine.context import StepContext
from core.engine.pages import resolve_open_pages
from core.engine.tick import Tick
from core.model.deployment import Deployment, DeploymentStatus
from core.model.rollout import STABLE_TAG, Rollout
from core.strategies import PREVIOUS_REVISION_TAG


def finalize(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    new = rollout.new_revision
    if new and rollout.weight >= 100:
        # The new revision is stable now; the old one keeps a tag so a switch-back stays instant.
        cloudrun = ctx.ports.cloudrun(deployment.environment)
        tags: dict[str, str | None] = {STABLE_TAG: new}
        if rollout.stable_revision and stage is not None and stage.tag:
            tags[stage.tag or PREVIOUS_REVISION_TAG] = rollout.stable_revision
        ctx.act(deployment, "retag stable", {"tags": tags},
                lambda: cloudrun.set_traffic(rollout.service, {new: 100}, tags),
                in_place={t: r for t, r in cloudrun.get_service(rollout.service).tags.items() if t in tags} == tags)
    if stage is not None:
        deployment = ctx.finish_stage(deployment, rollout)
    summary = f"{deployment.environment} now runs {ctx.describe_versions(deployment.versions)}"
    ctx.notify(deployment, f"deployment {deployment.id} succeeded: {summary}")
    resolve_open_pages(ctx, deployment)
    return ctx.end(deployment, rollout, DeploymentStatus.SUCCEEDED, summary)
