"""Guided execution: open the incident, run its plan step by step with confirmation, resume after a kill.

Write-ahead like Engine.act: a changing step's intent is in the incident's timeline before anything is
sent and its outcome after. The record's `cursor` is the step in progress. A console killed at any
moment resumes from the cursor; a completed step is never run again; a changing step whose intent has
no outcome may have half-run, so the operator is asked before it runs again. A dry run records
nothing, sends nothing that changes anything, and says what each step would do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import BadInput, OperationFailed, OpsError
from core.recovery.actions import ACTIONS, CHECKS, CheckOutcome
from core.recovery.assessment import Assessment
from core.recovery.classify import Classification, identify_failure_type
from core.recovery.context import RecoveryContext
from core.recovery.evidence import gather_symptoms
from core.recovery.incident import Incident, IncidentStore
from core.recovery.notify import announce, opening
from core.recovery.plan import RecoveryPlan, generate_recovery_plan
from core.recovery.runbook import RunbookStep, load_all

FINISHED = ("done", "skipped", "dry-run")


@dataclass(frozen=True)
class StepResult:
    step: str
    status: str  # done, failed, skipped, dry-run, declined
    detail: str
    outputs: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False  # the recovery stops here (declined, or failed with on_failure abort)


def _incident(context: RecoveryContext) -> Incident:
    if context.incident is None:
        raise OperationFailed(f"no incident is open for {context.environment}; start a recovery first")
    return context.incident


def _add(context: RecoveryContext, kind: str, summary: str, step: RunbookStep | None = None, **extra: Any) -> None:
    _incident(context).add(kind, summary, at=context.now(), actor=context.operator,
                           step=step.id if step else None, **extra)


def plan_of(incident: Incident) -> RecoveryPlan:
    return RecoveryPlan.from_dict(incident.record["plan"])


def _approver_allowed(context: RecoveryContext, step: RunbookStep) -> tuple[bool, str]:
    config = context.engine.config
    who = context.operator
    if step.allowed:
        ok = who in step.allowed or any(who in config.teams.get(team, ()) for team in step.allowed)
        return ok, ", ".join(step.allowed)
    access = context.config.access
    allowed = ", ".join([*access.operators, *(f"team {g}" for g in access.groups)]) or "nobody"
    return access.allows(who, config.teams), allowed


def _finish(context: RecoveryContext, step: RunbookStep, status: str, detail: str,
            outputs: dict[str, Any] | None = None, error: str | None = None) -> StepResult:
    _add(context, status, detail, step, outputs=outputs, error=error)
    return StepResult(step.id, status, detail, dict(outputs or {}))


def _run_check(context: RecoveryContext, step: RunbookStep, incident: Incident) -> StepResult:
    check = CHECKS[step.check or ""]
    waited, interval = 0.0, context.check_interval_s
    while True:
        outcome: CheckOutcome | None = None
        outputs: dict[str, Any]
        try:
            found = check(context, step, incident)
        except OpsError as exc:
            detail, outputs = str(exc), {}
        else:
            outcome, detail, outputs = found, found.detail, found.outputs
        if outcome is not None and outcome.passed:
            return _finish(context, step, "done", detail, outputs)
        if waited + interval > step.timeout_s:
            return _finish(context, step, "failed", f"not passed within {step.timeout_s:g} s: {detail}", outputs,
                           error=detail)
        context.sleep(interval)
        waited += interval


def _run_action(context: RecoveryContext, step: RunbookStep, incident: Incident) -> StepResult:
    action = ACTIONS[step.action or ""]
    half_run = step.changes and incident.last_outcome(step.id) == "intent"
    if half_run and not context.confirm(f"Step {step.id} ({step.title}) may have half-run before the console "
                                        "stopped; run it again?"):
        return _finish(context, step, "declined", "not run again: it may have half-run; check it by hand")
    try:
        described = action.describe(context, step, incident)
    except OpsError as exc:
        described = f"{step.title} ({exc})"
    if step.changes:
        if not context.confirm(f"{step.title}: {described}. Run it?"):
            return _finish(context, step, "declined", f"the operator declined: {described}")
        _add(context, "confirmed", f"{context.operator} confirmed: {step.title}", step, inputs={"plan": described})
    error = ""
    for attempt in range(step.retries + 1):
        inputs = {"params": dict(step.params), "attempt": attempt + 1, "plan": described}
        _add(context, "intent", f"sending: {step.title}", step, inputs=inputs)
        try:
            outputs = action.run(context, step, incident)
        except Exception as exc:  # any provider failure is this step's failure, recorded with its sentence
            error = str(exc) if isinstance(exc, OpsError) else f"{type(exc).__name__}: {exc}"
            _add(context, "failed", f"attempt {attempt + 1} of {step.retries + 1} failed", step, inputs=inputs,
                 error=error)
            if attempt < step.retries:
                context.sleep(step.backoff_s * 2 ** attempt)
            continue
        _add(context, "done", step.title, step, inputs=inputs, outputs=outputs)
        return StepResult(step.id, "done", step.title, outputs)
    return StepResult(step.id, "failed", error)


def _dry_run(context: RecoveryContext, step: RunbookStep, incident: Incident) -> StepResult:
    if step.kind == "action":
        try:
            what = ACTIONS[step.action or ""].describe(context, step, incident)
        except OpsError as exc:
            what = f"would {step.title.lower()} (cannot say more: {exc})"
    elif step.kind == "check":
        what = f"would check: {step.title}"
    elif step.kind == "approval":
        ok, allowed = _approver_allowed(context, step)
        what = f"would ask for approval by {allowed}" + ("" if ok else f" ({context.operator} is not allowed)")
    else:
        what = f"would ask the operator: {step.instruction}"
    if step.fallback:
        what += " (only if an earlier step fails)"
    return _finish(context, step, "dry-run", what)


def execute_recovery_step(step: RunbookStep, context: RecoveryContext) -> StepResult:
    """Run one step of the open incident's plan, after the operator confirms when it changes anything."""
    incident = _incident(context)
    if context.looking_only:
        return _dry_run(context, step, incident)
    if step.kind == "approval":
        ok, allowed = _approver_allowed(context, step)
        if not ok:
            return _finish(context, step, "failed", f"{context.operator} may not approve this step "
                                                    f"(allowed: {allowed})", error="not an allowed approver")
        if not context.confirm(f"Approve: {step.instruction}"):
            return _finish(context, step, "declined", f"{context.operator} did not approve")
        return _finish(context, step, "done", f"approved by {context.operator}")
    if step.kind == "manual":
        if not context.confirm(f"{step.instruction} Done?"):
            return _finish(context, step, "declined", "not confirmed as done")
        return _finish(context, step, "done", f"{context.operator} confirmed it done")
    if step.kind == "check":
        return _run_check(context, step, incident)
    return _run_action(context, step, incident)


