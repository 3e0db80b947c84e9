"""validate_recovery: is the environment really back? Health against the baseline, every service operational,
data intact (no acknowledged WebSocket message lost, Redis keys as at the start), and what to do next.

`finish_recovery` validates the open incident once its plan is through and, when it passes, resolves
it: resolved_at, time to restore, PagerDuty resolved, Slack told.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from core.errors import OpsError
from core.recovery.actions import CHECKS, CheckOutcome
from core.recovery.context import RecoveryContext
from core.recovery.incident import Incident
from core.recovery.notify import announce
from core.recovery.runbook import RunbookStep

# Checks of the validation per failure type (all of them read-only).
_CHECKS = {
    "compute": ("service_health", "service_ready", "websocket_delivery", "error_rate"),
    "storage": ("service_health", "service_ready", "websocket_delivery", "error_rate", "redis_keys_intact"),
    "network": ("secondary_region_health", "frontend_websocket_url"),
    "unknown": ("service_health", "service_ready", "websocket_delivery", "error_rate"),
}


@dataclass(frozen=True)
class ValidationItem:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class RecoveryReport:
    environment: str
    passed: bool
    items: tuple[ValidationItem, ...]
    recommendations: tuple[str, ...]
    at: str
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _operational(context: RecoveryContext) -> ValidationItem:
    """Every component answers its control plane: Cloud Run (primary region) and Vercel production."""
    problems = []
    try:
        context.primary().get_service(context.service)
    except OpsError as exc:
        problems.append(f"Cloud Run: {exc}")
    try:
        live = context.engine.ports.frontend.production_deployment(context.config.application.frontend_project)
        if live is None or not live.ready:
            problems.append("the frontend has no ready production deployment")
    except OpsError as exc:
        problems.append(f"Vercel: {exc}")
    return ValidationItem("services_operational", not problems, "; ".join(problems) or
                          "Cloud Run and the Vercel production deployment answer")


def _recommendations(context: RecoveryContext, incident: Incident, failure_type: str,
                     items: list[ValidationItem]) -> list[str]:
    classification = incident.record.get("classification") or {}
    signals = set(classification.get("signals", ()))
    infra = context.config.infrastructure
    out = [f"{i.name} failed ({i.detail}): the incident stays open; fix it and run `opsconsole recover "
           f"{context.environment}` to carry on" for i in items if not i.passed]
    if "instances_zero" in signals and infra.min_instances < 1:
        out.append(f"set infrastructure.min_instances of {context.environment} to at least 1 in opsconsole.toml "
                   "so the next deploy does not scale the service back to zero")
    elif "instances_zero" in signals:
        out.append(f"the service ran with 0 minimum instances although opsconsole.toml asks for {infra.min_instances}: "
                   "find what changed it (re-apply the infrastructure, check manual edits) before closing")
    if "bad_revision" in signals:
        out.append(f"fix and re-release what deployment {classification.get('suspect_deployment_id') or '?'} "
                   f"shipped; revision {classification.get('suspect_revision') or '?'} stays out of traffic")
    if failure_type == "network":
        out.append(f"traffic runs from {infra.failover_region}: fail back to {infra.region} once it is healthy "
                   "(set the WebSocket URL back and redeploy the frontend)")
    if failure_type == "storage":
        out.append("Redis runs without a standby until Memorystore rebuilds the replica; check the newest backup "
                   "export before the next failover")
    if failure_type == "unknown":
        out.append("enter the root cause you found (opsconsole incident root-cause ID TEXT) for the postmortem")
    return out


def validate_recovery(env: str, context: RecoveryContext) -> RecoveryReport:
    """Run the validation checks for the incident's failure type (compute's when there is none) and report."""
    incident = context.incident or Incident({"id": "-", "failure_type": "compute"}, save=lambda record: None)
    failure_type = str(incident.record.get("failure_type", "compute"))
    if context.environment != env:
        raise OpsError(f"the recovery context is for {context.environment}, not {env}")
    items = [_operational(context)]
    outputs: dict[str, Any] = {}
    probe_step = RunbookStep(id="validate", title="validation", kind="check", check="service_health")
    for name in _CHECKS.get(failure_type, _CHECKS["unknown"]):
        try:
            outcome = CHECKS[name](context, probe_step, incident)
        except OpsError as exc:
            outcome = CheckOutcome(False, str(exc))
        items.append(ValidationItem(name, outcome.passed, outcome.detail))
        outputs[name] = outcome.outputs
    return RecoveryReport(environment=env, passed=all(i.passed for i in items), items=tuple(items),
                          recommendations=tuple(_recommendations(context, incident, failure_type, items)),
                          at=context.now().isoformat(), outputs=outputs)


def finish_recovery(context: RecoveryContext) -> RecoveryReport:
    """Validate the open incident's environment; resolve the incident when it passes (not in a dry run)."""
    incident = context.incident
    assert incident is not None
    report = validate_recovery(context.environment, context)
    incident.add("validated", "recovery validated" if report.passed else "validation failed",
                 at=context.now(), actor=context.operator, outputs=report.to_dict())
    if report.passed and not context.looking_only:
        now = context.now()
        started = datetime.fromisoformat(str(incident.record["started_at"]))
        incident.update(status="resolved", resolved_at=now.isoformat(),
                        time_to_restore_s=round((now - started).total_seconds(), 1), validation=report.to_dict())
        incident.add("resolved", f"resolved after {incident.record['time_to_restore_s']:.0f} s", at=now,
                     actor=context.operator)
        announce(context.engine, incident, "resolve")
    elif not context.looking_only:
        incident.update(validation=report.to_dict())
    return report
