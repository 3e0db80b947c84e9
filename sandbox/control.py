"""The sandbox's control API (switch scenario, set faults, move the clock) and the client the CLI uses for it.

Routes: GET /sandbox/endpoints, GET /sandbox/status, GET /sandbox/scenario,
POST /sandbox/scenario {"name", "now": bool (strike the revisions serving now)},
POST /sandbox/faults {"api": "cloudrun"|"monitoring", "share", "kinds",
"latency_s", "seed", "methods"}, POST /sandbox/clock {"advance": seconds}, GET /sandbox/requests[?since=SEQ]
(the Cloud Run request log, see request_log.py),
GET /sandbox/notifications (what the Slack and PagerDuty sinks received, sinks.notifications),
POST /sandbox/page-fault {"project", "fault": one of vercel_pages.PAGE_FAULTS or null, "existing": bool} (a Vercel
project's builds made from now on, or with `existing` every build it has, serve broken pages).
Errors are `{"error": "<one sentence>"}` with status 400.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

import httpx
from aiohttp import web

from core.errors import BadInput, OperationFailed
from sandbox.faults import ApiFaults

if TYPE_CHECKING:
    from sandbox.cloud import SandboxCloud

CLOUD_KEY: web.AppKey[Any] = web.AppKey("sandbox_cloud")


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BadInput("The request body must be a JSON object.")
    return body


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadInput as exc:
        return _bad(str(exc))
    except (TypeError, ValueError) as exc:
        return _bad(f"The request to {request.path} is malformed: {exc}.")


async def get_endpoints(request: web.Request) -> web.Response:
    return web.json_response(request.app[CLOUD_KEY].endpoints.to_dict())


async def get_status(request: web.Request) -> web.Response:
    cloud: SandboxCloud = request.app[CLOUD_KEY]
    return web.json_response({
        "time": cloud.clock.time(),
        "speed": cloud.clock.speed,
        "scenario": cloud.scenario.name,
        "struck": cloud.struck(),
        "services": sorted(cloud.cloudrun.services),
        "faults": cloud.faults.to_dict(),
        "monitoring_ingestion": cloud.ingestion.to_dict(),  # consoles attached to it wait for the same delay bound
        "cpu_seconds": time.process_time(),  # lets a benchmark measure the sandbox process from outside
    })


async def get_scenario(request: web.Request) -> web.Response:
    cloud: SandboxCloud = request.app[CLOUD_KEY]
    scenario = cloud.scenario
    return web.json_response({"name": scenario.name, "description": scenario.description,
                              "available": cloud.scenario_names()})


async def post_scenario(request: web.Request) -> web.Response:
    body = await _json(request)
    name, now = body.get("name"), body.get("now", False)
    if not isinstance(name, str) or not name:
        raise BadInput('The body must name the scenario: {"name": "..."}.')
    if not isinstance(now, bool):
        raise BadInput('"now" must be true or false.')
    cloud: SandboxCloud = request.app[CLOUD_KEY]
    scenario = cloud.set_scenario(name, strike_serving=now)
    return web.json_response({"name": scenario.name, "description": scenario.description, "struck": cloud.struck()})


async def post_faults(request: web.Request) -> web.Response:
    cloud: SandboxCloud = request.app[CLOUD_KEY]
    body = await _json(request)
    api = body.pop("api", None)
    if api not in ("cloudrun", "monitoring"):
        raise BadInput('Faults apply to "api": "cloudrun" or "monitoring".')
    setattr(cloud.faults, api, ApiFaults.from_dict(body))
    cloud.save()
    return web.json_response(cloud.faults.to_dict())


async def post_clock(request: web.Request) -> web.Response:
    cloud: SandboxCloud = request.app[CLOUD_KEY]
    seconds = float((await _json(request)).get("advance", 0))
    if seconds < 0:
        raise BadInput("The sandbox clock only moves forward; advance must be zero or positive.")
    return web.json_response({"time": cloud.clock.advance(seconds)})


async def get_requests(request: web.Request) -> web.Response:
    cloud: SandboxCloud = request.app[CLOUD_KEY]
    since = request.query.get("since", "0")
    if not since.isdigit():
        raise BadInput(f"since must be a request sequence number (0 or more), got {since!r}.")
    return web.json_response(cloud.cloudrun_requests.to_dict(int(since)))


async def get_notifications(request: web.Request) -> web.Response:
    from sandbox.sinks import notifications

    cloud: SandboxCloud = request.app[CLOUD_KEY]
    return web.json_response({"notifications": notifications(cloud.sinks.received())})


async def post_page_fault(request: web.Request) -> web.Response:
    cloud: SandboxCloud = request.app[CLOUD_KEY]
    body = await _json(request)
    project, fault = body.get("project"), body.get("fault")
    if not isinstance(project, str) or not project:
        raise BadInput('A page fault names the Vercel "project" it breaks.')
    if project not in {p.name for p in cloud.vercel.projects.values()}:
        raise BadInput(f"The sandbox's Vercel has no project {project!r}; it has "
                       f"{', '.join(sorted(p.name for p in cloud.vercel.projects.values()))}.")
    cloud.vercel.set_page_fault(project, fault if fault is None else str(fault), existing=bool(body.get("existing")))
    cloud.save()
    return web.json_response({"project": project, "fault": fault, "existing": bool(body.get("existing"))})


def control_app(cloud: SandboxCloud) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[CLOUD_KEY] = cloud
    app.router.add_get("/sandbox/endpoints", get_endpoints)
    app.router.add_get("/sandbox/status", get_status)
    app.router.add_get("/sandbox/scenario", get_scenario)
    app.router.add_post("/sandbox/scenario", post_scenario)
    app.router.add_post("/sandbox/faults", post_faults)
    app.router.add_post("/sandbox/clock", post_clock)
    app.router.add_get("/sandbox/requests", get_requests)
    app.router.add_get("/sandbox/notifications", get_notifications)
    app.router.add_post("/sandbox/page-fault", post_page_fault)
    return app


# -- client ----------------------------------------------------------------------------------------

@functools.cache
def _client() -> httpx.Client:
    """One client per process: building one (its TLS context) per call cost more than the calls themselves."""
    return httpx.Client()


def _call(control_url: str, method: str, path: str, body: dict[str, Any] | None = None,
          timeout: float = 5.0) -> dict[str, Any]:
    try:
        response = _client().request(method, control_url.rstrip("/") + path, json=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise OperationFailed(f"The sandbox at {control_url} did not answer {method} {path}: "
                              f"{type(exc).__name__}.") from None
    data = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code == 400:
        raise BadInput(str(data.get("error", f"The sandbox refused {method} {path}.")))
    if response.status_code != 200:
        raise OperationFailed(f"The sandbox at {control_url} answered {method} {path} with HTTP "
                              f"{response.status_code}.")
    return data


def switch_scenario(control_url: str, name: str, now: bool = False) -> dict[str, Any]:
    """Switch a running sandbox to scenario `name` (what `opsconsole sandbox scenario NAME [--now]` does)."""
    return _call(control_url, "POST", "/sandbox/scenario", {"name": name, **({"now": True} if now else {})})


def fetch_endpoints(control_url: str) -> dict[str, Any]:
    return _call(control_url, "GET", "/sandbox/endpoints")


def fetch_status(control_url: str) -> dict[str, Any]:
    return _call(control_url, "GET", "/sandbox/status")


def advance_clock(control_url: str, seconds: float) -> float:
    return float(_call(control_url, "POST", "/sandbox/clock", {"advance": seconds})["time"])


def fetch_requests(control_url: str, since: int = 0) -> dict[str, Any]:
    """The mutating Cloud Run calls the sandbox answered after sequence number `since`, oldest first."""
    return _call(control_url, "GET", f"/sandbox/requests?since={since}")


def fetch_notifications(control_url: str) -> list[dict[str, Any]]:
    """Every notification the sandbox's Slack and PagerDuty received, oldest first (sinks.notifications)."""
    return list(_call(control_url, "GET", "/sandbox/notifications")["notifications"])


def set_faults(control_url: str, api: str, **settings: Any) -> dict[str, Any]:
    return _call(control_url, "POST", "/sandbox/faults", {"api": api, **settings})


def set_page_fault(control_url: str, project: str, fault: str | None, existing: bool = False) -> dict[str, Any]:
    """Break (or, with None, heal) the pages of a Vercel project's builds in a running sandbox."""
    return _call(control_url, "POST", "/sandbox/page-fault", {"project": project, "fault": fault,
                                                               "existing": existing})