def next_step(context: RecoveryContext) -> RunbookStep | None:
    """The step the cursor points at, or None when the plan is through."""
    incident = _incident(context)
    plan = plan_of(incident)
    cursor = int(incident.record.get("cursor", 0))
    return plan.steps[cursor] if cursor < len(plan.steps) else None


def advance(context: RecoveryContext) -> StepResult | None:
    """Run the step at the cursor and move the cursor by its outcome and `on_failure`; None when through."""
    if not context.looking_only:  # every step changes something: the access gate is asked each time, not once
        context.engine.check_access(context.environment)
    incident = _incident(context)
    plan = plan_of(incident)
    cursor = int(incident.record.get("cursor", 0))
    if cursor >= len(plan.steps):
        return None
    step = plan.steps[cursor]
    jumped = list(incident.record.get("jumped_to", []))
    if incident.last_outcome(step.id) in FINISHED:
        result = StepResult(step.id, "done", "already done")
    elif step.fallback and step.id not in jumped and not context.looking_only:
        result = _finish(context, step, "skipped", "not needed: no earlier step failed over to it")
    else:
        result = execute_recovery_step(step, context)
    if result.status == "declined":
        return replace(result, stopped=True)
    if result.status == "failed" and not context.looking_only:
        if step.on_failure == "goto" and step.goto:
            incident.update(cursor=plan.index(step.goto), jumped_to=[*jumped, step.goto])
            _add(context, "note", f"{step.id} failed: going to {step.goto}", step)
            return result
        if step.on_failure == "abort":
            _add(context, "note", f"recovery stopped at {step.id}; fix the cause and run recover again to resume",
                 step)
            incident.update(last_update=f"recovery stopped at {step.id}: {result.detail}")
            announce(context.engine, incident, "update")
            return replace(result, stopped=True)
    incident.update(cursor=cursor + 1)
    return result


