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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.cloudrun_model import Revision

if TYPE_CHECKING:
    from sandbox.cloud import SandboxCloud


@dataclass(frozen=True)
class ActiveFaults:
    unreachable: bool
    instances_zero: bool
    redis_down: bool
    extra_5xx_rate: float


def fault_started_at(cloud: SandboxCloud) -> float:
    """Sandbox time the current scenario was switched on."""
    return float(cloud.timeline.to_dict()[-1][0])


def active_faults(cloud: SandboxCloud, rev: Revision) -> ActiveFaults:
    env = cloud.timeline.current.environment
    since = fault_started_at(cloud)
    svc = cloud.cloudrun.services.get(rev.service)
    primary = {seed.region for seed in cloud.seed.environments.values()}
    unreachable = env.unreachable and (svc is None or svc.location in primary)
    service_warm = svc is not None and svc.min_instances >= 1 and (svc.min_instances_set_at or -1.0) >= since
    revision_warm = rev.min_instances >= 1 and rev.created_at >= since
    scaled = service_warm or revision_warm
    instances_zero = env.instances_zero and not scaled
    repaired = [i.repaired_at() for i in cloud.redis.for_project(svc.project)] if svc is not None else []
    redis_down = env.redis_down and not any(t is not None and t >= since for t in repaired)
    remediable = env.unreachable or env.instances_zero or env.redis_down
    still = unreachable or instances_zero or redis_down
    extra = env.extra_5xx_rate if (still or not remediable) else 0.0
    return ActiveFaults(unreachable, instances_zero, redis_down, extra)
