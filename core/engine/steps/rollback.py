"""Rolling a running deployment back: traffic to stable, the frontend to its previous build, then stable checked.

The engine's own rollback pages as the environment's rule says (`automatic_rollback`) and resolves that page at
once when the stable revision answers healthy afterwards; a rollback a person asked for is `operator_rollback`
(Slack only, by default): they know already, nobody needs waking. A rollback whose checks afterwards fail (stable
unhealthy, or the frontend it went back to not serving its pages) is recorded as failed, the deployment's outcome is
failed whoever asked, and it is announced as `rollback_failed` instead (a page in production) under the same key.
"""

from __future__ import annotations

from core.engine.context import StepContext
from core.engine.frontend_back import frontend_serves, rollback_target
from core.engine.tick import Tick
from core.errors import OperationFailed, OpsError
from core.model.deployment import Deployment, DeploymentStatus, StageStatus
from core.model.events import RolledBack, WeightChanged, rolled_back_words
from core.model.paging import resolution
from core.model.rollout import Rollout
from core.verify import VerifyTarget, verify_revision


def roll_back(ctx: StepContext, deployment: Deployment, rollout: Rollout, cause: str, actor: str) -> Tick:
    """Traffic back to stable, frontend back to its previous deployment, then verify stable and record why.
    A deployment that never sent anything to the cloud has nothing to roll back: it is cancelled instead."""
    if not any(event.kind == "intent" for event in ctx.registry.events(deployment.id)):
        return cancel(ctx, deployment, rollout, cause, actor)
    env = deployment.environment
    cloudrun = ctx.ports.cloudrun(env)
    steps = []
    if rollout.new_revision and rollout.stable_revision and rollout.routed_stage >= 0:
        wanted = {rollout.stable_revision: 100}
        ctx.act(deployment, "roll back traffic", {"split": wanted, "cause": cause},
                lambda: cloudrun.set_traffic(rollout.service, wanted, rollout.tags()),
                in_place=dict(cloudrun.get_service(rollout.service).traffic) == wanted)
        steps.append(f"traffic 100 % on {rollout.stable_revision}")
        rollout.weight = 0
        ctx.emit(WeightChanged(deployment.id, env, ctx.ports.now(), rollout.new_revision, 0, wanted))
    frontend_back: tuple[bool, str] | None = None
    if rollout.frontend_promoted and rollout.frontend_previous:
        step, frontend_back = _frontend_back(ctx, deployment, rollout, cause)
        steps.append(step)
    healthy, check = stable_health(ctx, env, rollout.service, rollout.stable_revision)
    if frontend_back is not None:
        healthy, check = healthy and frontend_back[0], f"{check}; {frontend_back[1]}"
    rollout.abort = None
    ctx.record(deployment, "done" if healthy else "failed", "rollback",
               {"cause": cause, "steps": steps, "stable_check": check}, actor=actor)
    ctx.emit(RolledBack(deployment.id, env, ctx.ports.now(), cause, actor))
    if healthy:
        said = ctx.announcement(deployment, "automatic_rollback" if actor == "engine" else "operator_rollback",
                                f"deployment {deployment.id} to {env} {rolled_back_words(cause)}")
    else:
        said = ctx.announcement(deployment, "rollback_failed", f"deployment {deployment.id} to {env} rolled back "
                                f"({cause}), but the checks afterwards failed: {check}")
    ctx.announce(deployment, said)
    if said.pagerduty == "page" and healthy:
        ctx.announce(deployment, resolution(env, f"{env} is healthy again after rolling back deployment "
                                                 f"{deployment.id}: {check}", said.dedup_key))
    if rollout.stage < len(rollout.plan.stages):
        deployment = ctx.mark_stage(deployment, rollout, StageStatus.FAILED)
    return ctx.end(deployment, rollout, DeploymentStatus.ROLLED_BACK, rolled_back_words(cause) + (
        "" if healthy else f"; the checks afterwards failed: {check}"), cause=cause,
        metadata={"rollback_verified": healthy})


def _frontend_back(ctx: StepContext, deployment: Deployment, rollout: Rollout,
                   cause: str) -> tuple[str, tuple[bool, str]]:
    """The frontend back on the deployment production served before this one (or, if Vercel would refuse that one,
    the newest it allows), then checked where users reach it: (the step taken, (passed, the check's line))."""
    frontend, project, previous = ctx.ports.frontend, rollout.frontend_project, rollout.frontend_previous
    live = frontend.production_deployment(project)
    asked = [str(e.detail["to"]) for e in ctx.registry.events(deployment.id)
             if e.kind == "intent" and e.action == "roll back frontend" and e.detail.get("to")]
    if asked:  # a console that stopped after asking resumes with the same target, never a further one
        target = asked[-1]
    elif live is not None and live.id == previous:
        target = previous
    else:
        try:
            target = rollback_target(frontend, project, preferred=previous).id
        except OperationFailed as refused:
            said = f"frontend not rolled back: {refused}"
            return said, (False, said)
    ctx.act(deployment, "roll back frontend", {"to": target, "cause": cause},
            lambda: frontend.rollback(project, target), in_place=live is not None and live.id == target)
    rollout.frontend_promoted = False
    websocket_url = ctx.environment(deployment.environment).application.websocket_url
    return f"frontend back on {target}", frontend_serves(ctx.ports, deployment.environment, project, target,
                                                         websocket_url)


def cancel(ctx: StepContext, deployment: Deployment, rollout: Rollout, cause: str, actor: str) -> Tick:
    """End a deployment before any change (every cloud action is written ahead as an intent, and it has none):
    `cancelled`, which no report counts as a failed change."""
    rollout.abort = None
    ctx.record(deployment, "done", "cancel", {"cause": cause}, actor=actor)
    if rollout.stage < len(rollout.plan.stages):
        deployment = ctx.mark_stage(deployment, rollout, StageStatus.SKIPPED)
    return ctx.end(deployment, rollout, DeploymentStatus.CANCELLED, f"cancelled before any change: {cause}",
                   cause=cause)


def verify_stable(ctx: StepContext, env: str, service: str, revision_name_: str | None) -> str:
    """Health of the revision traffic went back to, in one line (a rollback reports it, never fails on it)."""
    return stable_health(ctx, env, service, revision_name_)[1]


def stable_health(ctx: StepContext, env: str, service: str, revision_name_: str | None) -> tuple[bool, str]:
    """Whether the revision traffic went back to passes its health check, and the line that says so."""
    if not revision_name_:
        return False, "no stable revision to check"
    try:
        state = ctx.ports.cloudrun(env).get_service(service)
        revision = state.revision(revision_name_)
        if revision is None:
            return False, f"stable revision {revision_name_} not found"
        config = ctx.environment(env)
        target = VerifyTarget.from_revision(config, revision)
        if not revision.url and dict(state.traffic) == {revision.name: 100}:
            # Untagged, but it takes all traffic: the service's own URL reaches it (and only it), as users do.
            target = VerifyTarget(environment=env, service=service, revision=revision.name, url=state.uri,
                                  config=config)
        report = verify_revision(target, ["health"], metrics=None,
                                 criteria=config.strategy.criteria.model_copy(update={"required_checks": ["health"]}),
                                 window=None, profile=ctx.ports.profile, now=ctx.ports.now)
        return report.passed, report.summary
    except OpsError as exc:
        return False, f"could not verify stable: {exc}"
