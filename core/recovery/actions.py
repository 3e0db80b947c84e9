"""What runbook steps do: actions (engine and provider calls that change the cloud) and checks (read-only).

An action's `run` is idempotent against what the cloud reports (it does nothing when the effect is
already there), so a retried or resumed step never doubles a change; `describe` says, from read-only
calls, what it would do (the dry run shows it). A check answers pass/fail with one sentence and numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.engine import rollback_deployment
from core.errors import OperationFailed, OpsError
from core.model import frontend_env
from core.model.rollout import STABLE_TAG
from core.model.service import ServiceState, settings_changes
from core.recovery.context import RecoveryContext
from core.recovery.incident import Incident
from core.recovery.probes import deliver, probe
from core.recovery.redis_keys import KeyCounts, redis_key_counts
from core.recovery.runbook import RunbookStep


@dataclass(frozen=True)
class Action:
    describe: Callable[[RecoveryContext, RunbookStep, Incident], str]
    run: Callable[[RecoveryContext, RunbookStep, Incident], dict[str, Any]]


@dataclass(frozen=True)
class CheckOutcome:
    """A check's answer. One that could not measure (`measured: False` in its outputs) never passes, whatever
    it says: the rule for a runbook step (execute.py) and for validation (validate.py) alike."""

    passed: bool
    detail: str
    outputs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.passed and self.outputs.get("measured") is False:
            object.__setattr__(self, "passed", False)


def ws_url(http_url: str) -> str:
    return http_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


# -- compute ------------------------------------------------------------------------------------------

def _route_describe(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> str:
    state = ctx.primary().get_service(ctx.service)
    serving = state.serving_revision
    return f"would route all traffic of {ctx.service} from {serving} to the last healthy earlier revision"


def _route_run(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> dict[str, Any]:
    suspect = (incident.record.get("classification") or {}).get("suspect_revision")
    state = ctx.primary().get_service(ctx.service)
    serving = state.serving_revision
    if suspect and serving != suspect:  # already routed away (an earlier attempt got through)
        return {"serving": serving, "observed": True}
    reason = f"incident {incident.id}: {(incident.record.get('classification') or {}).get('summary', 'recovery')}"
    done = rollback_deployment(ctx.engine, ctx.environment, "websocket-server", reason=reason)
    after = ctx.primary().get_service(ctx.service)
    return {"from": serving, "to": after.serving_revision, "rollback_deployment": done.id}


def _min_wanted(ctx: RecoveryContext, step: RunbookStep) -> int:
    return max(int(step.params.get("min_instances", 1)), ctx.config.infrastructure.min_instances, 1)


def _scale_describe(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> str:
    now = ctx.primary().min_instances(ctx.service)
    return (f"would set min instances of {ctx.service} from {now} to {_min_wanted(ctx, step)} "
            "(service-level scaling through the Cloud Run Admin API: no new revision, traffic split unchanged)")


def _scale_run(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> dict[str, Any]:
    # Service-level, not the template's: a template change makes a new revision that gets no traffic
    # while the split is pinned, so the revision that should serve would stay cold.
    wanted = _min_wanted(ctx, step)
    before = ctx.primary().min_instances(ctx.service)
    after = ctx.primary().set_min_instances(ctx.service, wanted)
    return {"service": ctx.service, "from": before, "to": wanted, "level": "service", "serving": after.serving_revision}


# -- network ------------------------------------------------------------------------------------------

def _stable_image(ctx: RecoveryContext) -> str:
    state = ctx.primary().get_service(ctx.service)
    name = state.tags.get(STABLE_TAG) or state.serving_revision
    revision = state.revision(name or "")
    if revision is None:
        raise OperationFailed(f"{ctx.environment} has no stable revision whose image could serve in "
                              f"{ctx.config.infrastructure.failover_region}")
    return revision.image


def _failover_describe(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> str:
    region = ctx.config.infrastructure.failover_region
    return (f"would serve {_stable_image(ctx)} as {ctx.service} in {region} with {ctx.config.infrastructure.region}'s "
            "whole configuration (environment and secret references, service account, scaling, network path, "
            "ingress and invoker policy), creating the service if missing")


def _failover_run(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> dict[str, Any]:
    image = _stable_image(ctx)
    ctx.secondary().serve_copy(ctx.service, image, source=ctx.primary())
    return {"region": ctx.config.infrastructure.failover_region, "image": image,
            "copied_from": ctx.config.infrastructure.region}


def _frontend_env(ctx: RecoveryContext) -> Any:
    if ctx.ports.frontend_env is None:
        raise OperationFailed("the frontend's environment variables cannot be changed here: no Vercel client "
                              "is configured for recovery")
    return ctx.ports.frontend_env


def _secondary_ws(ctx: RecoveryContext) -> str:
    uri = ctx.secondary().get_service(ctx.service).uri
    if not uri:
        raise OperationFailed(f"{ctx.service} in {ctx.config.infrastructure.failover_region} has no URL yet")
    return ws_url(uri)


def _point_describe(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> str:
    variable = frontend_env.WEBSOCKET_URL
    return f"would set {variable} of Vercel project {ctx.config.application.frontend_project} to the " \
           f"{ctx.config.infrastructure.failover_region} WebSocket URL"


def _point_run(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> dict[str, Any]:
    variable = frontend_env.WEBSOCKET_URL
    url = _secondary_ws(ctx)
    project = ctx.config.application.frontend_project
    _frontend_env(ctx).set_env(project, variable, url)
    return {"project": project, "variable": variable, "value": url}


def _redeploy_describe(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> str:
    project = ctx.config.application.frontend_project
    live = ctx.engine.ports.frontend.production_deployment(project)
    ref = live.git_ref if live and live.git_ref else "main"
    return f"would build {project} from {ref} for production, wait until it is ready and promote it"


def _redeploy_run(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> dict[str, Any]:
    frontend, project = ctx.engine.ports.frontend, ctx.config.application.frontend_project
    started = datetime.fromisoformat(str(incident.record["started_at"]))
    live = frontend.production_deployment(project)
    ours = [d for d in frontend.list_deployments(project, limit=20, target="production") if d.created_at >= started]
    if live is not None and ours and live.id == ours[0].id:
        return {"deployment": live.id, "observed": True}  # an earlier attempt already promoted it
    build = ours[0] if ours else frontend.create_deployment(project, live.git_ref if live and live.git_ref
                                                            else "main", target="production")
    waited = 0.0
    while not frontend.get_deployment(build.id).ready:
        if waited >= step.timeout_s:
            raise OperationFailed(f"frontend build {build.id} of {project} was not ready within {step.timeout_s:g} s")
        ctx.sleep(5.0)
        waited += 5.0
    frontend.promote(project, build.id)
    while (current := frontend.production_deployment(project)) is None or current.id != build.id:
        if waited >= step.timeout_s:
            raise OperationFailed(f"frontend build {build.id} of {project} was not promoted within "
                                  f"{step.timeout_s:g} s")
        ctx.sleep(2.0)
        waited += 2.0
    return {"deployment": build.id, "project": project}


# -- storage ------------------------------------------------------------------------------------------

def _redis(ctx: RecoveryContext) -> Any:
    if ctx.ports.redis is None:
        raise OperationFailed("Redis cannot be failed over here: no Memorystore client is configured")
    return ctx.ports.redis


def _instance(ctx: RecoveryContext, step: RunbookStep) -> str:
    return ctx.redis_instance(str(step.params.get("instance", "agent-network-redis")))


def _promote_describe(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> str:
    found = _redis(ctx).get_instance(_instance(ctx, step))
    return f"would promote the replica of {found.name} (primary now in {found.current_location})"


def _promote_run(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> dict[str, Any]:
    name = _instance(ctx, step)
    before = _redis(ctx).get_instance(name)
    after = _redis(ctx).failover(name)
    return {"instance": name, "from": before.current_location, "to": after.current_location}


def _backup_uri(ctx: RecoveryContext, step: RunbookStep) -> str:
    return str(step.params.get("backup_uri", "gs://{project}-redis-backups/latest.rdb")).format(
        project=ctx.config.infrastructure.gcp_project, environment=ctx.environment)


def _restore_describe(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> str:
    return f"would import {_backup_uri(ctx, step)} into {_instance(ctx, step)}"


def _restore_run(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> dict[str, Any]:
    name, uri = _instance(ctx, step), _backup_uri(ctx, step)
    _redis(ctx).import_backup(name, uri)
    return {"instance": name, "backup": uri}


# -- infrastructure -----------------------------------------------------------------------------------

def _reapply_describe(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> str:
    return f"would re-apply the last known good infrastructure of {ctx.environment} (Terraform)"


def _reapply_run(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> dict[str, Any]:
    hook = ctx.engine.ports.infrastructure
    if hook is None:
        raise OperationFailed("infrastructure cannot be re-applied here: no Terraform runner configured")
    return {"result": str(hook.restore_last_good(ctx.environment))}


ACTIONS: dict[str, Action] = {
    "route_to_last_healthy_revision": Action(_route_describe, _route_run),
    "raise_min_instances": Action(_scale_describe, _scale_run),
    "fail_over_region": Action(_failover_describe, _failover_run),
    "point_frontend_websocket": Action(_point_describe, _point_run),
    "redeploy_frontend": Action(_redeploy_describe, _redeploy_run),
    "promote_redis_replica": Action(_promote_describe, _promote_run),
    "restore_redis_backup": Action(_restore_describe, _restore_run),
    "reapply_infrastructure": Action(_reapply_describe, _reapply_run),
}


# -- checks -------------------------------------------------------------------------------------------

def _url(ctx: RecoveryContext) -> str:
    return ctx.primary().get_service(ctx.service).uri


def _all_ok(ctx: RecoveryContext, url: str, path: str, what: str) -> CheckOutcome:
    answers = probe(ctx.ports.http, url, path, ctx.probes)
    failed = [a for a in answers if not a.ok]
    if not failed:
        return CheckOutcome(True, f"all {len(answers)} {what} probes answered 200", {"probes": len(answers)})
    reason = failed[0].reason or f"status {failed[0].status}"
    return CheckOutcome(False, f"{len(failed)} of {len(answers)} {what} probes failed: {reason}",
                        {"probes": len(answers), "failed": len(failed)})


def check_service_health(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> CheckOutcome:
    return _all_ok(ctx, _url(ctx), "/healthz", "health")


def check_service_ready(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> CheckOutcome:
    return _all_ok(ctx, _url(ctx), "/readyz", "readiness")


def _delivery(url: str, ctx: RecoveryContext) -> CheckOutcome:
    got = deliver(url, ctx.messages, ctx.ack_timeout_s)
    outputs = {"sent": got.sent, "acknowledged": got.acked}
    if got.lost == 0:
        return CheckOutcome(True, f"all {got.sent} WebSocket messages acknowledged", outputs)
    return CheckOutcome(False, f"{got.lost} of {got.sent} WebSocket messages not acknowledged"
                        + (f" ({got.problem})" if got.problem else ""), outputs)


def check_websocket_delivery(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> CheckOutcome:
    return _delivery(_url(ctx), ctx)


def check_error_rate(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> CheckOutcome:
    limit = ctx.config.strategy.triggers.error_rate
    answers = probe(ctx.ports.http, _url(ctx), "/", ctx.probes * 3)
    bad = sum(a.status is None or a.status >= 500 for a in answers)
    share = bad / len(answers)
    outputs = {"requests": len(answers), "errors_5xx": bad, "limit": limit}
    return CheckOutcome(share <= limit, f"{bad} of {len(answers)} requests failed ({share:.1%}; limit {limit:.0%})",
                        outputs)


def check_min_instances(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> CheckOutcome:
    now = ctx.primary().min_instances(ctx.service)
    return CheckOutcome(now >= 1, f"{ctx.service} keeps {now} instance(s) warm service-wide", {"min_instances": now})


def check_secondary(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> CheckOutcome:
    region = ctx.config.infrastructure.failover_region
    if not ctx.secondary().exists(ctx.service):
        return CheckOutcome(False, f"{ctx.service} does not exist in {region}")
    state = ctx.secondary().get_service(ctx.service)
    if state.reconciling or not state.traffic:
        return CheckOutcome(False, f"{ctx.service} in {region} is not serving yet (revision starting)")
    differs = _differs_from_primary(ctx, state)
    if differs:
        return CheckOutcome(False, f"{ctx.service} in {region} is not configured like "
                                   f"{ctx.config.infrastructure.region}: {differs}")
    health = _all_ok(ctx, state.uri, "/healthz", f"{region} health")
    if not health.passed:
        return health
    delivery = _delivery(state.uri, ctx)
    return CheckOutcome(delivery.passed, f"{region}: {health.detail}; {delivery.detail}",
                        {"region": region, "url": state.uri, **delivery.outputs})


def _differs_from_primary(ctx: RecoveryContext, secondary: ServiceState) -> str:
    """What the failover copy's scaling and environment lack of the primary's ("" when alike, or when the primary's
    control plane cannot be read: the outage may be what stops it, and readiness is then what decides)."""
    try:
        primary = ctx.primary().get_service(ctx.service)
    except OpsError:
        return ""
    if primary.settings is None or secondary.settings is None:
        return ""
    changes = settings_changes(primary.settings, secondary.settings)
    return "; ".join(c.describe() for c in changes)


def check_frontend_url(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> CheckOutcome:
    variable = frontend_env.WEBSOCKET_URL
    project = ctx.config.application.frontend_project
    value = _frontend_env(ctx).get_env(project, variable)
    wanted = _secondary_ws(ctx)
    return CheckOutcome(value == wanted, f"{variable} of {project} is {value or 'unset'}"
                        + ("" if value == wanted else f", expected {wanted}"), {"value": value})


def check_redis_keys(ctx: RecoveryContext, step: RunbookStep, incident: Incident) -> CheckOutcome:
    """Redis's keys per prefix now, as the service's readiness endpoint counts them, against the counts taken
    when the incident began (or the last the service read before Redis went away)."""
    now = redis_key_counts(ctx.ports.http, _url(ctx))
    if now.counts is None or now.read_at:  # an earlier count is a baseline, never proof that keys survived now
        why = now.problem or "Redis is unreachable from the service, which only reported an earlier count"
        return CheckOutcome(False, f"Redis key counts could not be measured: {why}", {"measured": False})
    baseline = incident.record.get("baseline") or {}
    before = baseline.get("redis_key_counts")
    outputs = {"keys": now.total, "counts": dict(now.counts), "measured": True}
    if not isinstance(before, dict):
        return CheckOutcome(False, f"{now.shown()} now, but none were counted when the incident began, so nothing "
                                   "shows that they survived", outputs)
    if dict(before) == dict(now.counts):
        return CheckOutcome(True, f"{now.shown()}, as when the incident began", outputs)
    was = KeyCounts(before, str(baseline.get("redis_keys_read_at") or ""))
    return CheckOutcome(False, f"{now.shown()} now; when the incident began: {was.shown()}", outputs)


Check = Callable[[RecoveryContext, RunbookStep, Incident], CheckOutcome]
CHECKS: dict[str, Check] = {
    "service_health": check_service_health,
    "service_ready": check_service_ready,
    "websocket_delivery": check_websocket_delivery,
    "error_rate": check_error_rate,
    "min_instances": check_min_instances,
    "secondary_region_health": check_secondary,
    "frontend_websocket_url": check_frontend_url,
    "redis_keys_intact": check_redis_keys,
}
