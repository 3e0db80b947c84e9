"""The frontend going back on Vercel: which deployment it may go back to, and whether production serves it well after.

Vercel decides what an instant rollback may go back to: on Pro and Enterprise every deployment that was once aliased
to production, on Hobby only the previous one (https://vercel.com/docs/instant-rollback, "eligible deployments";
https://vercel.com/docs/cli/rollback). Its deployments list answers that rule itself (`rollbackCandidate=true` on
GET /v6/deployments), so the console asks it instead of guessing, and never sends a rollback Vercel would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import OperationFailed
from core.model.frontend import VercelDeployment
from core.ports import FrontendProvider, Ports
from core.verify.frontend import check_hosts

_LOOK_BACK = 20


def rollback_target(frontend: FrontendProvider, project: str, wanted: str | None = None,
                    preferred: str | None = None) -> VercelDeployment:
    """The deployment to roll `project` back to: `wanted` (an id or git ref) if Vercel lists it as a rollback
    candidate, else `preferred` (the deployment production served before) if it is one, else the newest candidate
    older than what serves now (Vercel would also go forward to a release rolled back from; a second rollback goes
    further back instead). Raises OperationFailed, naming what Vercel said, when there is none."""
    candidates = frontend.list_deployments(project, limit=_LOOK_BACK, target="production", rollback_candidate=True)
    if wanted:
        chosen = next((d for d in candidates if wanted in (d.id, d.git_ref)), None)
        if chosen is not None:
            return chosen
        listed = frontend.list_deployments(project, limit=_LOOK_BACK, target="production")
        known = next((d for d in listed if wanted in (d.id, d.git_ref)), None)
        if known is None:
            raise OperationFailed(f"{project} has no production deployment {wanted!r} among its last {_LOOK_BACK}")
        raise OperationFailed(f"Vercel would refuse to roll {project} back to {known.id} ({wanted}): its deployments "
                              "list does not name it a rollback candidate (it is live now, never served production, "
                              "or the plan allows only the previous production deployment)")
    live = frontend.production_deployment(project)
    older = [d for d in candidates if live is None or d.created_at < live.created_at]
    chosen = next((d for d in older if d.id == preferred), None) or (older[0] if older else None)
    if chosen is None:
        raise OperationFailed(f"Vercel lists no rollback candidate for {project} older than what serves now: no "
                              "earlier production deployment to roll back to")
    return chosen


def page_headers(ports: Ports, env: str) -> Mapping[str, str]:
    """What a fetch of `env`'s frontend pages carries: a protected deployment URL (Vercel's Deployment Protection,
    https://vercel.com/docs/deployment-protection) is reached with the project's Protection Bypass for Automation
    secret in `x-vercel-protection-bypass`, which the composition root resolves from the environment's secrets."""
    return ports.page_headers(env) if ports.page_headers is not None else {}


def frontend_serves(ports: Ports, env: str, project: str, expected: str, websocket_url: str) -> tuple[bool, str]:
    """Whether production is `expected` and its pages load right from its aliases, and the line that says so."""
    live = ports.frontend.production_deployment(project)
    if live is None or live.id != expected:
        return False, f"frontend: production serves {live.id if live else 'nothing'}, not {expected}"
    problems = check_hosts(ports.web, live.aliases, websocket_url, headers=page_headers(ports, env))
    if problems:
        return False, "frontend: " + "; ".join(problems)
    return True, f"frontend {live.id} serves its pages from {', '.join(live.aliases)}"
