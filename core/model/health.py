"""Live health of one environment between deployments: ok, degraded or down, with one line of reason.

Pure data and the one rule (`judge_health`): core.health.observe gathers the observations, the CLI's
`status` and `watch` and (later) the cards print `Health.describe()`; nobody else re-derives the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

HealthState = Literal["ok", "degraded", "down"]
STATES: tuple[HealthState, ...] = ("ok", "degraded", "down")


@dataclass(frozen=True)
class HealthThresholds:
    """The limits health is judged against (core.config.health resolves them from the configuration)."""

    max_5xx_rate: float
    max_p99_latency_ms: float
    window_s: int = 300
    probe_timeout_s: float = 2.0
    recent_s: int = 60  # the newest minute, judged too: a clear breach there need not wait for the whole window
    recent_confidence: float = 0.999  # ... only when the rate's lower bound at this confidence is past the limit


@dataclass(frozen=True)
class ProbeResult:
    """One direct probe of the service URL: the health endpoint or a WebSocket round trip."""

    name: str  # "health endpoint", "WebSocket round trip"
    ok: bool
    latency_ms: float | None
    detail: str  # the probe's own one-clause account


@dataclass(frozen=True)
class RevisionLoad:
    """What Monitoring reports for one serving revision over the recent window."""

    revision: str
    requests: int
    errors_5xx: int
    p99_ms: float | None
    instances: int
    window_s: float

    @property
    def error_rate(self) -> float | None:
        return self.errors_5xx / self.requests if self.requests else None


@dataclass(frozen=True)
class HealthObservations:
    """Everything judged: `revisions` is None when Monitoring did not answer; `service_ready` None when Cloud Run
    did not; `provider_errors` maps each provider that did not answer to its one-line error."""

    environment: str
    observed_at: datetime
    probes: tuple[ProbeResult, ...] = ()
    revisions: tuple[RevisionLoad, ...] | None = None
    service_ready: bool | None = None
    service_problem: str = ""
    provider_errors: Mapping[str, str] = field(default_factory=dict)
    firing: tuple[str, ...] | None = None  # each firing alert policy, described; None when not read
    firing_error: str = ""  # why they were not read: a note, never a verdict (an optional source must not page)
    recent: tuple[RevisionLoad, ...] | None = None  # the same revisions over the newest `recent_s` only


@dataclass(frozen=True)
class Health:
    """The verdict: `reason` names the number that crossed and its limit; `crossed` is that number's key."""

    environment: str
    state: HealthState
    reason: str
    observed_at: datetime
    numbers: Mapping[str, float | int | None] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)  # per source: "probes", "monitoring", "cloud run"
    crossed: str | None = None
    firing: tuple[str, ...] = ()  # the environment's alert policies that fire now, one line each

    @property
    def headline(self) -> str:
        """The reason without its parenthesised details: what a card or a toast has room for."""
        return self.reason.split(" (", 1)[0]

    def describe(self) -> str:
        """One line for a log or `watch`."""
        return f"{self.environment}: {self.state} — {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """The one JSON shape of health (status --json, watch --json, the registry's history)."""
        return {"environment": self.environment, "state": self.state, "reason": self.reason,
                "observed_at": self.observed_at.isoformat(), "numbers": dict(self.numbers),
                "notes": dict(self.notes), "crossed": self.crossed, "firing": list(self.firing)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Health:
        state = data.get("state")
        return cls(environment=str(data.get("environment", "")),
                   state=cast(HealthState, state) if state in STATES else "down",
                   reason=str(data.get("reason", "")), observed_at=datetime.fromisoformat(str(data["observed_at"])),
                   numbers=dict(data.get("numbers") or {}), notes=dict(data.get("notes") or {}),
                   crossed=data.get("crossed"), firing=tuple(str(f) for f in data.get("firing") or ()))


def _pct(share: float) -> str:
    pct = share * 100.0
    return f"{pct:.0f} %" if pct >= 10 or pct == int(pct) else f"{pct:.1f} %" if pct >= 0.1 else f"{pct:.2f} %"


def judge_health(obs: HealthObservations, limits: HealthThresholds) -> Health:
    """The rule, in one place: down beats degraded beats ok; the first reason of the worst state is given."""
    revisions = obs.revisions or ()
    requests = sum(r.requests for r in revisions)
    errors = sum(r.errors_5xx for r in revisions)
    rate = errors / requests if requests else None
    p99s = [r.p99_ms for r in revisions if r.p99_ms is not None and r.requests]
    p99 = max(p99s) if p99s else None
    instances = sum(r.instances for r in revisions) if obs.revisions is not None else None
    window = max((r.window_s for r in revisions), default=0.0)
    failed = [p for p in obs.probes if not p.ok]
    numbers: dict[str, float | int | None] = {
        "5xx_rate": None if rate is None else round(rate, 4), "max_5xx_rate": limits.max_5xx_rate,
        "p99_latency_ms": None if p99 is None else round(p99, 1), "max_p99_latency_ms": limits.max_p99_latency_ms,
        "requests_per_s": round(requests / window, 2) if window else None, "instances": instances,
        "probes_ok": len(obs.probes) - len(failed), "probes": len(obs.probes)}
    notes: dict[str, str] = {"probes": "; ".join(f"{p.name}: {p.detail}" for p in obs.probes) or "none run"}
    notes["monitoring"] = (obs.provider_errors.get("monitoring", "did not answer") if obs.revisions is None else
                           f"{len(revisions)} serving revision(s), {requests} requests in {window:.0f} s")
    unready = f"not ready: {obs.service_problem or 'no reason given'}"
    notes["cloud run"] = (obs.provider_errors.get("cloud run", "did not answer") if obs.service_ready is None
                          else "ready" if obs.service_ready else unready)

    firing = obs.firing or ()
    if obs.firing is not None:
        notes["alert policies"] = f"{len(firing)} firing" if firing else "none firing"
    elif obs.firing_error:
        notes["alert policies"] = f"not read: {obs.firing_error}"

    def verdict(state: HealthState, reason: str, crossed: str | None = None) -> Health:
        return Health(obs.environment, state, reason, obs.observed_at, numbers, notes, crossed, firing)

    # Down: nobody can be served.
    if instances == 0 and requests:  # scale-to-zero with no traffic is idle, not down
        return verdict("down", f"no instance is running while {requests} requests arrived "
                               f"({errors} answered 5xx)", "instances")
    if obs.probes and len(failed) == len(obs.probes):
        return verdict("down", f"every probe fails ({'; '.join(f'{p.name}: {p.detail}' for p in failed)})",
                       "probes_ok")
    if obs.service_ready is False:
        return verdict("down", f"Cloud Run says the service is not ready: {obs.service_problem or 'no reason given'}")
    # Degraded: a rollback trigger would fire, a probe fails, or a source of evidence is missing.
    breach = _recent_breach(obs.recent or (), limits)
    if breach:
        return verdict("degraded", breach, "5xx_rate")
    if rate is not None and rate > limits.max_5xx_rate:
        return verdict("degraded", f"5xx rate {_pct(rate)} is over the limit {_pct(limits.max_5xx_rate)} "
                                   f"({errors} of {requests} requests)", "5xx_rate")
    if p99 is not None and p99 > limits.max_p99_latency_ms:
        return verdict("degraded", f"p99 latency {p99:.0f} ms is over the limit {limits.max_p99_latency_ms:.0f} ms",
                       "p99_latency_ms")
    if failed:
        return verdict("degraded", f"{len(failed)} of {len(obs.probes)} probes fail: "
                                   + "; ".join(f"{p.name}: {p.detail}" for p in failed), "probes_ok")
    if firing:  # Google would alert on it: whoever is on call hears of it, so the card says so too
        return verdict("degraded", f"alert policy {firing[0]}" + (f" (+{len(firing) - 1} more)" if len(firing) > 1
                                                                    else ""), "alert_policies")
    silent = sorted(obs.provider_errors)
    if silent:
        return verdict("degraded", "; ".join(f"{name} does not answer ({obs.provider_errors[name]})"
                                             for name in silent))
    said = [f"{len(obs.probes)}/{len(obs.probes)} probes ok"]
    if rate is not None:
        said.append(f"5xx {_pct(rate)} (limit {_pct(limits.max_5xx_rate)})")
    if p99 is not None:
        said.append(f"p99 {p99:.0f} ms (limit {limits.max_p99_latency_ms:.0f} ms)")
    return verdict("ok", ", ".join(said))


def _recent_breach(recent: Iterable[RevisionLoad], limits: HealthThresholds) -> str:
    """The newest minute's 5xx rate when it is past the limit beyond doubt (its exact lower bound at
    `recent_confidence` above the limit: a few unlucky requests never page anyone), else "".

    The whole window dilutes a fault that began a minute ago (8 % of 5xx for one minute of five reads 1.6 %), so
    a fault would wait minutes to cross on it; the newest minute alone crosses as soon as it is clear."""
    from core.analysis.stats import clopper_pearson  # here: core.analysis reads the configuration, which reads us

    loads = list(recent)
    requests = sum(r.requests for r in loads)
    errors = sum(r.errors_5xx for r in loads)
    if not requests or clopper_pearson(errors, requests, limits.recent_confidence)[0] <= limits.max_5xx_rate:
        return ""
    return (f"5xx rate {_pct(errors / requests)} in the last {limits.recent_s} s is over the limit "
            f"{_pct(limits.max_5xx_rate)} ({errors} of {requests} requests)")


def is_change(previous: str | None, health: Health) -> bool:
    """Whether `health` is a change from the last recorded state (None or "unknown": nothing recorded yet)."""
    return previous != health.state


# What a card shows in red: a number a rollback trigger watches crossed (or worse), or Google's own alert fires.
TRIGGER_KEYS = frozenset({"5xx_rate", "p99_latency_ms", "instances", "probes_ok", "alert_policies"})
_RANK = {"ok": 0, "degraded": 1, "down": 2}
PageAt = Literal["degraded", "down", "never"]


def alarming(health: Health) -> bool:
    """Red on a card: down, or degraded because a number a rollback trigger watches crossed its limit or an alert
    policy fires (a source that does not answer is degraded too, but amber: nobody's users are known to suffer)."""
    return health.state == "down" or (health.state == "degraded" and health.crossed in TRIGGER_KEYS)


def worst(found: Iterable[Health]) -> Health | None:
    """The environment in the worst state (the first of equals, in the order given), None when none is known."""
    return max(found, key=lambda h: _RANK[h.state], default=None)


def health_headline(found: Sequence[Health]) -> str:
    """The header's word on every environment: "production DOWN", "DOWN: dev, staging" (each in the worst state),
    "all environments healthy", or "" before any was observed."""
    bad = worst(found)
    if bad is None:
        return ""
    if bad.state == "ok":
        return "all environments healthy" if len(found) > 1 else f"{bad.environment} healthy"
    names = [h.environment for h in found if h.state == bad.state]
    return f"{names[0]} {bad.state.upper()}" if len(names) == 1 else f"{bad.state.upper()}: {', '.join(names)}"


@dataclass(frozen=True)
class HealthAlert:
    """What to tell people about one recorded change of health: always a Slack line; `page` a PagerDuty trigger
    (with `severity`) or `resolve` the page an earlier state raised, under the environment's one dedup key."""

    environment: str
    summary: str
    severity: str  # a Notice severity: info, warning, error, critical
    page: bool
    resolve: bool

    @property
    def dedup_key(self) -> str:
        return health_dedup_key(self.environment)


def health_dedup_key(environment: str) -> str:
    """One PagerDuty alert per environment's health: a worse state updates it, recovery resolves it."""
    return f"opsconsole-health-{environment}"


def pages(state: str | None, page_at: PageAt) -> bool:
    """Whether an environment in `state` pages under its `page_at` rule (never for ok or an unknown state)."""
    if page_at == "never" or state not in _RANK:
        return False
    return _RANK[state] >= _RANK[page_at]


def alert_for(previous: str | None, health: Health, page_at: PageAt) -> HealthAlert | None:
    """The alert for a change from `previous` (None or "unknown": nothing recorded) to `health`, or None.

    Nothing is said when the first observation is ok (no news) or when nothing changed. A state that pages
    triggers (again, so PagerDuty's alert carries the worse state; the dedup key keeps it one alert); leaving
    every paging state resolves the page.
    """
    if not is_change(previous, health) or (previous in (None, "unknown") and health.state == "ok"):
        return None
    now_pages, paged = pages(health.state, page_at), pages(previous, page_at)
    if health.state == "ok":
        return HealthAlert(health.environment, f"{health.environment} is healthy again ({health.reason})", "info",
                           page=False, resolve=paged)
    severity = "critical" if health.state == "down" else "warning"
    return HealthAlert(health.environment, f"{health.environment} is {health.state.upper()}: {health.reason}",
                       severity, page=now_pages, resolve=paged and not now_pages)
