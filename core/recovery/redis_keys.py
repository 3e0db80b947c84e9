"""Redis's keys per prefix, counted by the service that holds the connection and read from its readiness endpoint.

Production cannot count them any other way from here: Memorystore's API has no key count (see
core/verify/readiness.py) and the instance is reachable only inside the VPC. When Redis is down the service
still reports the counts it last read and when (`last_keys`): good as a baseline, never as proof of now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from core.verify.readiness import read_readiness

TIMEOUT_S = 3.0  # as the recovery's other probes


@dataclass(frozen=True)
class KeyCounts:
    """Keys per prefix (None: not counted, `problem` says why); `read_at` is "" for a count made now, else when
    the service last read them."""

    counts: Mapping[str, int] | None
    read_at: str = ""
    problem: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values()) if self.counts else 0

    def shown(self) -> str:
        """ "10 keys (agent 8, fanout 1, sessions 1)" """
        parts = ", ".join(f"{prefix} {n}" for prefix, n in sorted((self.counts or {}).items()))
        return f"{self.total} keys" + (f" ({parts})" if parts else "")


def redis_key_counts(http: httpx.Client, service_url: str) -> KeyCounts:
    """What the service's /readyz says of Redis's keys: counted now, or (Redis unreachable) last read."""
    ready = read_readiness(http, service_url, TIMEOUT_S)
    if not ready.measured:
        return KeyCounts(None, problem=ready.problem)
    redis = ready.dependencies.get("redis")
    if redis is None:
        return KeyCounts(None, problem="the service's /readyz does not report redis")
    if redis.ok and redis.keys is not None:
        return KeyCounts(redis.keys)
    if redis.last_keys is not None:
        return KeyCounts(redis.last_keys, read_at=redis.last_keys_at or "before Redis became unreachable")
    said = f"Redis is unreachable from the service ({redis.error})" if not redis.ok else \
        "the service's /readyz reports redis without its key counts"
    return KeyCounts(None, problem=said)
