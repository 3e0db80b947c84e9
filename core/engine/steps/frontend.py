"""The frontend on Vercel: a build of the ref (adopted after a crash), its promotion, and its verification."""

from __future__ import annotations

from datetime import timedelta

from core.engine.context import StepContext
from core.engine.frontend_back import page_headers
from core.engine.steps.revision import POLL_S, fail
from core.engine.steps.rollback import roll_back
from core.engine.tick import Tick
from core.model.deployment import Deployment
from core.model.events import VerificationDone
from core.model.frontend import VercelDeployment
from core.model.rollout import Rollout
from core.verify.frontend import check_hosts


def deploy_frontend(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    frontend, project = ctx.ports.frontend, rollout.frontend_project
    if rollout.frontend_previous is None:
        current = frontend.production_deployment(project)
        rollout.frontend_previous = current.id if current else ""
        deployment = ctx.save(deployment, rollout)
    if rollout.frontend_new is None:
        rollout.frontend_new = _adopt_or_create(ctx, deployment, rollout)
        deployment = ctx.save(deployment, rollout)
    built = frontend.get_deployment(rollout.frontend_new)
    if built.state in ("ERROR", "CANCELED"):
        return fail(ctx, deployment, rollout, f"frontend build {built.id} ended {built.state}: "
                    f"{built.error_message or 'Vercel gave no reason'}")
    if not built.ready:
        return ctx.wait(deployment, rollout, f"frontend build {built.id} is {built.state.lower()}", seconds=POLL_S)
    ctx.finish_stage(deployment, rollout)
    return Tick("progressed", f"frontend build {built.id} is ready (not yet promoted)")


def _adopt_or_create(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> str:
    """A build this deployment asked for before a crash is adopted instead of being created again."""
    frontend, project, ref = ctx.ports.frontend, rollout.frontend_project, rollout.frontend_ref
    assert ref
    asked = [e for e in ctx.registry.events(deployment.id) if e.action == "create frontend build"]
    if asked:
        since = asked[0].at - timedelta(seconds=5)
        for candidate in frontend.list_deployments(project, limit=20):
            if candidate.git_ref == ref and candidate.created_at >= since:
                ctx.record(deployment, "done", "create frontend build", {"deployment": candidate.id,
                                                                             "adopted": True})
                return candidate.id
    created: VercelDeployment = ctx.act(deployment, "create frontend build", {"project": project, "ref": ref},
                                        lambda: frontend.create_deployment(project, ref, target="production"))
    return created.id


def promote_frontend(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    new = rollout.frontend_new
    assert stage is not None and new
    if stage.needs_operator and rollout.approved_through < rollout.stage:
        return ctx.wait(deployment, rollout, "promote the frontend to production when ready "
                        f"(opsconsole promote {deployment.environment})", operator=True)
    frontend, project = ctx.ports.frontend, rollout.frontend_project
    live = frontend.production_deployment(project)
    ctx.act(deployment, "promote frontend", {"project": project, "deployment": new},
            lambda: frontend.promote(project, new), in_place=live is not None and live.id == new)
    rollout.frontend_promoted = True
    ctx.finish_stage(deployment, rollout)
    return Tick("progressed", f"frontend {rollout.frontend_new} promoted to production")


def verify_frontend(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    """The frontend verified on what Vercel reports (the build is READY; once promoted, it is production) and on what
    users get: its pages fetched from the deployment's own URL before promotion, from production's aliases after."""
    stage = rollout.current
    assert stage is not None and rollout.frontend_new
    frontend = ctx.ports.frontend
    built = frontend.get_deployment(rollout.frontend_new)
    in_production = stage.validation is not None and stage.validation.target == "production_url"
    problems = [] if built.ready else [f"build {built.id} is {built.state}"]
    hosts = [built.url]
    if in_production:
        live = frontend.production_deployment(rollout.frontend_project)
        if live is None or live.id != built.id:
            problems.append(f"production serves {live.id if live else 'nothing'}, not {built.id}")
        hosts = list(live.aliases) if live is not None else []
    if not problems:
        websocket_url = ctx.environment(deployment.environment).application.websocket_url
        problems = check_hosts(ctx.ports.web, hosts, websocket_url,
                               headers=page_headers(ctx.ports, deployment.environment))
    where = " and serves production" if in_production else ""
    summary = "; ".join(problems) or f"frontend {built.id} is ready{where}; its pages load from {', '.join(hosts)}"
    ctx.record(deployment, "failed" if problems else "done", "verify frontend", {"summary": summary})
    ctx.emit(VerificationDone(deployment.id, deployment.environment, ctx.ports.now(), not problems, summary))
    if problems:
        return roll_back(ctx, deployment, rollout, f"frontend verification failed: {summary}", "engine")
    ctx.finish_stage(deployment, rollout)
    return Tick("progressed", summary)
