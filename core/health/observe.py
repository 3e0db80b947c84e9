"""Observing one environment's live health: probes of the service URL, Monitoring over the recent window, Cloud
Run's word on its serving revisions and which of its alert policies fire (when it has any), judged by
core.model.health.judge_health.

The probes are the verifier's own checks (core.verify.health and .websocket) against the service URL, with a
short timeout; Monitoring is read once, over `window_s`, through the MetricsProvider port.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from core.config import EnvironmentConfig
from core.errors import OpsError
from core.model.health import Health, HealthObservations, ProbeResult, RevisionLoad, judge_health
from core.ports import AlertPolicies, CloudRunProvider, MetricsProvider
from core.verify.common import CheckContext
from core.verify.health import check_health
from core.verify.report import CheckResult, VerifyTarget
from core.verify.websocket import check_websocket

WEBSOCKET_MESSAGES = 3  # a round trip, not a load test


def _probe(name: str, result: CheckResult, latency_key: str) -> ProbeResult:
    details = result.details
    latency = details.get(latency_key)
    if isinstance(latency, dict):
        latency = latency.get("latency_ms")
    return ProbeResult(name, result.outcome == "pass", latency if isinstance(latency, int | float) else None,
                       result.summary)


def observe_health(env: EnvironmentConfig, cloudrun: CloudRunProvider, metrics: MetricsProvider,
                   http: httpx.Client, now: Callable[[], datetime], alerts: AlertPolicies | None = None) -> Health:
    """Gather every observation of `env` and judge it; a provider that fails becomes a note, never an error."""
    limits = env.health.thresholds(env.strategy)
    service = env.infrastructure.service_name
    errors: dict[str, str] = {}
    url, problem = "", ""
    ready: bool | None = None
    serving: tuple[str, ...] = ()
    try:
        state = cloudrun.get_service(service)
        url = state.uri
        serving = tuple(name for name, percent in state.traffic.items() if percent)
        unready = [name for name in serving if (r := state.revision(name)) is not None and not r.ready]
        ready = bool(serving) and not unready
        problem = (f"revision(s) {', '.join(unready)} serve traffic but are not ready" if unready
                   else "no revision serves traffic" if not serving else "")
    except OpsError as exc:
        errors["cloud run"] = str(exc)
    probes: tuple[ProbeResult, ...] = ()
    if url:
        target = VerifyTarget(environment=env.name, service=service, revision="(service URL)", url=url, config=env)
        ctx = CheckContext(target=target, metrics=None, criteria=env.strategy.criteria, window=None,
                           profile="sandbox", http=http, messages=WEBSOCKET_MESSAGES, timeout=limits.probe_timeout_s)
        probes = (_probe("health endpoint", check_health(ctx), "/healthz"),
                  _probe("WebSocket round trip", check_websocket(ctx), "rtt_p99_ms"))
    end = now()
    revisions: tuple[RevisionLoad, ...] | None = None
    recent: tuple[RevisionLoad, ...] | None = None
    try:
        found = metrics.revision_metrics(service, end - timedelta(seconds=limits.window_s), end)
        revisions = tuple(RevisionLoad(name, m.total, m.errors_5xx, m.p99_ms, m.instances, limits.window_s)
                          for name, m in found.items() if not serving or name in serving)
        newest = metrics.revision_metrics(service, end - timedelta(seconds=limits.recent_s), end)
        recent = tuple(RevisionLoad(name, m.total, m.errors_5xx, m.p99_ms, m.instances, limits.recent_s)
                       for name, m in newest.items() if not serving or name in serving)
    except OpsError as exc:
        errors["monitoring"] = str(exc)
    firing: tuple[str, ...] | None = None
    unread = ""
    if alerts is not None:
        try:
            firing = tuple(f.describe() for f in alerts.firing(service, env.name))
        except OpsError as exc:  # e.g. no monitoring.alertPolicies.list permission: health is judged without them
            unread = str(exc)
    observations = HealthObservations(env.name, end, probes, revisions, ready, problem, errors, firing, unread,
                                      recent)
    return judge_health(observations, limits)
