"""Pages a deployment raised and nobody resolved (an automatic rollback whose stable revision stayed unhealthy, a
failure where `deployment_failed` pages) are resolved when a later deployment of the environment succeeds: the
environment works again, so nobody should stay paged for it. Read from each deployment's log ("paged" and
"page resolved" notes, written by StepContext.announce), newest first, back to the last release that succeeded
(core/deployment_pages.py, which live health's recovery reads too).
"""

from __future__ import annotations

from core.deployment_pages import open_pages
from core.engine.context import StepContext
from core.model.deployment import Deployment
from core.model.paging import resolution


def resolve_open_pages(ctx: StepContext, succeeded: Deployment) -> None:
    """`succeeded` shows the environment works: resolve the pages earlier deployments left open (recorded on its
    own log, still open while it finishes)."""
    env = succeeded.environment
    for key, deployment_id in open_pages(ctx.registry, env, since_success_of=succeeded.id).items():
        ctx.announce(succeeded, resolution(
            env, f"{env} works again: deployment {succeeded.id} succeeded; the page deployment {deployment_id} "
                 "raised is resolved", key))
