"""Which of the active scenario's environment faults still hit a revision, after the operator's remedies.

The scenarios model faults that a real remedy clears, so recovery is tested against the cloud and not
against a switch: instances at zero is "the service scaled to zero and cannot cold-start", cleared by
a service-level min instance count (Service.scaling, which warms the revisions serving now) of at
least 1 set after the fault began, or for one revision by its own template-level count when that
revision was created after the fault began (a template change makes a new revision, which serves
nothing while traffic is pinned to named ones, so it warms nothing that serves). A region outage
hits only the primary regions (the seeded ones), so a service in another region serves; Redis
unreachable is cleared by a replica failover or a backup import of the project's instance after the
fault began. A scenario's extra 5xx share goes with its remediable fault once that fault is cleared.

Everything here is asked at a sandbox time `t`: the probes ask for now, the traffic simulator (Monitoring)
for the start of each span it draws, so a remedy clears the metrics from the next minute on and the
past stays as it was served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.cloudrun_model import Revision
from sandbox.scenario import RevisionBehaviour

if TYPE_CHECKING:
    from sandbox.cloud import SandboxCloud


@dataclass(frozen=True)
class ActiveFaults:
    unreachable: bool
    instances_zero: bool
    redis_down: bool
    extra_5xx_rate: float
    extra_latency_ms: float = 0.0
    firebase_down: bool = False  # outside Google Cloud's project: no remedy of the operator's clears these two
    calendar_down: bool = False

    @property
    def down(self) -> bool:
        """Nothing answers but the front end's 503."""
        return self.unreachable or self.instances_zero


def fault_started_at(cloud: SandboxCloud, t: float | None = None) -> float:
    """Sandbox time the scenario in effect at `t` (default: now) was switched on."""
    return cloud.timeline.since(cloud.clock.time() if t is None else t)


def behaviour_at(cloud: SandboxCloud, rev: Revision, t: float) -> RevisionBehaviour:
    """How `rev` serves at `t`: its own behaviour, or the scenario's new-revision one while a `--now` switch
    strikes it (until the next switch)."""
    if rev.full_name in cloud.timeline.struck_at(t):
        return cloud.timeline.at(t).new_revision
    return rev.behaviour


def active_faults(cloud: SandboxCloud, rev: Revision, t: float | None = None) -> ActiveFaults:
    """The environment faults that hit `rev` at sandbox time `t` (default: now), after the remedies made by then."""
    t = cloud.clock.time() if t is None else t
    env = cloud.timeline.at(t).environment
    since = fault_started_at(cloud, t)
    svc = cloud.cloudrun.services.get(rev.service)
    primary = {seed.region for seed in cloud.seed.environments.values()}
    unreachable = env.unreachable and (svc is None or svc.location in primary)
    set_at = svc.min_instances_set_at if svc is not None else None
    service_warm = svc is not None and svc.min_instances >= 1 and set_at is not None and since <= set_at <= t
    revision_warm = rev.min_instances >= 1 and since <= rev.created_at <= t
    scaled = service_warm or revision_warm
    instances_zero = env.instances_zero and not scaled
    repaired = [i.repaired_at() for i in cloud.redis.for_project(svc.project)] if svc is not None else []
    redis_down = env.redis_down and not any(r is not None and since <= r <= t for r in repaired)
    remediable = env.unreachable or env.instances_zero or env.redis_down
    still = unreachable or instances_zero or redis_down
    hit = still or not remediable
    return ActiveFaults(unreachable, instances_zero, redis_down, env.extra_5xx_rate if hit else 0.0,
                        env.extra_latency_ms if hit else 0.0, env.firebase_down, env.calendar_down)
