"""Pages a deployment raised and nobody resolved (an automatic rollback whose stable revision stayed unhealthy, a
failure where `deployment_failed` pages) are resolved when a later deployment of the environment succeeds: the
environment works again, so nobody should stay paged for it. Read from each deployment's log ("paged" and
"page resolved" notes, written by StepContext.announce), newest first, back to the last release that succeeded.
"""

from __future__ import annotations

from core.engine.context import StepContext
from core.model.deployment import Deployment, DeploymentStatus
from core.model.paging import resolution


def open_pages(ctx: StepContext, env: str, since_success_of: str | None = None) -> dict[str, str]:
    """Dedup key -> deployment id of every page still open in `env`, looking back to the last release that
    succeeded (other than `since_success_of`, the one that ends them now)."""
    paged: dict[str, str] = {}
    resolved: set[str] = set()
    for earlier in ctx.registry.iter_deployments(environment=env):
        if earlier.id != since_success_of and earlier.status == DeploymentStatus.SUCCEEDED \
                and earlier.strategy != "rollback":
            break  # pages before it were resolved by it
        for event in ctx.registry.events(earlier.id):
            key = str(event.detail.get("dedup_key", ""))
            if event.action == "paged":
                paged.setdefault(key, earlier.id)
            elif event.action == "page resolved":
                resolved.add(key)  # on the log of whoever resolved it (a finished deployment's log is closed)
    return {key: deployment_id for key, deployment_id in paged.items() if key not in resolved}


def resolve_open_pages(ctx: StepContext, succeeded: Deployment) -> None:
    """`succeeded` shows the environment works: resolve the pages earlier deployments left open (recorded on its
    own log, still open while it finishes)."""
    env = succeeded.environment
    for key, deployment_id in open_pages(ctx, env, since_success_of=succeeded.id).items():
        ctx.announce(succeeded, resolution(
            env, f"{env} works again: deployment {succeeded.id} succeeded; the page deployment {deployment_id} "
                 "raised is resolved", key))
