"""The sandbox's Vercel REST API: the subset the console uses, with Vercel's paths, JSON shapes and errors.

Endpoints: GET /v9/projects/{idOrName}, GET /v6/deployments (with `rollbackCandidate`), POST /v13/deployments,
GET /v13/deployments/{idOrUrl}, POST /v10/projects/{projectId}/promote/{deploymentId} (201 when the domains
moved within the request, 202 while aliasing goes on), GET /v1/projects/{projectId}/promote/aliases (the last
promote's aliases and their status), POST /v1/projects/{projectId}/rollback/{deploymentId} (candidates as
vercel_rollback.py rules them). Every request needs a bearer token (any
non-empty one), honours `teamId`, and may be answered by an injected fault (429/500/503) instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.vercel_rollback import is_rollback_candidate, promote_aliases
from sandbox.vercel_state import Deployment, Project, VercelApiError, VercelState

VERCEL_STATE = web.AppKey("vercel_state", VercelState)
# Every request the app answered: {"method", "path", "query", "status"}; tests count calls with it.
REQUEST_LOG = web.AppKey("vercel_request_log", list)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_FAULT_ERRORS = {
    429: ("rate_limited", "Rate limit exceeded"),
    500: ("internal_server_error", "An unexpected internal error occurred"),
    502: ("bad_gateway", "The gateway received an invalid response"),
    503: ("service_unavailable", "The service is temporarily unavailable"),
}
_STATES = {"BUILDING", "ERROR", "INITIALIZING", "QUEUED", "READY", "CANCELED"}


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


def _meta(dep: Deployment) -> dict[str, str]:
    return {"githubCommitRef": dep.git_ref, "githubCommitSha": dep.git_sha,
            "githubRepoId": dep.repo_id, "githubDeployment": "1"}


def _ready_substate(dep: Deployment) -> str | None:
    if dep.ready_state != "READY" or dep.target != "production":
        return None
    return "PROMOTED" if dep.served_production else "STAGED"


def deployment_json(dep: Deployment) -> dict[str, Any]:
    """A deployment as GET /v13/deployments/{id} and POST /v13/deployments answer it."""
    body: dict[str, Any] = {
        "id": dep.id, "url": dep.url, "name": dep.name, "projectId": dep.project_id,
        "target": dep.target, "readyState": dep.ready_state, "status": dep.ready_state,
        "readySubstate": _ready_substate(dep), "createdAt": dep.created_at,
        "buildingAt": dep.building_at, "ready": dep.ready, "alias": list(dep.aliases),
        "aliasAssigned": dep.alias_assigned_at, "aliasError": None,
        "autoAssignCustomDomains": dep.auto_assign, "meta": _meta(dep),
        "gitSource": {"type": "github", "ref": dep.git_ref, "sha": dep.git_sha, "repoId": dep.repo_id},
        "creator": {"uid": dep.creator_uid, "username": dep.creator_username},
        "source": "git", "type": "LAMBDAS", "version": 2, "regions": ["iad1"],
        "inspectorUrl": f"https://vercel.com/sandbox/{dep.name}/{dep.id.removeprefix('dpl_')}",
    }
    if dep.ready_state == "ERROR":
        body.update(errorCode="BUILD_FAILED", errorMessage=dep.error_message, errorStep="build")
    return body


def deployment_list_item(dep: Deployment, candidate: bool | None = None) -> dict[str, Any]:
    """A deployment as GET /v6/deployments lists it (note `uid`, not `id`), with `isRollbackCandidate` if known."""
    extra = {} if candidate is None else {"isRollbackCandidate": candidate}
    return {**extra,
        "uid": dep.id, "name": dep.name, "url": dep.url, "created": dep.created_at,
        "createdAt": dep.created_at, "buildingAt": dep.building_at, "ready": dep.ready,
        "state": dep.ready_state, "readyState": dep.ready_state, "readySubstate": _ready_substate(dep),
        "type": "LAMBDAS", "source": "git", "target": dep.target, "projectId": dep.project_id,
        "aliasError": None, "meta": _meta(dep),
        "creator": {"uid": dep.creator_uid, "username": dep.creator_username},
        "inspectorUrl": f"https://vercel.com/sandbox/{dep.name}/{dep.id.removeprefix('dpl_')}",
    }


def project_json(state: VercelState, project: Project) -> dict[str, Any]:
    """A project as GET /v9/projects/{idOrName} answers it, with its production target."""
    production = state.deployments.get(project.production_deployment_id or "")
    latest = sorted((d for d in state.deployments.values() if d.project_id == project.id),
                    key=lambda d: d.created_at, reverse=True)[:5]
    targets: dict[str, Any] = {}
    if production is not None:
        targets["production"] = {
            "id": production.id, "url": production.url, "name": production.name,
            "alias": list(production.aliases), "aliasAssigned": production.alias_assigned_at,
            "createdAt": production.created_at, "buildingAt": production.building_at,
            "readyAt": production.ready, "readyState": production.ready_state,
            "target": production.target, "type": "LAMBDAS", "meta": _meta(production),
            "creator": {"uid": production.creator_uid, "username": production.creator_username},
        }
    return {
        "id": project.id, "name": project.name, "accountId": state.team_id or "team_sandbox",
        "createdAt": project.created_at, "updatedAt": project.updated_at, "framework": "nextjs",
        "autoAssignCustomDomains": project.auto_assign_custom_domains,
        "link": {"type": "github", "repoId": project.repo_id, "productionBranch": "main"},
        "targets": targets,
        "latestDeployments": [deployment_list_item(d) for d in latest],
        "lastAliasRequest": dict(project.last_alias_request) if project.last_alias_request else None,
        "lastRollbackTarget": dict(project.last_rollback_target) if project.last_rollback_target else None,
    }


def _int_param(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise VercelApiError(400, "bad_request", f"Invalid request: `{name}` should be number.") from None


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        raise VercelApiError(400, "bad_request", "Invalid JSON body.") from None
    if not isinstance(body, dict):
        raise VercelApiError(400, "bad_request", "Invalid request: the body should be an object.")
    return body


async def get_project(request: web.Request) -> web.Response:
    state = request.app[VERCEL_STATE]
    with state.lock:
        project = state.project(request.match_info["idOrName"])
        return web.json_response(project_json(state, project))


async def list_deployments(request: web.Request) -> web.Response:
    state = request.app[VERCEL_STATE]
    limit = _int_param(request, "limit", 20)
    assert limit is not None
    if not 1 <= limit <= 100:
        raise VercelApiError(400, "bad_request", "Invalid request: `limit` should be between 1 and 100.")
    target = request.query.get("target") or None
    if target not in (None, "production", "preview"):
        raise VercelApiError(400, "bad_request",
                             "Invalid request: `target` should be one of production, preview.")
    states = None
    if request.query.get("state"):
        states = {s.strip().upper() for s in request.query["state"].split(",") if s.strip()}
        if not states <= _STATES:
            raise VercelApiError(400, "bad_request",
                                 f"Invalid request: `state` should be among {', '.join(sorted(_STATES))}.")
    candidates = _bool_param(request, "rollbackCandidate")
    with state.lock:
        page, more = state.list_deployments(
            project=request.query.get("projectId") or request.query.get("app") or None, target=target,
            states=states, limit=limit if candidates is None else 100, until=_int_param(request, "until"),
            since=_int_param(request, "since"))
        if candidates is not None:
            page = [d for d in page if is_rollback_candidate(state, d) == candidates]
            more, page = len(page) > limit, page[:limit]
        return web.json_response({
            "pagination": {"count": len(page), "next": page[-1].created_at if page and more else None,
                           "prev": page[0].created_at if page else None},
            "deployments": [deployment_list_item(d, is_rollback_candidate(state, d)) for d in page],
        })


def _bool_param(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in ("true", "false", "1", "0"):
        raise VercelApiError(400, "bad_request", f"Invalid request: `{name}` should be boolean.")
    return raw in ("true", "1")


async def list_promote_aliases(request: web.Request) -> web.Response:
    state = request.app[VERCEL_STATE]
    limit = _int_param(request, "limit", 20)
    assert limit is not None
    if not 1 <= limit <= 100:
        raise VercelApiError(400, "bad_request", "Invalid request: `limit` should be less than or equal to 100.")
    failed_only = bool(_bool_param(request, "failedOnly"))
    with state.lock:
        state.advance()
        aliases = promote_aliases(state.project_by_id(request.match_info["projectId"]), failed_only)[:limit]
        return web.json_response({"aliases": aliases,
                                  "pagination": {"count": len(aliases), "next": None, "prev": None}})


async def create_deployment(request: web.Request) -> web.Response:
    state = request.app[VERCEL_STATE]
    body = await _json_body(request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise VercelApiError(400, "bad_request", "Invalid request: missing required property `name`.")
    git = body.get("gitSource")
    if git is None:
        raise VercelApiError(400, "missing_files",
                             "Missing files: the sandbox builds from `gitSource` only.")
    if (not isinstance(git, dict) or git.get("type") != "github" or not isinstance(git.get("ref"), str)
            or not git["ref"] or not isinstance(git.get("repoId"), str | int)):
        raise VercelApiError(400, "incorrect_git_source_info",
                             "Invalid gitSource: expected {type: \"github\", ref, repoId, sha?}.")
    sha = git.get("sha")
    if sha is not None and not (isinstance(sha, str) and len(sha) == 40
                                and all(c in "0123456789abcdef" for c in sha.lower())):
        raise VercelApiError(400, "incorrect_git_source_info",
                             "Invalid gitSource: `sha` is not a commit sha.")
    target = body.get("target")
    if target not in (None, "production", "preview"):
        raise VercelApiError(400, "bad_request",
                             "Invalid request: `target` should be one of production, preview.")
    auto_assign = body.get("autoAssignCustomDomains", True)
    if not isinstance(auto_assign, bool):
        raise VercelApiError(400, "bad_request",
                             "Invalid request: `autoAssignCustomDomains` should be boolean.")
    project = body.get("project")
    with state.lock:
        dep = state.create_deployment(
            name=name, project=project if isinstance(project, str) and project else None,
            target=None if target == "preview" else target, git_ref=git["ref"], git_sha=sha,
            repo_id=str(git["repoId"]), auto_assign=auto_assign)
        return web.json_response(deployment_json(dep))


async def get_deployment(request: web.Request) -> web.Response:
    state = request.app[VERCEL_STATE]
    with state.lock:
        return web.json_response(deployment_json(state.deployment(request.match_info["idOrUrl"])))


async def promote(request: web.Request) -> web.Response:
    state = request.app[VERCEL_STATE]
    done = state.promote(request.match_info["projectId"], request.match_info["deploymentId"])
    return web.json_response({}, status=201 if done else 202)


async def rollback(request: web.Request) -> web.Response:
    state = request.app[VERCEL_STATE]
    state.rollback(request.match_info["projectId"], request.match_info["deploymentId"],
                   description=request.query.get("description"))
    return web.json_response({}, status=201)


@web.middleware
async def _log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    request.app[REQUEST_LOG].append({"method": request.method, "path": request.path,
                                     "query": dict(request.query), "status": response.status})
    return response


@web.middleware
async def _faults_auth_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[VERCEL_STATE]
    if state.faults.latency_s:
        await asyncio.sleep(state.faults.latency_s)
    status = state.faults.draw()
    if status is not None:
        code, message = _FAULT_ERRORS.get(status, ("internal_server_error", "Injected failure"))
        response = error_response(status, code, message)
        if status == 429:
            response.headers["Retry-After"] = f"{state.faults.retry_after:g}"
            response.headers["X-RateLimit-Remaining"] = "0"
        return response
    auth = request.headers.get("Authorization", "")
    if not auth:
        return error_response(403, "forbidden", "The request is missing an authentication token",
                              missingToken=True)
    if not auth.startswith("Bearer ") or not auth.removeprefix("Bearer ").strip():
        return error_response(403, "forbidden", "Not authorized", invalidToken=True)
    if state.team_id is not None and request.query.get("teamId") != state.team_id:
        return error_response(403, "forbidden", "You don't have permission to access this resource.")
    try:
        return await handler(request)
    except VercelApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except web.HTTPNotFound:
        return error_response(404, "not_found", "The requested resource was not found.")
    except web.HTTPMethodNotAllowed:
        return error_response(405, "method_not_allowed", "Method not allowed.")


def vercel_app(state: VercelState) -> web.Application:
    """The sandbox's Vercel REST API over `state`; serve it with `ServedApp`."""
    app = web.Application(middlewares=[_log_requests, _faults_auth_errors])
    app[VERCEL_STATE] = state
    app[REQUEST_LOG] = []
    app.router.add_get("/v9/projects/{idOrName}", get_project)
    app.router.add_get("/v6/deployments", list_deployments)
    app.router.add_post("/v13/deployments", create_deployment)
    app.router.add_get("/v13/deployments/{idOrUrl}", get_deployment)
    app.router.add_post("/v10/projects/{projectId}/promote/{deploymentId}", promote)
    app.router.add_get("/v1/projects/{projectId}/promote/aliases", list_promote_aliases)
    app.router.add_post("/v1/projects/{projectId}/rollback/{deploymentId}", rollback)
    return app
