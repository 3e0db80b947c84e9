"""What the engine does at each kind of stage: observe what is true, then take at most one action.

Every handler first asks the provider whether the stage's effect is already in place (a restarted
engine finds its own revision, its own split, its own Vercel build) and only then acts, through
`Engine.act`, which writes the intent ahead. So a stage is never applied twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from core.analysis import Action, AnalysisHistory, WindowMetrics
from core.engine.events import Note, RolledBack, VerdictReached, VerificationDone, WeightChanged
from core.engine.load import keep_load
from core.engine.rollout import Rollout, judge_settings
from core.engine.tick import Tick
from core.errors import OpsError
from core.providers.cloudrun import RevisionFailed
from core.providers.cloudrun_traffic import revision_name
from core.providers.monitoring import RevisionMetrics
from core.registry import Deployment, DeploymentStatus, StageStatus
from core.strategies import PREVIOUS_REVISION_TAG, StageKind
from core.verify import VerifyTarget, verify_revision

if TYPE_CHECKING:
    from core.engine.engine import Engine

STABLE_TAG = "stable"
POLL_S = 2.0
UNDECIDED_AFTER_S = 1800
"""A step the judge has not decided after its planned windows, or this long, is said out loud (once)."""


# -- infrastructure ----------------------------------------------------------------------------------

def apply_infrastructure(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    hook = engine.ports.infrastructure
    if hook is None:
        engine.record(deployment, "note", "infrastructure skipped",
                      {"reason": "no Terraform runner is configured yet; infrastructure was not changed"})
        engine.finish_stage(deployment, rollout, StageStatus.SKIPPED)
        return Tick("progressed", "infrastructure skipped: no Terraform runner configured")
    version = rollout.infrastructure_version or ""
    engine.act(deployment, "apply infrastructure", {"version": version},
               lambda: hook.apply(deployment.environment, version))
    engine.finish_stage(deployment, rollout)
    return Tick("progressed", f"infrastructure {version} applied")


# -- the new revision --------------------------------------------------------------------------------

def deploy_revision(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    service, cloudrun = rollout.service, engine.ports.cloudrun(deployment.environment)
    assert rollout.image and rollout.new_tag
    name = revision_name(service, rollout.new_tag, rollout.image)
    if rollout.new_revision != name:
        rollout.new_revision = name
        deployment = engine.save(deployment, rollout)
    revision = cloudrun.get_service(service).revision(name)
    detail = {"service": service, "image": rollout.image, "tag": rollout.new_tag, "revision": name}
    if revision is None:
        try:
            engine.act(deployment, "deploy revision", detail,
                       lambda: cloudrun.deploy_revision(service, rollout.image, rollout.new_tag, wait=False))
        except RevisionFailed as exc:
            return fail(engine, deployment, rollout, str(exc))
        return engine.wait(deployment, rollout, f"revision {name} is starting", seconds=POLL_S)
    engine.act(deployment, "deploy revision", detail, lambda: None, in_place=True)  # closes an intent left open
    if revision.failed:
        return fail(engine, deployment, rollout, f"revision {name} did not become ready: {revision.message}")
    if not revision.ready:
        return engine.wait(deployment, rollout, f"waiting for revision {name} to become ready", seconds=POLL_S)
    engine.finish_stage(deployment, rollout)
    return Tick("progressed", f"revision {name} is ready with no traffic")


def fail(engine: Engine, deployment: Deployment, rollout: Rollout, reason: str) -> Tick:
    """Nothing new ever served traffic: there is nothing to roll back, the deployment failed."""
    if rollout.weight > 0 or rollout.frontend_promoted:
        return roll_back(engine, deployment, rollout, reason, "engine")
    deployment = engine.mark_stage(deployment, rollout, StageStatus.FAILED)
    engine.notify(deployment, f"deployment {deployment.id} to {deployment.environment} failed: {reason}", "error")
    return engine.end(deployment, rollout, DeploymentStatus.FAILED, reason, cause=reason)


# -- frontend ------------------------------------------------------------------------------------------

def deploy_frontend(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    frontend, project = engine.ports.frontend, rollout.frontend_project
    if rollout.frontend_previous is None:
        current = frontend.production_deployment(project)
        rollout.frontend_previous = current.id if current else ""
        deployment = engine.save(deployment, rollout)
    if rollout.frontend_new is None:
        rollout.frontend_new = _adopt_or_create(engine, deployment, rollout)
        deployment = engine.save(deployment, rollout)
    built = frontend.get_deployment(rollout.frontend_new)
    if built.state in ("ERROR", "CANCELED"):
        return fail(engine, deployment, rollout, f"frontend build {built.id} ended {built.state}: "
                    f"{built.error_message or 'Vercel gave no reason'}")
    if not built.ready:
        return engine.wait(deployment, rollout, f"frontend build {built.id} is {built.state.lower()}", seconds=POLL_S)
    engine.finish_stage(deployment, rollout)
    return Tick("progressed", f"frontend build {built.id} is ready (not yet promoted)")


def _adopt_or_create(engine: Engine, deployment: Deployment, rollout: Rollout) -> str:
    """A build this deployment asked for before a crash is adopted instead of being created again."""
    frontend, project, ref = engine.ports.frontend, rollout.frontend_project, rollout.frontend_ref
    assert ref
    asked = [e for e in engine.registry.events(deployment.id) if e.action == "create frontend build"]
    if asked:
        since = asked[0].at - timedelta(seconds=5)
        for candidate in frontend.list_deployments(project, limit=20):
            if candidate.git_ref == ref and candidate.created_at >= since:
                engine.record(deployment, "done", "create frontend build", {"deployment": candidate.id,
                                                                             "adopted": True})
                return candidate.id
    created = engine.act(deployment, "create frontend build", {"project": project, "ref": ref},
                         lambda: frontend.create_deployment(project, ref, target="production"))
    return created.id


def promote_frontend(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    assert stage is not None and rollout.frontend_new
    if stage.needs_operator and rollout.approved_through < rollout.stage:
        return engine.wait(deployment, rollout, "promote the frontend to production when ready "
                           f"(opsconsole promote {deployment.environment})", operator=True)
    frontend, project = engine.ports.frontend, rollout.frontend_project
    live = frontend.production_deployment(project)
    engine.act(deployment, "promote frontend", {"project": project, "deployment": rollout.frontend_new},
               lambda: frontend.promote(project, rollout.frontend_new),
               in_place=live is not None and live.id == rollout.frontend_new)
    rollout.frontend_promoted = True
    engine.finish_stage(deployment, rollout)
    return Tick("progressed", f"frontend {rollout.frontend_new} promoted to production")


def _verify_frontend(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    """The sandbox's Vercel serves no pages, so the frontend is verified on what Vercel reports: the build is
    READY, and once promoted it is the project's production deployment."""
    stage = rollout.current
    assert stage is not None and rollout.frontend_new
    frontend = engine.ports.frontend
    built = frontend.get_deployment(rollout.frontend_new)
    problems = [] if built.ready else [f"build {built.id} is {built.state}"]
    if stage.validation and stage.validation.target == "production_url":
        live = frontend.production_deployment(rollout.frontend_project)
        if live is None or live.id != built.id:
            problems.append(f"production serves {live.id if live else 'nothing'}, not {built.id}")
    summary = "; ".join(problems) or f"frontend {built.id} is ready" + (
        " and serves production" if stage.validation and stage.validation.target == "production_url" else "")
    engine.record(deployment, "failed" if problems else "done", "verify frontend", {"summary": summary})
    engine.emit(VerificationDone(deployment.id, deployment.environment, engine.ports.now(), not problems, summary))
    if problems:
        return roll_back(engine, deployment, rollout, f"frontend verification failed: {summary}", "engine")
    engine.finish_stage(deployment, rollout)
    return Tick("progressed", summary)


