"""The sandbox's Cloud Run Admin API v2 over REST (aiohttp): services, revisions and operations.

Paths, verbs and bodies are those of google-cloud-run's REST transport (see its `rest_base.py`):
services get/list/create/patch (create and patch answer a long-running operation, or with
`validateOnly` a finished one that changed nothing), revisions get/list, operations get/list/wait
(google.longrunning on `v2/projects/*/locations/*/operations`), and a service's IAM policy
(cloudrun_iam.py). Errors are Google's JSON error body, so the official client raises the same
exception classes as against run.googleapis.com. Injected faults are drawn per call, and a method
the caller has no permission for is refused. Every mutating call is written to the request log, if
one is given, once it is answered. POST /token stands in for Google's OAuth token endpoint
(oauth_token.py), so a client's expired access token can be refreshed against the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.cloudrun_iam import REQUIRED, denied
from sandbox.cloudrun_json import Renderer, parse_service
from sandbox.cloudrun_state import ApiError, CloudRunState, Operation, Service
from sandbox.faults import HTTP_STATUS, MESSAGES, SandboxFaults
from sandbox.oauth_token import token
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
    if method == "Token":  # Google's OAuth endpoint is another service: Cloud Run's faults do not reach it
        return await handler(request)
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
    if kind == "PERMISSION_DENIED":
        err = denied(REQUIRED.get(method, "run.services.get"), _resource(request))
        return _error(err.status, err.message)
    if kind is not None:
        return web.json_response(error_body(kind, MESSAGES[kind], HTTP_STATUS[kind]), status=HTTP_STATUS[kind])
    try:
        request.app[STATE_KEY].iam.check(method, _resource(request))
        return await handler(request)
    except ApiError as exc:
        return _error(exc.status, exc.message)


def _parent(request: web.Request) -> str:
    m = request.match_info
    return f"projects/{m['project']}/locations/{m['location']}"


def _service_name(request: web.Request) -> str:
    return f"{_parent(request)}/services/{request.match_info['service']}"


def _resource(request: web.Request) -> str:
    """The resource a call addresses, as a PERMISSION_DENIED names it."""
    m = request.match_info
    if "service" in m:
        return _service_name(request)
    if "operation" in m:
        return f"{_parent(request)}/operations/{m['operation']}"
    return _parent(request) if "project" in m else request.path


def _validate_only(request: web.Request) -> bool:
    value = request.query.get("validateOnly", "false").lower()
    if value not in ("true", "false"):
        raise ApiError("INVALID_ARGUMENT", f"validateOnly must be true or false, got {value!r}.")
    return value == "true"


def _preview_answer(request: web.Request, preview: Service) -> web.Response:
    """What a validate-only call answers: a finished operation carrying the service as it would be; not kept."""
    renderer = _renderer(request)
    now = request.app[STATE_KEY].clock()
    op = Operation(name=f"{_parent(request)}/operations/{uuid.uuid4()}", service=preview.full_name,
                   created_at=now, done_at=now)
    return web.json_response(renderer.operation(op, renderer.service(preview)))


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


async def _operation_json(request: web.Request, op: Operation) -> dict[str, Any]:
    state, hosts = request.app[STATE_KEY], request.app[HOSTS_KEY]
    if op.revision:
        await hosts.ensure_revision(f"{op.service}/revisions/{op.revision}")
    await hosts.ensure_service(op.service)
    renderer = _renderer(request)
    return renderer.operation(op, renderer.service(state.service(op.service)))


async def _operation_answer(request: web.Request, op: Operation) -> web.Response:
    return web.json_response(await _operation_json(request, op))


async def list_services(request: web.Request) -> web.Response:
    renderer = _renderer(request)
    services = request.app[STATE_KEY].list_services(_parent(request))
    return web.json_response(_page([renderer.service(s) for s in services], request, "services"))


async def create_service(request: web.Request) -> web.Response:
    service_id = request.query.get("serviceId", "")
    if not service_id:
        raise ApiError("INVALID_ARGUMENT", "The serviceId query parameter is required.")
    update = parse_service(await _body(request))
    if _validate_only(request):
        return _preview_answer(request, request.app[STATE_KEY].preview_create(_parent(request), service_id, update))
    op = request.app[STATE_KEY].create_service(_parent(request), service_id, update)
    return await _operation_answer(request, op)


async def get_service(request: web.Request) -> web.Response:
    svc = request.app[STATE_KEY].service(_service_name(request))
    await request.app[HOSTS_KEY].ensure_service(svc.full_name)
    return web.json_response(_renderer(request).service(svc))


async def update_service(request: web.Request) -> web.Response:
    update = parse_service(await _body(request))
    if _validate_only(request):
        return _preview_answer(request, request.app[STATE_KEY].preview_update(_service_name(request), update))
    op = request.app[STATE_KEY].update_service(_service_name(request), update)
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


async def list_operations(request: web.Request) -> web.Response:
    """google.longrunning ListOperations; `filter` may be empty, "done=true" or "done=false"."""
    wanted = request.query.get("filter", "").replace(" ", "")
    if wanted not in ("", "done=true", "done=false"):
        raise ApiError("INVALID_ARGUMENT", f"Invalid filter '{request.query['filter']}': the sandbox filters "
                                           "operations on done=true or done=false only.")
    ops = request.app[STATE_KEY].list_operations(_parent(request))
    if wanted:
        ops = [o for o in ops if (o.done_at is not None) == (wanted == "done=true")]
    items = [await _operation_json(request, op) for op in ops]
    return web.json_response(_page(items, request, "operations"))


async def wait_operation(request: web.Request) -> web.Response:
    """google.longrunning WaitOperation: the operation once done, or as it is when `timeout` has passed.

    The wait is capped at 60 s like the server's own deadline ("If the timeout specified is greater than
    the default HTTP/RPC timeout, the HTTP/RPC timeout is used", operations_pb2's WaitOperation).
    """
    body = await _body(request)
    raw = str(body.get("timeout") or "60s") if isinstance(body, dict) else "60s"
    try:
        timeout = min(60.0, float(raw.removesuffix("s")))
    except ValueError:
        raise ApiError("INVALID_ARGUMENT", f"timeout must be a duration such as \"10s\", got {raw!r}.") from None
    state, name = request.app[STATE_KEY], f"{_parent(request)}/operations/{request.match_info['operation']}"
    deadline = time.monotonic() + timeout
    op = state.operation(name)
    while op.done_at is None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        op = state.operation(name)
    return await _operation_answer(request, op)


async def get_iam_policy(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return web.json_response(state.iam.get(state.service(_service_name(request)).full_name))


async def set_iam_policy(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].set_iam_policy(_service_name(request), await _body(request)))


async def test_iam_permissions(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.service(_service_name(request))
    return web.json_response(state.iam.test(await _body(request)))


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
    svc = f"{_LOC}/services/{{service:[^/:]+}}"  # ":verb" suffixes are methods, never part of the id
    r.add_post("/token", token, name="Token")
    r.add_get(f"{svc}:getIamPolicy", get_iam_policy, name="GetIamPolicy")
    r.add_post(f"{svc}:setIamPolicy", set_iam_policy, name="SetIamPolicy")
    r.add_post(f"{svc}:testIamPermissions", test_iam_permissions, name="TestIamPermissions")
    r.add_get(f"{_LOC}/operations", list_operations, name="ListOperations")
    r.add_post(f"{_LOC}/operations/{{operation:[^/:]+}}:wait", wait_operation, name="WaitOperation")
    r.add_get(f"{_LOC}/services", list_services, name="ListServices")
    r.add_post(f"{_LOC}/services", create_service, name="CreateService")
    r.add_get(f"{_LOC}/services/{{service}}", get_service, name="GetService")
    r.add_patch(f"{_LOC}/services/{{service}}", update_service, name="UpdateService")
    r.add_get(f"{_LOC}/services/{{service}}/revisions", list_revisions, name="ListRevisions")
    r.add_get(f"{_LOC}/services/{{service}}/revisions/{{revision}}", get_revision, name="GetRevision")
    r.add_get(f"{_LOC}/operations/{{operation}}", get_operation, name="GetOperation")
    r.add_route("*", "/{tail:.*}", _not_found, name="Unknown")
    return app