def run_recovery(context: RecoveryContext) -> list[StepResult]:
    """Advance until the plan is through, a step is declined, or a step fails with on_failure abort."""
    results = []
    while (result := advance(context)) is not None:
        results.append(result)
        if result.stopped:
            break
    return results


def assess(context: RecoveryContext) -> Assessment:
    """Gather evidence, classify and plan, writing nothing and telling nobody: what the operator decides on."""
    load_all(context.runbooks)  # a malformed runbook is refused before anything is probed or recorded
    symptoms = gather_symptoms(context)
    classification: Classification = identify_failure_type(
        symptoms, error_threshold=context.config.strategy.triggers.error_rate)
    plan = generate_recovery_plan(classification, context.environment, directory=context.runbooks)
    said = opening(context.engine, context.environment, classification.severity, classification.summary,
                   f"INC-{context.environment}-…")
    return Assessment(context.environment, symptoms, classification, plan, said, context.looking_only)


def open_incident(context: RecoveryContext, store: IncidentStore, assessment: Assessment) -> Incident:
    """Open the incident `assess` found, and page or post as the environment's rule says. A dry run or a
    read-only console keeps it in memory and tells nobody: that is decided here, for every caller."""
    if not context.looking_only:
        context.engine.check_access(context.environment)
    classification, plan, symptoms = assessment.classification, assessment.plan, assessment.symptoms
    incident = store.create(
        context.environment, context.now(), dry_run=context.looking_only, severity=classification.severity,
        suspect_deployment_id=classification.suspect_deployment_id, failure_type=classification.failure_type,
        summary=classification.summary, classification=classification.to_dict(), plan=plan.to_dict(), cursor=0,
        operator=context.operator,
        baseline={"redis_keys": symptoms.redis_keys, "redis_key_counts": symptoms.redis_key_counts,
                  "redis_keys_read_at": symptoms.redis_keys_read_at},
        symptoms={"service_url": symptoms.service_url, "min_instances": symptoms.min_instances,
                  "revisions": [r.__dict__ for r in symptoms.revisions], "notes": list(symptoms.notes)})
    incident.listener = context.on_entry
    context.incident = incident
    _add(context, "opened", f"{classification.severity} {classification.failure_type}: {classification.summary}",
         outputs={"evidence": [f.__dict__ for f in classification.evidence]})
    _add(context, "planned", f"runbook {plan.runbook}: {len(plan.steps)} steps, about {plan.estimate_s / 60:.0f} min",
         outputs={"steps": [s.id for s in plan.steps], "dropped": list(plan.dropped)})
    announce(context.engine, incident, "trigger")
    return incident


def begin_incident(context: RecoveryContext, store: IncidentStore) -> Incident:
    """Assess, then open the incident once the operator confirms what will be sent (a dry run asks nothing).
    Declined: OperationFailed, and nothing was written or sent."""
    if not context.looking_only:  # a dry run changes nothing: anyone may look, a read-only console too
        context.engine.check_access(context.environment)
    assessment = assess(context)
    if not context.looking_only and not context.confirm(assessment.question()):
        raise OperationFailed(f"no incident opened for {context.environment}: the operator declined; "
                              "nothing was recorded or sent")
    return open_incident(context, store, assessment)


def resume_incident(context: RecoveryContext, store: IncidentStore, incident_id: str | None = None) -> Incident:
    """The open incident to carry on with: by id, or the environment's open one."""
    incident = store.get(incident_id) if incident_id else store.open_for(context.environment)
    if incident is None:
        raise BadInput(f"{context.environment} has no open incident to resume")
    if incident.record.get("status") != "open":
        raise BadInput(f"incident {incident.id} is {incident.record.get('status')}; only an open one resumes")
    if incident.record.get("environment") != context.environment:
        raise BadInput(f"incident {incident.id} is about {incident.record.get('environment')}, "
                       f"not {context.environment}")
    incident.listener = context.on_entry
    context.incident = incident
    upcoming = next_step(context)
    _add(context, "resumed", f"{context.operator} resumed at step {upcoming.id if upcoming else '(validation)'}")
    return incident
