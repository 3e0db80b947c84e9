"""What every verification check gets (CheckContext) and the small helpers they share: probing an
endpoint over HTTP, quoting its reason, and writing numbers the way reports show them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx

from core.config import ValidationCriteria
from core.ports import CloudRunProvider, MetricsProvider
from core.verify import readiness
from core.verify.report import VerifyTarget

Profile = Literal["sandbox", "gcp"]
PROFILES: tuple[Profile, ...] = ("sandbox", "gcp")
ItemStatus = Literal["pass", "fail", "warning", "info"]
_SHORT_BODY = 160  # a body longer than this is not quoted: it would not fit in one sentence


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may use; `timeout` bounds each network wait of a check.

    `baseline_url` is the service's own URL (it routes by the traffic split, so with no traffic on the
    target it reaches the stable revision): the smoke check compares the target with it when given.
    `cloudrun` is the environment's Cloud Run (the security check reads who may invoke the service and its
    ingress there); without it that item cannot be measured and fails.
    """

    target: VerifyTarget
    metrics: MetricsProvider | None
    criteria: ValidationCriteria
    window: tuple[datetime, datetime] | None
    profile: Profile
    http: httpx.Client
    messages: int
    timeout: float
    smoke_requests: int = 200
    baseline_url: str | None = None
    cloudrun: CloudRunProvider | None = None  # the security check reads the service's IAM policy and ingress


@dataclass(frozen=True)
class Probe:
    """One GET of an endpoint: its status (None when nothing answered), reason and latency."""

    url: str
    status: int | None
    latency_ms: float
    reason: str  # the endpoint's own short reason, or why nothing answered
    body: Any = None  # the parsed JSON body, when there was one

    @property
    def ok(self) -> bool:
        return self.status == 200


def item(name: str, status: ItemStatus, detail: str) -> dict[str, str]:
    """One line of a check that looks at several things (integration, security)."""
    return {"name": name, "status": status, "detail": detail}


def reason_from_body(text: str) -> tuple[str, Any]:
    """The endpoint's own reason for an answer, quoted only when short, and the parsed JSON body if any."""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("reason"), str):
            return body["reason"], body
        failing = readiness.failing(body)
        if failing:
            return failing, body
        for key in ("error", "message", "status"):
            if isinstance(body.get(key), str):
                return body[key], body
    stripped = " ".join(text.split())
    if not stripped:
        return "", body
    return (stripped if len(stripped) <= _SHORT_BODY else f"a {len(text)}-character body"), body


def probe(ctx: CheckContext, path: str) -> Probe:
    """GET the target's URL + path once, within the check's timeout; never raises for network trouble."""
    url = ctx.target.url.rstrip("/") + path
    start = time.monotonic()
    try:
        answer = ctx.http.get(url, timeout=ctx.timeout, follow_redirects=False)
    except httpx.TimeoutException:
        return Probe(url, None, _ms_since(start), f"no answer within {number(ctx.timeout)} s")
    except httpx.HTTPError as exc:
        return Probe(url, None, _ms_since(start), f"could not connect ({type(exc).__name__})")
    reason, body = reason_from_body(answer.text)
    return Probe(url, answer.status_code, _ms_since(start), reason, body)


def _ms_since(start: float) -> float:
    return round((time.monotonic() - start) * 1000.0, 1)


def number(value: float) -> str:
    """A count or measure as reports write it: "4 812", "0.3", "12"."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", " ")
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2g}"


def percent(share: float) -> str:
    """A share 0..1 as a percentage with sensible precision: "15 %", "0.3 %", "0.05 %"."""
    pct = share * 100.0
    if pct == 0 or pct >= 10 or float(pct).is_integer():
        return f"{pct:.0f} %"
    return f"{pct:.1f} %" if pct >= 0.1 else f"{pct:.2f} %"


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def listing(names: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c" """
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
