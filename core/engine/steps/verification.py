"""Verification of the new revision on its own URL, and what follows a failed one (roll back, or wait for a person)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from core.engine.context import StepContext
from core.engine.steps.frontend import verify_frontend
from core.engine.steps.rollback import roll_back
from core.engine.tick import Tick
from core.model.deployment import Deployment
from core.model.events import VerificationDone
from core.model.rollout import Rollout
from core.ports import RevisionFailed
from core.verify import VerifyTarget, verify_revision


def run_checks(ctx: StepContext, deployment: Deployment, rollout: Rollout, checks: Sequence[str]) -> bool:
    """Verify the new revision on its own URL; the report is kept in the rollout. True when it passed."""
    env = deployment.environment
    config = ctx.environment(env)
    assert rollout.new_revision
    service = ctx.ports.cloudrun(env).get_service(rollout.service)
    revision = service.revision(rollout.new_revision)
    if revision is None:
        raise RevisionFailed(f"revision {rollout.new_revision} disappeared before verification",
                             None, rollout.service)
    with_traffic = rollout.weight > 0
    # No traffic yet: no error rate to read (the analysis windows judge it later). With traffic, live
    # analysis judges the revision, so the pre-traffic smoke burst has nothing to add.
    checks = [c for c in checks if c != ("smoke" if with_traffic else "error_rate")]
    criteria = rollout.plan.criteria.model_copy(update={"required_checks": checks})
    now = ctx.ports.now()
    window_s = 60
    window = (now - timedelta(seconds=window_s), now) if with_traffic else None
    report = verify_revision(VerifyTarget.from_revision(config, revision), checks,
                             metrics=ctx.ports.metrics(env) if with_traffic else None, criteria=criteria,
                             window=window, profile=ctx.ports.profile, messages=ctx.verify_messages,
                             now=ctx.ports.now,  # the service's URL reaches stable while the new one has no traffic
                             baseline_url=(service.uri or None) if rollout.stable_revision else None,
                             cloudrun=ctx.ports.cloudrun(env))
    rollout.verification = report.to_dict()
    rollout.verification_failed = not report.passed
    rollout.verified_stage = rollout.stage
    ctx.record(deployment, "done" if report.passed else "failed", "verify", {"summary": report.summary})
    ctx.emit(VerificationDone(deployment.id, env, ctx.ports.now(), report.passed, report.summary))
    ctx.save(deployment, rollout)
    return report.passed


def after_failed_verification(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    summary = (rollout.verification or {}).get("summary", "")
    if rollout.plan.triggers.on_failed_verification:
        return roll_back(ctx, deployment, rollout, f"verification failed: {summary}", "engine")
    return ctx.wait(deployment, rollout, f"verification failed ({summary}); roll back, or promote with an "
                    "override reason to go on", operator=True)


def verify(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    assert stage is not None
    if stage.component == "frontend":
        return verify_frontend(ctx, deployment, rollout)
    if rollout.verified_stage != rollout.stage:
        checks = list(stage.validation.checks if stage.validation else rollout.plan.criteria.required_checks)
        run_checks(ctx, deployment, rollout, checks)
    if rollout.verification_blocks:
        return after_failed_verification(ctx, deployment, rollout)
    ctx.finish_stage(deployment, rollout)
    return Tick("progressed", f"verification passed: {(rollout.verification or {}).get('summary', '')}")
