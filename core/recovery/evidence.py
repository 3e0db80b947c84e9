"""Gather the symptoms of an incident: what users reach, what Cloud Run, metrics and Redis say, what changed.

Every source is asked once; a source that cannot be reached is itself a symptom (a one-line note),
never an error for the whole picture.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from core.errors import OpsError
from core.recovery.context import RecoveryContext
from core.recovery.probes import Answer, Delivery, deliver, probe
from core.recovery.redis_keys import redis_key_counts

RECENT = timedelta(hours=1)
METRICS_WINDOW = timedelta(minutes=5)
REDIS_INSTANCE = "agent-network-redis"


@dataclass(frozen=True)
class RevisionSeen:
    name: str
    percent: int
    ready: bool
    image: str
    requests: int | None = None  # from Cloud Monitoring over the last five minutes
    error_rate: float | None = None


@dataclass(frozen=True)
class RecentChange:
    deployment_id: str
    started_at: str
    versions: dict[str, str]
    status: str
    strategy: str
    new_revision: str | None


@dataclass(frozen=True)
class Symptoms:
    environment: str
    production: bool
    region: str
    service: str
    observed_at: str
    service_url: str = ""
    control_plane_error: str | None = None
    revisions: tuple[RevisionSeen, ...] = ()
    min_instances: int | None = None
    health: tuple[Answer, ...] = ()
    readiness: tuple[Answer, ...] = ()
    requests: tuple[Answer, ...] = ()  # GET / on the service URL: which revision answered, and how
    delivery: Delivery | None = None
    metrics_error: str | None = None
    recent_changes: tuple[RecentChange, ...] = ()
    redis_instance: str = ""
    redis_keys: int | None = None
    redis_key_counts: dict[str, int] | None = None  # per prefix, from the service's /readyz
    redis_keys_read_at: str = ""  # "" when counted at observed_at, else when the service last read them
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _revisions(context: RecoveryContext, notes: list[str]) -> tuple[tuple[RevisionSeen, ...], str, str | None]:
    try:
        state = context.primary().get_service(context.service)
    except OpsError as exc:
        return (), "", str(exc)
    rates: dict[str, Any] = {}
    now = context.now()
    try:
        rates = context.engine.ports.metrics(context.environment).revision_metrics(
            context.service, now - METRICS_WINDOW, now)
    except OpsError as exc:
        notes.append(f"metrics unavailable: {exc}")
    seen = []
    for r in state.revisions:
        if not (r.percent or r.tags):
            continue
        m = rates.get(r.name)
        seen.append(RevisionSeen(r.name, r.percent, r.ready, r.image, m.total if m else None,
                                 m.error_rate if m else None))
    return tuple(seen), state.uri, None


def _recent(context: RecoveryContext) -> tuple[RecentChange, ...]:
    since = context.now() - RECENT
    found = context.engine.registry.list_deployments(environment=context.environment, since=since, limit=20)
    out = []
    for d in found:
        recorded = d.metadata.get("rollout")
        rollout = recorded if isinstance(recorded, dict) else {}
        revision = rollout.get("new_revision") or d.metadata.get("new_revision")
        out.append(RecentChange(d.id, d.started_at.isoformat(), dict(d.versions), str(d.status), d.strategy,
                                revision if isinstance(revision, str) else None))
    return tuple(out)


def gather_symptoms(context: RecoveryContext) -> Symptoms:
    """Ask every source once: Cloud Run, the service URL (health, readiness, requests, WebSocket), metrics,
    Memorystore and the registry's deployments of the last hour."""
    notes: list[str] = []
    infra = context.config.infrastructure
    revisions, url, control_error = _revisions(context, notes)
    http = context.ports.http
    min_instances = None
    if control_error is None:
        try:
            min_instances = context.primary().min_instances(context.service)
        except OpsError as exc:
            notes.append(f"scaling unknown: {exc}")
    health = probe(http, url, "/healthz", context.probes)
    readiness = probe(http, url, "/readyz", max(3, context.probes // 3))
    requests = probe(http, url, "/", context.probes * 3)
    delivery = deliver(url, context.messages, context.ack_timeout_s) if url else Delivery(context.messages, 0,
                                                                                          "no service URL")
    instance = context.redis_instance(REDIS_INSTANCE)
    keys = redis_key_counts(http, url)  # the baseline "Redis keys intact" compares with
    if keys.counts is None:
        notes.append(f"Redis keys not counted: {keys.problem}")
    return Symptoms(
        environment=context.environment, production=context.environment == "production", region=infra.region,
        service=context.service, observed_at=context.now().isoformat(), service_url=url,
        control_plane_error=control_error, revisions=revisions, min_instances=min_instances,
        health=tuple(health), readiness=tuple(readiness), requests=tuple(requests), delivery=delivery,
        recent_changes=_recent(context), redis_instance=instance,
        redis_keys=keys.total if keys.counts is not None else None,
        redis_key_counts=dict(keys.counts) if keys.counts is not None else None, redis_keys_read_at=keys.read_at,
        notes=tuple(notes))
