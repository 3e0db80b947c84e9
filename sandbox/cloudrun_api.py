"""The sandbox's Cloud Run Admin API v2 over REST (aiohttp): services, revisions and operations.

Paths, verbs and bodies are those of google-cloud-run's REST transport (see its `rest_base.py`):
services get/list/create/patch (create and patch answer a long-running operation), revisions
get/list, operations get. Errors are Google's JSON error body, so the official client raises the
same exception classes as against run.googleapis.com. Injected faults are drawn per call. Every
mutating call is written to the request log, if one is given, once it is answered.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.cloudrun_json import Renderer, parse_service
from sandbox.cloudrun_state import ApiError, CloudRunState, Operation
from sandbox.faults import HTTP_STATUS, MESSAGES, SandboxFaults
from sandbox.request_log import RequestLog
from sandbox.revision_server import RevisionHosts

_LOC = "/v2/projects/{project}/locations/{location}"
STATE_KEY = web.AppKey("cloudrun_state", CloudRunState)
HOSTS_KEY = web.AppKey("revision_hosts", RevisionHosts)
FAULTS_KEY = web.AppKey("faults", SandboxFaults)
CALLS_KEY = web.AppKey("calls", Counter)
LOG_KEY = web.AppKey("request_log", RequestLog)


def error_body(status: str, message: str, code: int) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def _error(status: str, message: str) -> web.Response:
    code = ApiError.HTTP.get(status, 500)
    return web.json_response(error_body(status, message, code), status=code)


@web.middleware
async def _log_writes(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    status = 500  # what aiohttp answers when the handler raises
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        if request.method != "GET":
            try:
                body = await request.read()  # cached: the handler has read it already
            except Exception:  # a body the client never finished is logged empty; logging never fails a call
                body = b""
            request.app[LOG_KEY].record(request.app[STATE_KEY].clock(), request.match_info.route.name or "",
                                        request.path, status, body)


@web.middleware
async def _faults_and_errors(request: web.Request,
                             handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    faults = request.app[FAULTS_KEY].cloudrun
    method = request.match_info.route.name or ""
    request.app[CALLS_KEY][method] += 1
    if faults.latency_s:
        await asyncio.sleep(faults.latency_s)
    kind = faults.draw(method, write=method == "UpdateService")
    if kind == "ABORTED":
        # An etag conflict is another writer getting there first: the service really changes.
        name = _service_name(request)
        try:
            request.app[STATE_KEY].concurrent_write(name)
        except ApiError as exc:
            return _error(exc.status, exc.message)
        return _error("ABORTED", f"{MESSAGES['ABORTED']} ({name})")
    if kind is not None:
        return web.json_response(error_body(kind, MESSAGES[kind], HTTP_STATUS[kind]), status=HTTP_STATUS[kind])
    try:
        return await handler(request)
    except ApiError as exc:
        return _error(exc.status, exc.message)


def _parent(request: web.Request) -> str:
    m = request.match_info
    return f"projects/{m['project']}/locations/{m['location']}"


def _service_name(request: web.Request) -> str:
    return f"{_parent(request)}/services/{request.match_info['service']}"


def _renderer(request: web.Request) -> Renderer:
    hosts = request.app[HOSTS_KEY]
    ints = "enum-encoding=int" in request.query.get("$alt", "")
    return Renderer(hosts.revision_url, hosts.service_url, ints=ints)


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.text() or "{}")
    except ValueError:
        raise ApiError("INVALID_ARGUMENT", "The request body is not valid JSON.") from None


def _page(items: list[dict[str, Any]], request: web.Request, key: str) -> dict[str, Any]:
    try:
        size = int(request.query.get("pageSize", "0")) or 100
        start = int(request.query.get("pageToken", "0") or "0")
    except ValueError:
        raise ApiError("INVALID_ARGUMENT", "pageSize and pageToken must be integers.") from None
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["nextPageToken"] = str(start + size)
    return out


async def _operation_answer(request: web.Request, op: Operation) -> web.Response:
    state, hosts = request.app[STATE_KEY], request.app[HOSTS_KEY]
    if op.revision:
        await hosts.ensure_revision(f"{op.service}/revisions/{op.revision}")
    await hosts.ensure_service(op.service)
    renderer = _renderer(request)
    return web.json_response(renderer.operation(op, renderer.service(state.service(op.service))))


async def list_services(request: web.Request) -> web.Response:
    renderer = _renderer(request)
    services = request.app[STATE_KEY].list_services(_parent(request))
    return web.json_response(_page([renderer.service(s) for s in services], request, "services"))


async def create_service(request: web.Request) -> web.Response:
    service_id = request.query.get("serviceId", "")
    if not service_id:
        raise ApiError("INVALID_ARGUMENT", "The serviceId query parameter is required.")
    op = request.app[STATE_KEY].create_service(_parent(request), service_id, parse_service(await _body(request)))
    return await _operation_answer(request, op)


async def get_service(request: web.Request) -> web.Response:
    svc = request.app[STATE_KEY].service(_service_name(request))
    await request.app[HOSTS_KEY].ensure_service(svc.full_name)
    return web.json_response(_renderer(request).service(svc))


async def update_service(request: web.Request) -> web.Response:
    op = request.app[STATE_KEY].update_service(_service_name(request), parse_service(await _body(request)))
    return await _operation_answer(request, op)


async def list_revisions(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    revisions = state.list_revisions(_service_name(request))
    now = state.clock()
    renderer = _renderer(request)
    return web.json_response(_page([renderer.revision(r, now) for r in revisions], request, "revisions"))


async def get_revision(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    rev = state.revision(f"{_service_name(request)}/revisions/{request.match_info['revision']}")
    return web.json_response(_renderer(request).revision(rev, state.clock()))


async def get_operation(request: web.Request) -> web.Response:
    op = request.app[STATE_KEY].operation(f"{_parent(request)}/operations/{request.match_info['operation']}")
    return await _operation_answer(request, op)


async def _not_found(request: web.Request) -> web.Response:
    return _error("NOT_FOUND", f"The sandbox's Cloud Run API has no method for {request.method} {request.path}.")


def cloudrun_app(state: CloudRunState, hosts: RevisionHosts, faults: SandboxFaults,
                 calls: Counter[str] | None = None, log: RequestLog | None = None) -> web.Application:
    """The REST API; `calls` counts requests per RPC name and `log` records mutating ones (faults included)."""
    app = web.Application(middlewares=[_log_writes, _faults_and_errors])
    app[CALLS_KEY] = calls if calls is not None else Counter()
    app[LOG_KEY] = log if log is not None else RequestLog()
    app[STATE_KEY] = state
    app[HOSTS_KEY] = hosts
    app[FAULTS_KEY] = faults
    r = app.router
    r.add_get(f"{_LOC}/services", list_services, name="ListServices")
    r.add_post(f"{_LOC}/services", create_service, name="CreateService")
    r.add_get(f"{_LOC}/services/{{service}}", get_service, name="GetService")
    r.add_patch(f"{_LOC}/services/{{service}}", update_service, name="UpdateService")
    r.add_get(f"{_LOC}/services/{{service}}/revisions", list_revisions, name="ListRevisions")
    r.add_get(f"{_LOC}/services/{{service}}/revisions/{{revision}}", get_revision, name="GetRevision")
    r.add_get(f"{_LOC}/operations/{{operation}}", get_operation, name="GetOperation")
    r.add_route("*", "/{tail:.*}", _not_found, name="Unknown")
    return app
