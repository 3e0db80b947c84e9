"""identify_failure_type: from symptoms to a failure type (compute, network, storage, unknown), a severity
(SEV1–SEV4 from user impact), a scope and the evidence behind each conclusion; a deployment of the last
hour is named as the suspect.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from core.recovery.evidence import Symptoms

# (total outage, degraded) severities per environment: users of production are paged for, dev is not.
_SEVERITY = {"production": ("SEV1", "SEV2"), "staging": ("SEV2", "SEV3"), "dev": ("SEV3", "SEV4")}


@dataclass(frozen=True)
class Finding:
    """One piece of evidence: the signal it supports and what was seen, in one sentence."""

    signal: str
    detail: str


@dataclass(frozen=True)
class Scope:
    environment: str
    components: tuple[str, ...]
    regions: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    failure_type: str  # compute, network, storage or unknown
    severity: str
    scope: Scope
    summary: str
    signals: tuple[str, ...] = ()
    evidence: tuple[Finding, ...] = ()
    suspect_deployment_id: str | None = None
    suspect_revision: str | None = None
    user_impact: float = 0.0  # share of probes and messages that failed, 0..1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Classification:
        scope = data["scope"]
        return cls(failure_type=data["failure_type"], severity=data["severity"],
                   scope=Scope(scope["environment"], tuple(scope["components"]), tuple(scope["regions"])),
                   summary=data["summary"], signals=tuple(data.get("signals", ())),
                   evidence=tuple(Finding(**f) for f in data.get("evidence", ())),
                   suspect_deployment_id=data.get("suspect_deployment_id"),
                   suspect_revision=data.get("suspect_revision"), user_impact=float(data.get("user_impact", 0.0)))


@dataclass
class _Reading:
    symptoms: Symptoms
    findings: list[Finding] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)

    def saw(self, signal: str, detail: str) -> None:
        self.findings.append(Finding(signal, detail))
        if signal not in self.signals:
            self.signals.append(signal)


def _share_failed(answers: tuple[Any, ...]) -> float:
    return sum(not a.ok for a in answers) / len(answers) if answers else 1.0


def _top_reason(answers: tuple[Any, ...]) -> tuple[str, int]:
    reasons = Counter(a.reason or f"status {a.status}" for a in answers if not a.ok)
    return reasons.most_common(1)[0] if reasons else ("", 0)


def _bad_revision(s: Symptoms, threshold: float) -> tuple[str, str] | None:
    """The serving revision whose 5xx share is over the threshold, by metrics or else by probes."""
    for r in s.revisions:
        if r.percent and r.error_rate is not None and r.requests and r.error_rate > threshold:
            return r.name, (f"revision {r.name} answered {r.error_rate:.1%} of {r.requests} requests with 5xx "
                            f"in the last 5 minutes (trigger {threshold:.0%})")
    measured = {r.name for r in s.revisions if r.requests}  # metrics outweigh a handful of probes
    per: dict[str, list[bool]] = {}
    for a in s.requests:
        if a.revision and a.revision not in measured:
            per.setdefault(a.revision, []).append(a.status is not None and a.status >= 500)
    for name, outcomes in per.items():
        share = sum(outcomes) / len(outcomes)
        if len(outcomes) >= 10 and sum(outcomes) >= 3 and share > threshold:
            return name, f"revision {name} answered {sum(outcomes)} of {len(outcomes)} probes with 5xx"
    return None


def _suspect(s: Symptoms, revision: str | None) -> tuple[str, str] | None:
    changes = [c for c in s.recent_changes if c.strategy != "rollback"]
    if not changes:
        return None
    image = next((r.image for r in s.revisions if r.name == revision), "")
    tag = image.rsplit(":", 1)[-1] if ":" in image else ""
    matching = [c for c in changes if revision and (c.new_revision == revision
                                                      or c.versions.get("websocket-server") in (tag, image))]
    chosen = (matching or changes)[0]
    what = ", ".join(f"{k} {v}" for k, v in sorted(chosen.versions.items()))
    return chosen.deployment_id, f"deployment {chosen.deployment_id} ({what}) started {chosen.started_at}, " \
                                 "within the last hour"


def identify_failure_type(symptoms: Symptoms, *, error_threshold: float = 0.05) -> Classification:
    """Classify the failure; `error_threshold` is the 5xx share that counts as a bad revision."""
    s = symptoms
    read = _Reading(s)
    health_failed = _share_failed(s.health)
    reason, count = _top_reason(s.health)
    if s.production:
        read.signals.append("production")
    if s.control_plane_error:
        read.saw("control_plane_down", f"Cloud Run could not be read: {s.control_plane_error}")
    if s.health and count:
        read.findings.append(Finding("health", f"{count} of {len(s.health)} health probes failed: {reason}"))
    failure_type, bad = "unknown", None
    if "unreachable" in reason or (s.health and all(a.status is None for a in s.health)) or s.control_plane_error:
        failure_type = "network"
        read.saw("region_unreachable", f"the service in {s.region} cannot be reached: {reason or 'no answer'}")
    elif "no instance" in reason:
        failure_type = "compute"
        read.saw("instances_zero", f"no instance serves {s.service} (min instances {s.min_instances}); "
                                   f"{count} of {len(s.health)} probes answered 503")
    else:
        ready_reason, ready_count = _top_reason(s.readiness)
        lost = s.delivery.lost if s.delivery else 0
        if "redis" in ready_reason:
            failure_type = "storage"
            read.saw("redis_unreachable", f"{ready_count} of {len(s.readiness)} readiness probes say: {ready_reason}")
        if lost:
            read.saw("delivery_lost", f"{lost} of {s.delivery.sent if s.delivery else 0} WebSocket messages were "
                                      f"not acknowledged" + (f" ({s.delivery.problem})" if s.delivery and
                                                              s.delivery.problem else ""))
            if failure_type == "unknown" and health_failed == 0:
                failure_type = "storage"
        if failure_type == "unknown":
            bad = _bad_revision(s, error_threshold)
            if bad is not None:
                failure_type = "compute"
                read.saw("bad_revision", bad[1])
    suspect = _suspect(s, bad[0] if bad else None)
    if suspect is not None:
        read.saw("suspect_deployment", suspect[1])
    lost_share = (s.delivery.lost / s.delivery.sent) if s.delivery and s.delivery.sent else 0.0
    impact = max(health_failed if s.health else 0.0, lost_share,
                 sum(a.status is None or a.status >= 500 for a in s.requests) / len(s.requests) if s.requests else 0.0)
    outage, degraded = _SEVERITY.get(s.environment, ("SEV2", "SEV3"))
    severity = outage if impact >= 0.9 else degraded if impact > 0 or failure_type != "unknown" else "SEV4"
    components = {"compute": ("websocket-server",), "network": ("websocket-server", "frontend"),
                  "storage": ("redis", "websocket-server"), "unknown": ("websocket-server",)}[failure_type]
    summary = {
        "compute": "the WebSocket server has no healthy capacity" if "instances_zero" in read.signals
        else "a recent revision of the WebSocket server is failing requests",
        "network": f"the WebSocket server in {s.region} cannot be reached",
        "storage": "Redis, the fan-out store, is unreachable: messages are not delivered",
        "unknown": "no single cause stands out" if impact else "no failure is visible right now",
    }[failure_type]
    return Classification(failure_type=failure_type, severity=severity,
                          scope=Scope(s.environment, components, (s.region,)), summary=summary,
                          signals=tuple(read.signals), evidence=tuple(read.findings),
                          suspect_deployment_id=suspect[0] if suspect else None,
                          suspect_revision=bad[0] if bad else None, user_impact=round(impact, 3))
