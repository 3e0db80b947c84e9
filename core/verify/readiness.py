"""The service's readiness endpoint as the console reads it: each dependency reachable or not, and Redis's key counts.

The contract (docs/READINESS.md) is what the WebSocket server serves at `/readyz`:
`{"status": "ok"|"degraded", "dependencies": {NAME: {"ok": bool, "latency_ms": float, "error": str, ...}}}`,
Redis adding `keys` (per prefix) while reachable, or `last_keys` and `last_keys_at` (what it last read) when
not. Memorystore's API cannot stand in for it: its Instance resource has no key count
(https://cloud.google.com/memorystore/docs/redis/reference/rest/v1/projects.locations.instances lists state,
tier, memory, zones, never keys), so the server, which holds the connection, reports them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

PATH = "/readyz"


@dataclass(frozen=True)
class Dependency:
    """One dependency as the server measured it; `keys` now, or `last_keys` read at `last_keys_at` (Redis only)."""

    name: str
    ok: bool
    error: str = ""
    latency_ms: float | None = None
    keys: Mapping[str, int] | None = None
    last_keys: Mapping[str, int] | None = None
    last_keys_at: str = ""

    def describe(self) -> str:
        """ "firebase reachable in 14 ms", "redis unreachable: connection to 10.0.0.3:6379 timed out" """
        if self.ok:
            return f"{self.name} reachable" + (f" in {self.latency_ms:g} ms" if self.latency_ms is not None else "")
        return f"{self.name} unreachable" + (f": {self.error}" if self.error else "")


@dataclass(frozen=True)
class Readiness:
    """What one GET of the readiness endpoint told; `problem` says why no dependency could be read ("" if read)."""

    url: str
    status: int | None
    problem: str
    dependencies: Mapping[str, Dependency] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return not self.problem


def _counts(value: Any) -> Mapping[str, int] | None:
    if not isinstance(value, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
               for k, v in value.items()):
        return None
    return dict(value)


def _dependency(name: str, value: Any) -> Dependency | None:
    if not isinstance(value, dict) or not isinstance(value.get("ok"), bool):
        return None
    latency = value.get("latency_ms")
    return Dependency(name=name, ok=value["ok"], error=str(value.get("error") or ""),
                      latency_ms=float(latency) if isinstance(latency, int | float) and latency >= 0 else None,
                      keys=_counts(value.get("keys")), last_keys=_counts(value.get("last_keys")),
                      last_keys_at=str(value.get("last_keys_at") or ""))


def dependencies_of(body: Any) -> dict[str, Dependency]:
    """The dependencies a readiness body reports (those in the contract's shape), by name."""
    found = body.get("dependencies") if isinstance(body, dict) else None
    if not isinstance(found, dict):
        return {}
    parsed = {str(name): _dependency(str(name), value) for name, value in found.items()}
    return {name: dep for name, dep in parsed.items() if dep is not None}


def failing(body: Any) -> str:
    """The unreachable dependencies of a readiness body in one clause, or "" (a probe's reason)."""
    return "; ".join(dep.describe() for dep in dependencies_of(body).values() if not dep.ok)


def read_readiness(http: httpx.Client, base_url: str, timeout: float) -> Readiness:
    """GET base_url + /readyz once. A 503 still carries the dependencies; only no answer, or a body without
    them, leaves them unmeasured."""
    if not base_url:
        return Readiness("", None, "there is no URL to read the readiness endpoint from")
    url = base_url.rstrip("/") + PATH
    start = time.monotonic()
    try:
        answer = http.get(url, timeout=timeout, follow_redirects=False)
    except httpx.TimeoutException:
        return Readiness(url, None, f"{PATH} did not answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return Readiness(url, None, f"{PATH} could not be reached ({type(exc).__name__} after "
                                    f"{(time.monotonic() - start) * 1000:.0f} ms)")
    try:
        body = answer.json()
    except ValueError:
        body = None
    found = dependencies_of(body)
    if not found:
        return Readiness(url, answer.status_code, f"{PATH} answered {answer.status_code} without the dependencies "
                                                  "it checked")
    return Readiness(url, answer.status_code, "", found)
