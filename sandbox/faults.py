"""Fault injection on the sandbox's Google APIs: a seeded share of calls fails, and every call can be slowed.

The same settings drive the Cloud Run REST server (as HTTP status + Google error JSON) and the
Monitoring gRPC server (as a gRPC status). ABORTED stands for an etag conflict: it only makes sense
for a write, so reads that draw it are served normally. PERMISSION_DENIED (a role taken away) and
UNAUTHENTICATED (an access token that expired: a client with refreshable credentials refreshes it and
asks again, as google.auth's AuthorizedSession does on a 401) are said in Google's words; with a
budget of 1, "the next call" is refused once.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "PERMISSION_DENIED",
               "UNAUTHENTICATED")
HTTP_STATUS = {"UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504, "RESOURCE_EXHAUSTED": 429, "ABORTED": 409,
               "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401}
MESSAGES = {
    "UNAVAILABLE": "The service is currently unavailable.",
    "DEADLINE_EXCEEDED": "The request deadline was exceeded before the operation completed.",
    "RESOURCE_EXHAUSTED": "Quota exceeded: too many requests, retry later.",
    "ABORTED": "The resource was modified concurrently; its etag no longer matches.",
    "PERMISSION_DENIED": "The caller does not have permission",
    # Google's answer to an expired or revoked access token, on every API.
    "UNAUTHENTICATED": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                       "or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.",
}


@dataclass
class ApiFaults:
    """A seeded share of calls answered with an error instead of being served, plus added latency.

    `methods` limits the faults to those RPC names (e.g. "UpdateService", "ListTimeSeries"); empty means all.
    `budget` caps how many faults are injected in all ("fail the next N calls"); None means no cap.
    """

    share: float = 0.0
    kinds: tuple[str, ...] = ("UNAVAILABLE",)
    latency_s: float = 0.0
    seed: int = 0
    methods: tuple[str, ...] = ()
    budget: int | None = None
    injected: int = field(default=0, compare=False)  # faults answered so far
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"fault share must be between 0 and 1, got {self.share}")
        if self.latency_s < 0:
            raise ValueError(f"added latency must not be negative, got {self.latency_s}")
        self.kinds = tuple(self.kinds)
        self.methods = tuple(self.methods)
        unknown = [k for k in self.kinds if k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; known: {', '.join(FAULT_KINDS)}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, method: str, write: bool) -> str | None:
        """The status to fail this call with, or None to serve it."""
        if self.share <= 0.0 or (self.methods and method not in self.methods):
            return None
        kinds = self.kinds if write else tuple(k for k in self.kinds if k != "ABORTED")
        if not kinds:
            return None
        with self._lock:
            if self.budget is not None and self.budget <= 0:
                return None
            if self._rng.random() >= self.share:
                return None
            if self.budget is not None:
                self.budget -= 1
            self.injected += 1
            return self._rng.choice(kinds)

    def to_dict(self) -> dict[str, Any]:
        return {"share": self.share, "kinds": list(self.kinds), "latency_s": self.latency_s,
                "seed": self.seed, "methods": list(self.methods), "budget": self.budget}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiFaults:
        return cls(share=float(data.get("share", 0.0)), kinds=tuple(data.get("kinds", ("UNAVAILABLE",))),
                   latency_s=float(data.get("latency_s", 0.0)), seed=int(data.get("seed", 0)),
                   methods=tuple(data.get("methods", ())), budget=data.get("budget"))


@dataclass
class SandboxFaults:
    """Fault settings per API; replace an attribute to change them on a running sandbox."""

    cloudrun: ApiFaults = field(default_factory=ApiFaults)
    monitoring: ApiFaults = field(default_factory=ApiFaults)

    def clear(self) -> None:
        self.cloudrun = ApiFaults()
        self.monitoring = ApiFaults()

    def to_dict(self) -> dict[str, Any]:
        return {"cloudrun": self.cloudrun.to_dict(), "monitoring": self.monitoring.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxFaults:
        return cls(cloudrun=ApiFaults.from_dict(data.get("cloudrun", {})),
                   monitoring=ApiFaults.from_dict(data.get("monitoring", {})))