# -- verification --------------------------------------------------------------------------------------

def run_checks(engine: Engine, deployment: Deployment, rollout: Rollout, checks: list[str]) -> bool:
    """Verify the new revision on its own URL; the report is kept in the rollout. True when it passed."""
    env = deployment.environment
    config = engine.environment(env)
    assert rollout.new_revision
    service = engine.ports.cloudrun(env).get_service(rollout.service)
    revision = service.revision(rollout.new_revision)
    if revision is None:
        raise RevisionFailed(f"revision {rollout.new_revision} disappeared before verification",
                             None, rollout.service)  # type: ignore[arg-type]
    with_traffic = rollout.weight > 0
    # No traffic yet: no error rate to read (the analysis windows judge it later). With traffic, live
    # analysis judges the revision, so the pre-traffic smoke burst has nothing to add.
    checks = [c for c in checks if c != ("smoke" if with_traffic else "error_rate")]
    criteria = rollout.plan.criteria.model_copy(update={"required_checks": checks})
    now = engine.ports.now()
    window_s = 60
    window = (now - timedelta(seconds=window_s), now) if with_traffic else None
    report = verify_revision(VerifyTarget.from_revision(config, revision), checks,
                             metrics=engine.ports.metrics(env) if with_traffic else None, criteria=criteria,
                             window=window, profile=engine.ports.profile, messages=engine.verify_messages,
                             now=engine.ports.now,  # the service's URL reaches stable while the new one has no traffic
                             baseline_url=(service.uri or None) if rollout.stable_revision else None)
    rollout.verification = report.to_dict()
    rollout.verification_failed = not report.passed
    rollout.verified_stage = rollout.stage
    engine.record(deployment, "done" if report.passed else "failed", "verify", {"summary": report.summary})
    engine.emit(VerificationDone(deployment.id, env, engine.ports.now(), report.passed, report.summary))
    engine.save(deployment, rollout)
    return report.passed


