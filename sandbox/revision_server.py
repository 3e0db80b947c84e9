"""Each sandbox revision as a real HTTP + WebSocket endpoint on its own loopback port, and each service's URL.

A revision answers `/healthz`, `/readyz`, `/` and a WebSocket echo at `/ws` according to its phase
(starting, ready, failed) and the active scenario's environment faults, so the console's verification
checks are real network checks. `/readyz` reports each dependency (Redis with its key counts, Firebase,
Google Calendar) in the contract docs/READINESS.md sets for the real server (readiness.py builds the body).
A GET of `/` takes the revision's simulated latency (real seconds) and fails with its 5xx share; the probes
(`/healthz`, `/readyz`, `/ws`) answer at once. A service's URL
routes each request to a revision drawn from the traffic split in effect. The WebSocket protocol: every
text message is acknowledged with
`{"type": "ack", "id": <the message's "id" if it was a JSON object>, "revision": ..., "echo": <message>}`;
with Redis down, messages are accepted but never acknowledged (not delivered).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import WSMsgType, web

from sandbox.probe_log import PROBE_HEADER
from sandbox.readiness import readiness

REVISION_HEADER = "X-Serving-Revision"
_FAST_FAIL_MS = 2.0  # a 503 at once, as traffic.py counts one


@dataclass(frozen=True)
class Serving:
    """What a revision's endpoint should answer right now."""

    revision: str
    phase: str  # "pending", "ready" or "failed"
    unreachable: bool = False
    redis_down: bool = False
    firebase_down: bool = False
    calendar_down: bool = False
    redis_keys: Mapping[str, int] = field(default_factory=dict)  # keys per prefix of the project's instance
    fault_since: str = ""  # RFC 3339: when the scenario in effect began (the last moment Redis was read)
    instances_zero: bool = False
    error_rate_5xx: float = 0.0
    latency_lognormal: tuple[float, float] | None = None  # (mu, sigma) in ms, RevisionBehaviour.lognormal

    def draw_latency_s(self, rng: random.Random) -> float:
        """One request's latency in seconds (0 when the revision has no latency model)."""
        if self.latency_lognormal is None:
            return 0.0
        return rng.lognormvariate(*self.latency_lognormal) / 1000.0

    @property
    def down_reason(self) -> str:
        """Why nothing is served ("" when the revision serves)."""
        if self.unreachable:
            return "the region is unreachable"
        if self.instances_zero:
            return "no instance is running"
        if self.phase == "pending":
            return "the revision is still starting"
        if self.phase == "failed":
            return "the revision failed to start"
        return ""


class DataPlane(Protocol):
    def serving(self, revision_full: str) -> Serving: ...

    def pick_revision(self, service_full: str, draw: float) -> str | None: ...

    def record_probe(self, revision_full: str, status: int, latency_ms: float) -> None:
        """One of the engine's probes answered (sandbox.probe_log): Cloud Monitoring counts it like any request."""
        ...


class RevisionHosts:
    """Starts and stops the per-revision and per-service apps on the sandbox's event loop."""

    def __init__(self, plane: DataPlane, seed: int = 0) -> None:
        self._plane = plane
        self._seed = seed
        self._rngs: dict[str, random.Random] = {}
        self._runners: dict[str, web.AppRunner] = {}
        self._urls: dict[str, str] = {}

    def _rng(self, key: str) -> random.Random:
        """The seeded stream of one revision or service: what a revision answers to its first N requests does
        not depend on how they interleave with other revisions' requests."""
        rng = self._rngs.get(key)
        if rng is None:
            rng = self._rngs[key] = random.Random(f"{self._seed}/{key}")
        return rng

    def revision_url(self, revision_full: str) -> str:
        return self._urls.get(revision_full, "")

    def service_url(self, service_full: str) -> str:
        return self._urls.get(service_full, "")

    async def ensure_revision(self, revision_full: str) -> str:
        if revision_full not in self._urls:
            await self._serve(revision_full, self._revision_app(revision_full))
        return self._urls[revision_full]

    async def ensure_service(self, service_full: str) -> str:
        if service_full not in self._urls:
            await self._serve(service_full, self._service_app(service_full))
        return self._urls[service_full]

    async def close(self) -> None:
        for runner in self._runners.values():
            await runner.cleanup()
        self._runners.clear()
        self._urls.clear()

    async def _serve(self, key: str, app: web.Application) -> None:
        # A GET of "/" may still be sleeping out its simulated latency: stopping does not wait for it.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound socket only here
        assert server is not None and server.sockets
        self._runners[key] = runner
        self._urls[key] = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    def _revision_app(self, revision_full: str) -> web.Application:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._answer(request, revision_full)

        return self._app(handle)

    def _service_app(self, service_full: str) -> web.Application:
        async def handle(request: web.Request) -> web.StreamResponse:
            revision_full = self._plane.pick_revision(service_full, self._rng(service_full).random())
            if revision_full is None:
                return web.json_response({"error": "no revision is serving traffic"}, status=503)
            return await self._answer(request, revision_full)

        return self._app(handle)

    @staticmethod
    def _app(handle: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.Application:
        app = web.Application()
        for path in ("/", "/healthz", "/readyz", "/ws"):
            app.router.add_get(path, handle)
        return app

    async def _answer(self, request: web.Request, revision_full: str) -> web.StreamResponse:
        serving = self._plane.serving(revision_full)
        headers = {REVISION_HEADER: serving.revision}
        down = serving.down_reason
        probe = request.path == "/" and PROBE_HEADER in request.headers
        if down:
            if probe:
                self._plane.record_probe(revision_full, 503, _FAST_FAIL_MS)
            return web.json_response({"status": "unavailable", "reason": down}, status=503, headers=headers)
        if request.path == "/healthz":
            return web.json_response({"status": "ok", "revision": serving.revision}, headers=headers)
        if request.path == "/readyz":
            status, body = readiness(serving)
            return web.json_response(body, status=status, headers=headers)
        if request.path == "/ws":
            return await self._websocket(request, revision_full, headers)
        # Both draws come before the wait, so the seeded sequence does not depend on when requests end.
        rng = self._rng(revision_full)
        delay_s, failed = serving.draw_latency_s(rng), rng.random() < serving.error_rate_5xx
        if delay_s > 0:
            await asyncio.sleep(delay_s)  # real seconds: the sandbox clock may be frozen
        if probe:
            self._plane.record_probe(revision_full, 500 if failed else 200, delay_s * 1000.0)
        if failed:
            return web.json_response({"error": "internal error"}, status=500, headers=headers)
        return web.json_response({"service": "websocket-server", "revision": serving.revision}, headers=headers)

    async def _websocket(self, request: web.Request, revision_full: str,
                         headers: dict[str, str]) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0)
        ws.headers.update(headers)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            serving = self._plane.serving(revision_full)  # a scenario switch applies to open connections
            if serving.redis_down or serving.down_reason:
                continue  # accepted, never delivered: the fan-out store is down
            try:
                parsed = json.loads(msg.data)
            except ValueError:
                parsed = None
            ack_id = parsed.get("id") if isinstance(parsed, dict) else None
            await ws.send_json({"type": "ack", "id": ack_id, "revision": serving.revision, "echo": msg.data})
        return ws
