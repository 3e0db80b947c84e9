"""Guided incident recovery: classify a failure from live evidence, plan from runbooks (data), execute step by
step with confirmation and write-ahead records, validate, and keep the incident with its timeline."""

from core.recovery.assessment import Assessment
from core.recovery.classify import Classification, Finding, Scope, identify_failure_type
from core.recovery.closing import end_incident
from core.recovery.context import RecoveryContext, RecoveryPorts
from core.recovery.evidence import Symptoms, gather_symptoms
from core.recovery.execute import (
    StepResult,
    advance,
    assess,
    begin_incident,
    execute_recovery_step,
    next_step,
    open_incident,
    plan_of,
    resume_incident,
    run_recovery,
)
from core.recovery.incident import Incident, IncidentStore
from core.recovery.plan import RecoveryPlan, generate_recovery_plan
from core.recovery.postmortem import postmortem_markdown
from core.recovery.runbook import Runbook, RunbookStep, load_runbook_file, runbook_for
from core.recovery.validate import RecoveryReport, finish_recovery, validate_recovery

__all__ = [
    "Assessment",
    "Classification",
    "Finding",
    "Incident",
    "IncidentStore",
    "RecoveryContext",
    "RecoveryPlan",
    "RecoveryPorts",
    "RecoveryReport",
    "Runbook",
    "RunbookStep",
    "Scope",
    "StepResult",
    "Symptoms",
    "advance",
    "assess",
    "begin_incident",
    "end_incident",
    "execute_recovery_step",
    "finish_recovery",
    "gather_symptoms",
    "generate_recovery_plan",
    "identify_failure_type",
    "load_runbook_file",
    "next_step",
    "open_incident",
    "plan_of",
    "postmortem_markdown",
    "resume_incident",
    "run_recovery",
    "runbook_for",
    "validate_recovery",
]
