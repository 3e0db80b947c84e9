"""The sandbox's Cloud Monitoring Dashboards API v1 over REST: create, get, list, update (etag-checked), delete.

google-cloud-monitoring-dashboards has a REST transport, so, like Cloud Run, the sandbox serves it with
aiohttp at the paths and JSON shapes of monitoring.googleapis.com/v1: bodies are parsed with the
client's own proto-plus types (unknown fields are an INVALID_ARGUMENT, as Google answers), every stored
version gets a new etag, and an update whose etag is not the current one is ABORTED (HTTP 409).
Dashboards live in memory: they are rebuilt by the next deployment after a sandbox restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from google.cloud import monitoring_dashboard_v1 as dash

from sandbox.faults import HTTP_STATUS, MESSAGES, ApiFaults

_PROJECT = "/v1/projects/{project}/dashboards"
_CODES = {"INVALID_ARGUMENT": 400, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "ABORTED": 409, **HTTP_STATUS}


class DashboardError(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class DashboardStore:
    """Dashboards by full name, each with its etag; safe to use from the server and from tests."""

    def __init__(self, faults: ApiFaults | None = None) -> None:
        self._lock = threading.Lock()
        self.dashboards: dict[str, dash.Dashboard] = {}
        self.writes: Counter[str] = Counter()  # creates and updates per dashboard name
        self.calls: Counter[str] = Counter()  # requests per RPC, for tests and benchmarks
        self.faults = faults or ApiFaults()  # replaceable at any time: every request reads it

    @staticmethod
    def _etag(d: dash.Dashboard, version: int) -> str:
        return hashlib.md5(dash.Dashboard.serialize(d) + str(version).encode(), usedforsecurity=False).hexdigest()

    def create(self, project: str, d: dash.Dashboard) -> dash.Dashboard:
        if not d.display_name:
            raise DashboardError("INVALID_ARGUMENT", "Field displayName is required.")
        if d.etag:
            raise DashboardError("INVALID_ARGUMENT", "Field etag must not be set when creating a dashboard.")
        prefix = f"projects/{project}/dashboards/"
        if not d.name:
            d.name = prefix + hashlib.md5(dash.Dashboard.serialize(d), usedforsecurity=False).hexdigest()[:12]
        if not d.name.startswith(prefix) or "/" in d.name[len(prefix):]:
            raise DashboardError("INVALID_ARGUMENT", f"Dashboard name {d.name!r} is not in projects/{project}.")
        with self._lock:
            if d.name in self.dashboards:
                raise DashboardError("ALREADY_EXISTS", f"Dashboard {d.name} already exists.")
            return self._store(d)

    def _store(self, d: dash.Dashboard) -> dash.Dashboard:
        self.writes[d.name] += 1
        d.etag = self._etag(d, self.writes[d.name])
        self.dashboards[d.name] = d
        return dash.Dashboard(d)

    def get(self, name: str) -> dash.Dashboard:
        with self._lock:
            if name not in self.dashboards:
                raise DashboardError("NOT_FOUND", f"Dashboard {name} does not exist.")
            return dash.Dashboard(self.dashboards[name])

    def list(self, project: str) -> list[dash.Dashboard]:
        with self._lock:
            prefix = f"projects/{project}/dashboards/"
            return [dash.Dashboard(d) for name, d in sorted(self.dashboards.items()) if name.startswith(prefix)]

    def update(self, d: dash.Dashboard) -> dash.Dashboard:
        if not d.display_name:
            raise DashboardError("INVALID_ARGUMENT", "Field displayName is required.")
        with self._lock:
            held = self.dashboards.get(d.name)
            if held is None:
                raise DashboardError("NOT_FOUND", f"Dashboard {d.name} does not exist.")
            if d.etag and d.etag != held.etag:
                raise DashboardError("ABORTED", f"Etag {d.etag} does not match the current etag of {d.name}.")
            return self._store(d)

    def concurrent_write(self, name: str) -> None:
        """Another writer changed the dashboard: its etag moves on (what an injected ABORTED stands for)."""
        with self._lock:
            if name in self.dashboards:
                self._store(self.dashboards[name])

    def delete(self, name: str) -> None:
        with self._lock:
            if self.dashboards.pop(name, None) is None:
                raise DashboardError("NOT_FOUND", f"Dashboard {name} does not exist.")


STORE_KEY = web.AppKey("dashboard_store", DashboardStore)


def _error(status: str, message: str) -> web.Response:
    code = _CODES.get(status, 500)
    return web.json_response({"error": {"code": code, "message": message, "status": status}}, status=code)


def _reply(d: dash.Dashboard) -> web.Response:
    return web.Response(text=dash.Dashboard.to_json(d), content_type="application/json")


def _name(request: web.Request) -> str:
    return f"projects/{request.match_info['project']}/dashboards/{request.match_info['dashboard']}"


async def _body(request: web.Request) -> dash.Dashboard:
    text = await request.text()
    try:
        return dash.Dashboard.from_json(text or "{}", ignore_unknown_fields=False)
    except Exception as exc:  # json_format.ParseError or a ValueError: Google answers INVALID_ARGUMENT
        raise DashboardError("INVALID_ARGUMENT", f"Invalid dashboard JSON: {exc}") from None


async def create_dashboard(request: web.Request) -> web.Response:
    body = await _body(request)
    if request.query.get("validateOnly") in ("true", "1"):
        return _reply(body)
    return _reply(request.app[STORE_KEY].create(request.match_info["project"], body))


async def get_dashboard(request: web.Request) -> web.Response:
    return _reply(request.app[STORE_KEY].get(_name(request)))


async def list_dashboards(request: web.Request) -> web.Response:
    found = request.app[STORE_KEY].list(request.match_info["project"])
    return web.json_response({"dashboards": [dash.Dashboard.to_dict(d) for d in found]})


async def update_dashboard(request: web.Request) -> web.Response:
    body = await _body(request)
    if body.name and body.name != _name(request):
        raise DashboardError("INVALID_ARGUMENT", f"Dashboard name {body.name!r} does not match the path.")
    body.name = _name(request)
    return _reply(request.app[STORE_KEY].update(body))


async def delete_dashboard(request: web.Request) -> web.Response:
    request.app[STORE_KEY].delete(_name(request))
    return web.json_response({})


@web.middleware
async def _faults_and_errors(request: web.Request,
                             handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    store = request.app[STORE_KEY]
    faults = store.faults
    method = request.match_info.route.name or ""
    store.calls[method] += 1
    if faults.latency_s:
        await asyncio.sleep(faults.latency_s)
    kind = faults.draw(method, write=method == "UpdateDashboard")
    if kind == "ABORTED":
        store.concurrent_write(_name(request))
        return _error("ABORTED", MESSAGES["ABORTED"])
    if kind is not None:
        return _error(kind, MESSAGES[kind])
    try:
        return await handler(request)
    except DashboardError as exc:
        return _error(exc.status, exc.message)


def dashboards_app(store: DashboardStore) -> web.Application:
    """The aiohttp application serving the Dashboards API over `store` (and its fault settings)."""
    app = web.Application(middlewares=[_faults_and_errors])
    app[STORE_KEY] = store
    dashboard = _PROJECT + "/{dashboard}"
    app.router.add_post(_PROJECT, create_dashboard, name="CreateDashboard")
    app.router.add_get(_PROJECT, list_dashboards, name="ListDashboards")
    app.router.add_get(dashboard, get_dashboard, name="GetDashboard")
    app.router.add_patch(dashboard, update_dashboard, name="UpdateDashboard")
    app.router.add_delete(dashboard, delete_dashboard, name="DeleteDashboard")
    return app


def describe(store: DashboardStore) -> dict[str, Any]:
    """Names, titles and panel titles of every dashboard, for the control API and tests."""
    return {name: {"display_name": d.display_name, "etag": d.etag,
                   "panels": [t.widget.title for t in d.mosaic_layout.tiles]}
            for name, d in store.dashboards.items()}
