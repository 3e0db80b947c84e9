"""The PagerDuty pages deployments raised, read from the registry: which are still open.

A page is raised on a deployment's log ("paged" note with its dedup key, written by StepContext.announce) and ends
in one of three ways. Whoever resolves it while their own log is open notes it there ("page resolved": a rollback
whose checks passed, a later release that succeeded). Pages before the last release that succeeded were resolved by
it. And a rollback's page (the engine's rollback, or any rollback whose checks failed) is resolved by live health
recovering after it: the recorded return to ok (core/health/record.py; the console that records it tells people,
core/health/alerts.py), so the registry's health history is what says it ended.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

from core.health.record import health_history
from core.model.deployment import Deployment, DeploymentStatus
from core.registry.protocol import Registry


def _is_rollback(deployment: Deployment) -> bool:
    return deployment.status == DeploymentStatus.ROLLED_BACK or deployment.strategy == "rollback"


def recoveries(registry: Registry, env: str) -> list[datetime]:
    """When `env`'s recorded health came back to ok from a worse state (a first observation that is ok is not a
    recovery: nothing was wrong that anyone was told of)."""
    history = health_history(registry, env)  # newest first
    return [h.observed_at for h, older in pairwise(history) if h.state == "ok" and older.state != "ok"]


def open_pages(registry: Registry, env: str, since_success_of: str | None = None, *,
               recovered_before: datetime | None = None) -> dict[str, str]:
    """Dedup key -> deployment id of every page still open in `env`, looking back to the last release that
    succeeded (other than `since_success_of`, the one that ends them now). Health recoveries count only when before
    `recovered_before` (the recovery being told now asks which pages were open until it)."""
    back = [t for t in recoveries(registry, env) if recovered_before is None or t < recovered_before]
    paged: dict[str, str] = {}
    resolved: set[str] = set()
    for earlier in registry.iter_deployments(environment=env):
        if earlier.id != since_success_of and earlier.status == DeploymentStatus.SUCCEEDED \
                and earlier.strategy != "rollback":
            break  # pages before it were resolved by it
        for event in registry.events(earlier.id):
            key = str(event.detail.get("dedup_key", ""))
            if event.action == "paged":
                if _is_rollback(earlier) and any(t > event.at for t in back):
                    resolved.add(key)  # health came back after the rollback paged
                paged.setdefault(key, earlier.id)
            elif event.action == "page resolved":
                resolved.add(key)  # on the log of whoever resolved it (a finished deployment's log is closed)
    return {key: deployment_id for key, deployment_id in paged.items() if key not in resolved}


def rollback_pages(registry: Registry, env: str, recovered_at: datetime) -> dict[str, str]:
    """The rollbacks' pages open until health recovered at `recovered_at`: what that recovery ends. A failure before
    any traffic is not health's to end (a later release that succeeds ends it)."""
    pages = open_pages(registry, env, recovered_before=recovered_at)
    found = {}
    for key, deployment_id in pages.items():
        deployment = registry.get_deployment(deployment_id)
        if deployment is not None and _is_rollback(deployment):
            found[key] = deployment_id
    return found
