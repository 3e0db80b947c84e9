"""Vercel's rules for what an instant rollback may go back to, and the alias status of the last promote.

Rollback candidates, as Vercel documents them: "For teams on a Pro or Enterprise plan, all deployments
previously aliased to a production domain are eligible to roll back. Hobby users can roll back to the
immediately previous deployment" (https://vercel.com/docs/instant-rollback); the CLI words the Hobby refusal
"To roll back further than the previous production deployment, upgrade to pro" (https://vercel.com/docs/cli/
rollback). So a candidate is a READY production build that once held the production domains and does not hold
them now. List items carry `isRollbackCandidate` and GET /v6/deployments filters on `rollbackCandidate`.

The last promote's aliases, as GET /v1/projects/{projectId}/promote/aliases lists them: {"aliases": [{"alias",
"id", "status"}], "pagination"} (Vercel's OpenAPI, `listPromoteAliases`), a status being "pending",
"in-progress", "completed" or "failed" (the values vercel/vercel's CLI handles in commands/promote/status.ts).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sandbox.vercel_state import VercelApiError

if TYPE_CHECKING:
    from sandbox.vercel_state import Deployment, Project, VercelState

PLANS = ("hobby", "pro")
_ALIAS_STATUS = {"pending": "pending", "in-progress": "in-progress", "succeeded": "completed", "failed": "failed",
                 "skipped": "completed"}


def previous_production(state: VercelState, project: Project) -> Deployment | None:
    """The deployment that held the production domains last before the current one."""
    before = [d for d in state.deployments.values()
              if d.project_id == project.id and d.served_production and d.id != project.production_deployment_id]
    return max(before, key=lambda d: d.alias_assigned_at or 0, default=None)


def rollback_refusal(state: VercelState, project: Project, dep: Deployment) -> VercelApiError | None:
    """Why Vercel would refuse to roll `project` back to `dep`, or None when it is a rollback candidate."""
    if dep.id == project.production_deployment_id:
        return VercelApiError(409, "deployment_already_current",
                              f"Deployment {dep.id} is already the production deployment.")
    if dep.target != "production" or dep.ready_state != "READY" or not dep.served_production:
        return VercelApiError(400, "invalid_rollback_target",
                              f"Deployment {dep.id} has never served production traffic and cannot be a "
                              "rollback target.")
    previous = previous_production(state, project)
    if state.plan == "hobby" and (previous is None or previous.id != dep.id):
        # Vercel's code for this refusal is not documented; the words are the CLI's.
        return VercelApiError(400, "invalid_rollback_target",
                              "To roll back further than the previous production deployment, upgrade to pro.")
    return None


def is_rollback_candidate(state: VercelState, dep: Deployment) -> bool:
    project = state.projects.get(dep.project_id)
    return project is not None and rollback_refusal(state, project, dep) is None


def promote_aliases(project: Project, failed_only: bool = False) -> list[dict[str, Any]]:
    """The production aliases of the project's last promote with their mapping status (none: no promote)."""
    job = project.last_alias_request
    if not job or job.get("type") != "promote":
        return []
    alias = project.production_alias
    status = _ALIAS_STATUS.get(str(job.get("jobStatus")), "pending")
    entry = {"alias": alias, "id": "alias_" + hashlib.sha1(f"{project.id}/{alias}".encode()).hexdigest()[:24],
             "status": status}
    return [entry] if not failed_only or status == "failed" else []
