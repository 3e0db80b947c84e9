"""Network probes of what users reach: HTTP answers of a service URL and WebSocket delivery through it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from core.verify.readiness import failing
from core.verify.websocket import _exchange, websocket_url  # the verifier's own exchange: one protocol, one client

REVISION_HEADER = "X-Serving-Revision"


@dataclass(frozen=True)
class Answer:
    path: str
    status: int | None  # None: no answer at all (connection refused, timeout)
    reason: str
    revision: str

    @property
    def ok(self) -> bool:
        return self.status == 200


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:120]
    if not isinstance(body, dict):
        return ""
    return str(body.get("reason") or body.get("error") or failing(body) or "")


def probe(http: httpx.Client, url: str, path: str, times: int = 1) -> list[Answer]:
    out = []
    for _ in range(times):
        if not url:
            out.append(Answer(path, None, "the service has no URL", ""))
            continue
        try:
            response = http.get(url.rstrip("/") + path, timeout=3.0)
        except httpx.HTTPError as exc:
            out.append(Answer(path, None, f"no answer ({type(exc).__name__})", ""))
            continue
        out.append(Answer(path, response.status_code, _reason(response), response.headers.get(REVISION_HEADER, "")))
    return out


@dataclass(frozen=True)
class Delivery:
    sent: int
    acked: int
    problem: str

    @property
    def lost(self) -> int:
        return self.sent - self.acked


def deliver(url: str, messages: int, timeout: float) -> Delivery:
    """Send `messages` over the service's WebSocket and count the acknowledgements."""
    if not url:
        return Delivery(0, 0, "the service has no URL")
    exchange = asyncio.run(_exchange(websocket_url(url), messages, timeout))
    return Delivery(messages, len(exchange.round_trips_ms), exchange.problem)  # unsent messages count as lost
