"""The body of a sandbox revision's `/readyz`: each dependency as the real server must report it (docs/READINESS.md).

Redis and Firebase are required (the server cannot deliver a message or check a sign-in without them), so
either one down answers 503; Google Calendar is optional, so it down answers 200 with status "degraded".
Redis reports its keys per prefix while reachable and, when not, the counts it last read and when; the
latencies are the sandbox's fixed stand-ins for what the server measures on its own calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.revision_server import Serving

REQUIRED = ("redis", "firebase")
_LATENCY_MS = {"redis": 0.8, "firebase": 14.0, "calendar": 41.0}
_DOWN = {
    "redis": "connection to 10.0.0.3:6379 timed out",
    "firebase": "securetoken.googleapis.com did not answer within 2 s",
    "calendar": "www.googleapis.com/calendar/v3 did not answer within 2 s",
}


def _dependency(name: str, down: bool) -> dict[str, Any]:
    if down:
        return {"ok": False, "error": _DOWN[name]}
    return {"ok": True, "latency_ms": _LATENCY_MS[name]}


def readiness(serving: Serving) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of `/readyz` for a revision that serves."""
    redis = _dependency("redis", serving.redis_down)
    if serving.redis_down:
        redis.update(last_keys=dict(serving.redis_keys), last_keys_at=serving.fault_since)
    else:
        redis["keys"] = dict(serving.redis_keys)
    dependencies = {"redis": redis, "firebase": _dependency("firebase", serving.firebase_down),
                    "calendar": _dependency("calendar", serving.calendar_down)}
    failing = [name for name, dep in dependencies.items() if not dep["ok"]]
    body = {"status": "degraded" if failing else "ok", "revision": serving.revision, "dependencies": dependencies}
    return (503 if any(name in REQUIRED for name in failing) else 200), body