def _after_failed_verification(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    summary = (rollout.verification or {}).get("summary", "")
    if rollout.plan.triggers.on_failed_verification:
        return roll_back(engine, deployment, rollout, f"verification failed: {summary}", "engine")
    return engine.wait(deployment, rollout, f"verification failed ({summary}); roll back, or promote with an "
                       "override reason to go on", operator=True)


def verify(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    assert stage is not None
    if stage.component == "frontend":
        return _verify_frontend(engine, deployment, rollout)
    if rollout.verified_stage != rollout.stage:
        checks = list(stage.validation.checks if stage.validation else rollout.plan.criteria.required_checks)
        run_checks(engine, deployment, rollout, checks)
    if rollout.verification_failed and not rollout.overridden("verification"):
        return _after_failed_verification(engine, deployment, rollout)
    engine.finish_stage(deployment, rollout)
    return Tick("progressed", f"verification passed: {(rollout.verification or {}).get('summary', '')}")


# -- traffic and analysis ------------------------------------------------------------------------------

def _split(rollout: Rollout, percent: int) -> dict[str, int]:
    assert rollout.new_revision
    if percent >= 100 or not rollout.stable_revision:
        return {rollout.new_revision: 100}
    if percent <= 0:
        return {rollout.stable_revision: 100}
    return {rollout.new_revision: percent, rollout.stable_revision: 100 - percent}


def _tags(rollout: Rollout) -> dict[str, str | None]:
    tags: dict[str, str | None] = {}
    if rollout.new_tag and rollout.new_revision:
        tags[rollout.new_tag] = rollout.new_revision
    if rollout.stable_revision:
        tags[STABLE_TAG] = rollout.stable_revision  # the previous stable stays addressable until promoted
    return tags


def route(engine: Engine, deployment: Deployment, rollout: Rollout, percent: int) -> None:
    """Serve `percent` on the new revision (the rest on stable), unless that is already what is served."""
    cloudrun = engine.ports.cloudrun(deployment.environment)
    split = _split(rollout, percent)
    engine.act(deployment, "set traffic", {"split": split, "percent": percent},
               lambda: cloudrun.set_traffic(rollout.service, split, _tags(rollout)),
               in_place=dict(cloudrun.get_service(rollout.service).traffic) == split)
    rollout.weight = percent
    now = engine.ports.now()
    rollout.routed_at = rollout.window_start = now.isoformat()
    rollout.analysis = {}  # a new weight starts new evidence
    engine.emit(WeightChanged(deployment.id, deployment.environment, now, rollout.new_revision or "", percent, split))


def set_traffic(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    assert stage is not None and stage.traffic_percent is not None
    if rollout.routed_stage != rollout.stage:
        if stage.needs_operator and rollout.approved_through < rollout.stage:
            return engine.wait(deployment, rollout, f"promote to {stage.traffic_percent} % when ready "
                               f"(opsconsole promote {deployment.environment})", operator=True)
        if rollout.verification_failed and not rollout.overridden("verification"):
            return _after_failed_verification(engine, deployment, rollout)
        route(engine, deployment, rollout, stage.traffic_percent)
        rollout.routed_stage = rollout.stage
        engine.save(deployment, rollout)
        return Tick("progressed", f"{stage.traffic_percent} % of traffic on {rollout.new_revision}")
    if stage.validation and stage.validation.checks and rollout.verified_stage != rollout.stage:
        if not run_checks(engine, deployment, rollout, list(stage.validation.checks)) and \
                not rollout.overridden("verification"):
            return _after_failed_verification(engine, deployment, rollout)
        return Tick("progressed", "verified at this weight")
    if stage.monitoring and stage.validation and stage.validation.judge:
        return analyse(engine, deployment, rollout, stage.monitoring.window_s)
    if stage.pause_after_s:
        until = datetime.fromisoformat(rollout.routed_at or engine.ports.now().isoformat()) + \
            timedelta(seconds=stage.pause_after_s)
        if engine.ports.now() < until:
            return engine.wait(deployment, rollout, f"pausing {stage.pause_after_s} s before the next batch",
                               seconds=(until - engine.ports.now()).total_seconds())
    return _advance(engine, deployment, rollout, f"{stage.traffic_percent} % holds")


def observe(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    assert stage is not None
    return analyse(engine, deployment, rollout, stage.monitoring.window_s if stage.monitoring else 60)


def _advance(engine: Engine, deployment: Deployment, rollout: Rollout, reason: str) -> Tick:
    """Finish this stage, unless paused or the next one waits for the operator (then keep watching this one)."""
    if rollout.paused:
        return engine.wait(deployment, rollout, f"{reason}; paused by the operator, resume to continue",
                           operator=True)
    following = rollout.stage + 1
    if following < len(rollout.plan.stages) and rollout.plan.stages[following].needs_operator \
            and rollout.approved_through < following:
        target = rollout.plan.stages[following]
        what = f"{target.traffic_percent} %" if target.traffic_percent is not None else target.name
        return engine.wait(deployment, rollout, f"{reason}; promote to {what} when ready "
                           f"(opsconsole promote {deployment.environment})", operator=True)
    engine.finish_stage(deployment, rollout)
    return Tick("progressed", reason)


def _window(m: RevisionMetrics | None) -> WindowMetrics:
    if m is None or not m.total:
        return WindowMetrics(0, 0)
    # The distribution, when Monitoring gave one, is what the judge pools; the percentiles come with it.
    if m.latency is not None:
        return WindowMetrics(m.total, m.errors_5xx, latency=m.latency)
    return WindowMetrics(m.total, m.errors_5xx, m.p50_ms, m.p99_ms)


def analyse(engine: Engine, deployment: Deployment, rollout: Rollout, window_s: int) -> Tick:
    """Judge every analysis window that has passed (one per tick); roll back, hold, or let the next step go.

    Windows are read from metric history, so a console that was away (or killed) judges the windows it
    missed before anything else: an automatic rollback never waits for someone to be watching.
    """
    env = deployment.environment
    if rollout.weight == 0 and rollout.new_revision:
        # Nothing reaches the new revision, so no window can be judged: the next move is the operator's.
        return engine.wait(deployment, rollout, f"0 % on {rollout.new_revision}: set a weight, promote or roll "
                           f"back (opsconsole set-weight {env} N)", operator=True)
    start = datetime.fromisoformat(rollout.window_start or engine.ports.now().isoformat())
    end = start + timedelta(seconds=window_s)
    if engine.ports.now() < end:
        # Waiting ticks reuse the decision recorded with the last judged window of this step instead of
        # replaying (and re-judging) every window: a long hold stays cheap.
        judged = bool(rollout.analysis.get("windows")) and bool(rollout.verdicts)
        last = rollout.verdicts[-1] if judged else None
        if (last is not None and last["action"] == Action.PROMOTE_ALLOWED.value) \
                or rollout.overridden(f"analysis@{rollout.stage}"):
            return _advance(engine, deployment, rollout, last["decision"] if last else "promoted by override")
        reason = f"observing {rollout.weight} % until {end:%H:%M:%S}" + (f"; {last['decision']}" if last else "")
        if rollout.undecided_told == rollout.stage:
            reason += "; undecided for longer than planned: promote with a reason or roll back"
        keep_load(engine, deployment, rollout, end)
        return engine.wait(deployment, rollout, reason, seconds=(end - engine.ports.now()).total_seconds())
    history = AnalysisHistory.from_dict(rollout.analysis, rollout.plan.criteria, rollout.plan.triggers,
                                        settings=judge_settings(rollout))
    metrics = engine.ports.metrics(env).revision_metrics(rollout.service, start, end)
    canary = _window(metrics.get(rollout.new_revision or ""))
    compare = rollout.weight < 100 and rollout.stable_revision
    stable = _window(metrics.get(rollout.stable_revision or "")) if compare else WindowMetrics(0, 0)
    verdict = history.add(canary, stable)
    decision = history.decision()
    rollout.analysis = history.to_dict()
    rollout.window_start = end.isoformat()
    rollout.verdicts.append({"at": end.isoformat(), "weight": rollout.weight, "action": decision.action.value,
                             "decision": decision.explanation, **verdict.to_dict()})
    engine.record(deployment, "note", "analysis window", {"weight": rollout.weight, "outcome": verdict.outcome.value,
                                                          "decision": decision.explanation})
    engine.emit(VerdictReached(deployment.id, env, end, verdict.outcome.value, decision.action.value,
                               decision.explanation))
    if decision.action is Action.ROLLBACK:
        cause = "canary judge: " + decision.explanation.removeprefix("rollback: ")
        return roll_back(engine, deployment, rollout, cause, "engine")
    watched = len(history.windows)
    if decision.action is Action.HOLD and rollout.undecided_told < rollout.stage and watched >= 2 \
            and (watched >= history.settings.planned_windows or watched * window_s >= UNDECIDED_AFTER_S):
        _tell_undecided(engine, deployment, rollout, watched * window_s, decision.explanation)
    engine.save(deployment, rollout)
    return Tick("progressed", decision.explanation)


def _tell_undecided(engine: Engine, deployment: Deployment, rollout: Rollout, seconds: int, decision: str) -> None:
    """A step the judge could not decide in its planned windows is said out loud, once: holding is never silent.

    The judge keeps watching (a later pass still promotes, a proven fault still rolls back); the person on call
    learns the canary is stuck and why, and what they can do about it.
    """
    env = deployment.environment
    text = (f"{env} canary at {rollout.weight} % undecided after {_duration(seconds)} of analysis "
            f"({decision.removeprefix('hold: ')}); promote with a reason (opsconsole promote {env} --override "
            f"REASON) or roll back (opsconsole rollback {env} --reason REASON)")
    rollout.undecided_told = rollout.stage
    engine.record(deployment, "note", "judge undecided", {"weight": rollout.weight, "seconds": seconds,
                                                          "decision": decision})
    engine.emit(Note(deployment.id, env, engine.ports.now(), text))
    engine.notify(deployment, text, severity="warning")


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "") if minutes else f"{rest} s"


def apply_manual_weight(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    weight = rollout.manual_weight
    assert weight is not None
    route(engine, deployment, rollout, weight)
    rollout.manual_weight = None
    engine.save(deployment, rollout)
    return Tick("progressed", f"weight set by hand to {weight} %")


# -- the end -------------------------------------------------------------------------------------------

def finalize(engine: Engine, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    if rollout.new_revision and rollout.weight >= 100:
        # The new revision is stable now; the old one keeps a tag so a switch-back stays instant.
        cloudrun = engine.ports.cloudrun(deployment.environment)
        tags: dict[str, str | None] = {STABLE_TAG: rollout.new_revision}
        if rollout.stable_revision and stage is not None and stage.tag:
            tags[stage.tag or PREVIOUS_REVISION_TAG] = rollout.stable_revision
        engine.act(deployment, "retag stable", {"tags": tags},
                   lambda: cloudrun.set_traffic(rollout.service, {rollout.new_revision: 100}, tags),
                   in_place={t: r for t, r in cloudrun.get_service(rollout.service).tags.items() if t in tags} == tags)
    if stage is not None:
        deployment = engine.finish_stage(deployment, rollout)
    summary = f"{deployment.environment} now runs {engine.describe_versions(deployment.versions)}"
    engine.notify(deployment, f"deployment {deployment.id} succeeded: {summary}")
    return engine.end(deployment, rollout, DeploymentStatus.SUCCEEDED, summary)


def roll_back(engine: Engine, deployment: Deployment, rollout: Rollout, cause: str, actor: str) -> Tick:
    """Traffic back to stable, frontend back to its previous deployment, then verify stable and record why."""
    env = deployment.environment
    cloudrun = engine.ports.cloudrun(env)
    steps = []
    if rollout.new_revision and rollout.stable_revision and rollout.routed_stage >= 0:
        wanted = {rollout.stable_revision: 100}
        engine.act(deployment, "roll back traffic", {"split": wanted, "cause": cause},
                   lambda: cloudrun.set_traffic(rollout.service, wanted, _tags(rollout)),
                   in_place=dict(cloudrun.get_service(rollout.service).traffic) == wanted)
        steps.append(f"traffic 100 % on {rollout.stable_revision}")
        rollout.weight = 0
        engine.emit(WeightChanged(deployment.id, env, engine.ports.now(), rollout.new_revision, 0, wanted))
    if rollout.frontend_promoted and rollout.frontend_previous:
        frontend, project, previous = engine.ports.frontend, rollout.frontend_project, rollout.frontend_previous
        live = frontend.production_deployment(project)
        engine.act(deployment, "roll back frontend", {"to": previous, "cause": cause},
                   lambda: frontend.rollback(project, previous), in_place=live is not None and live.id == previous)
        steps.append(f"frontend back on {previous}")
        rollout.frontend_promoted = False
    check = verify_stable(engine, env, rollout.service, rollout.stable_revision)
    rollout.abort = None
    engine.record(deployment, "done", "rollback", {"cause": cause, "steps": steps, "stable_check": check}, actor=actor)
    engine.emit(RolledBack(deployment.id, env, engine.ports.now(), cause, actor))
    engine.notify(deployment, f"deployment {deployment.id} to {env} rolled back: {cause}", "error")
    if rollout.stage < len(rollout.plan.stages):
        deployment = engine.mark_stage(deployment, rollout, StageStatus.FAILED)
    return engine.end(deployment, rollout, DeploymentStatus.ROLLED_BACK, f"rolled back: {cause}", cause=cause)


def verify_stable(engine: Engine, env: str, service: str, revision_name_: str | None) -> str:
    """Health of the revision traffic went back to, in one line (a rollback reports it, never fails on it)."""
    if not revision_name_:
        return "no stable revision to check"
    try:
        revision = engine.ports.cloudrun(env).get_service(service).revision(revision_name_)
        if revision is None:
            return f"stable revision {revision_name_} not found"
        config = engine.environment(env)
        report = verify_revision(VerifyTarget.from_revision(config, revision), ["health"], metrics=None,
                                 criteria=config.strategy.criteria.model_copy(update={"required_checks": ["health"]}),
                                 window=None, profile=engine.ports.profile, now=engine.ports.now)
        return report.summary
    except OpsError as exc:
        return f"could not verify stable: {exc}"


HANDLERS = {
    StageKind.APPLY_INFRASTRUCTURE: apply_infrastructure,
    StageKind.DEPLOY_REVISION: deploy_revision,
    StageKind.DEPLOY_FRONTEND: deploy_frontend,
    StageKind.VERIFY: verify,
    StageKind.SET_TRAFFIC: set_traffic,
    StageKind.OBSERVE: observe,
    StageKind.PROMOTE_FRONTEND: promote_frontend,
    StageKind.FINALIZE: finalize,
}
