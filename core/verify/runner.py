"""verify_revision: run the named checks on one revision, each within its own time budget, into a report.

The checks run side by side in worker threads (they mostly wait on the network). A check that
overruns its budget or raises becomes a failed result with one sentence; the report is always whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime

import httpx

from core.config import CHECKS, ValidationCriteria
from core.errors import BadInput, OpsError
from core.ports import CloudRunProvider, MetricsProvider
from core.verify.common import PROFILES, CheckContext, number
from core.verify.error_rate import check_error_rate
from core.verify.health import check_health
from core.verify.integration import check_integration
from core.verify.report import CheckResult, VerificationReport, VerifyTarget
from core.verify.security import check_security
from core.verify.smoke import BUDGET_TIMEOUTS as SMOKE_BUDGET_TIMEOUTS
from core.verify.smoke import MIN_REQUESTS as MIN_SMOKE_REQUESTS
from core.verify.smoke import check_smoke
from core.verify.websocket import check_websocket

Check = Callable[[CheckContext], CheckResult]
CHECK_FUNCTIONS: dict[str, Check] = {
    "health": check_health,
    "websocket": check_websocket,
    "smoke": check_smoke,
    "error_rate": check_error_rate,
    "integration": check_integration,
    "security": check_security,
}
# How many network waits of `timeout` each check may spend (health: two GETs; websocket: connect, then
# the acks; error_rate: the metrics provider retries within its own deadline; smoke: its burst stops
# starting requests one timeout before its budget ends; security: Cloud Run's service, revisions and IAM
# policy), plus a second of grace.
_BUDGET_TIMEOUTS = {"health": 2, "websocket": 2, "smoke": SMOKE_BUDGET_TIMEOUTS, "error_rate": 6, "integration": 1,
                    "security": 3}
_GRACE_S = 1.0
_MAX_EXCEPTION_TEXT = 200


def check_budget(name: str, timeout: float) -> float:
    """Seconds a check may take before it is reported as failed."""
    return _BUDGET_TIMEOUTS[name] * timeout + _GRACE_S


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _clause(text: str) -> str:
    return " ".join(text.split()).rstrip(".")


def _guarded(name: str, ctx: CheckContext) -> CheckResult:
    try:
        return CHECK_FUNCTIONS[name](ctx)
    except OpsError as exc:  # a provider's own one-sentence explanation (e.g. Cloud Monitoring unavailable)
        return CheckResult(name, "fail", _clause(str(exc)), {"error": type(exc).__name__})
    except Exception as exc:
        text = _clause(str(exc))[:_MAX_EXCEPTION_TEXT]
        said = f"the {name} check failed unexpectedly ({type(exc).__name__}" + (f": {text})" if text else ")")
        return CheckResult(name, "fail", said, {"error": type(exc).__name__})


def _requested(checks: Sequence[str]) -> list[str]:
    if isinstance(checks, str):
        checks = [checks]  # one name, not its letters
    unknown = [c for c in checks if c not in CHECK_FUNCTIONS]
    if unknown:
        raise BadInput(f"Unknown verification check {unknown[0]!r}; known checks: {', '.join(CHECKS)}.")
    return list(dict.fromkeys(checks))


def _validate(target: VerifyTarget, profile: str, window: tuple[datetime, datetime] | None, messages: int,
              timeout: float, smoke_requests: int, baseline_url: str | None) -> None:
    if profile not in PROFILES:
        raise BadInput(f"Unknown profile {profile!r} for verifying {target.revision}; use sandbox or gcp.")
    if window is not None and window[1] <= window[0]:
        raise BadInput(f"The verification window for {target.revision} ends ({window[1]:%H:%M:%S}) "
                       f"before it starts ({window[0]:%H:%M:%S}).")
    if messages < 1:
        raise BadInput(f"The WebSocket check needs at least 1 message, got {messages}.")
    if not timeout > 0:
        raise BadInput(f"The verification timeout must be a positive number of seconds, got {timeout}.")
    if smoke_requests < MIN_SMOKE_REQUESTS:
        raise BadInput(f"The smoke check needs at least {MIN_SMOKE_REQUESTS} requests per side to judge "
                       f"{target.revision}, got {smoke_requests}.")
    if baseline_url is not None and not baseline_url.startswith(("http://", "https://")):
        raise BadInput(f"The smoke check's baseline URL for {target.revision} must start with http:// or "
                       f"https://, got {baseline_url!r}.")


def verify_revision(target: VerifyTarget, checks: Sequence[str], *, metrics: MetricsProvider | None,
                    criteria: ValidationCriteria, window: tuple[datetime, datetime] | None, profile: str,
                    http: httpx.Client | None = None, messages: int = 20, timeout: float = 5.0,
                    now: Callable[[], datetime] = _utc_now, smoke_requests: int = 200,
                    baseline_url: str | None = None, cloudrun: CloudRunProvider | None = None) -> VerificationReport:
    """Run `checks` (names from core.config.CHECKS) on the target revision and report on each.

    Results come in the order of CHECKS. A required check (criteria.required_checks) that was not
    asked for is reported as skipped, so the report cannot pass without it. `now` stamps the report
    (the sandbox passes its clock). The smoke check sends `smoke_requests` GETs to the target and, when
    `baseline_url` (the service's URL, serving the stable revision) is given, as many to it. `cloudrun` is
    where the security check reads the service's invoker policy and ingress.
    """
    names = _requested(checks)
    _validate(target, profile, window, messages, timeout, smoke_requests, baseline_url)
    required = tuple(criteria.required_checks)
    client = http or httpx.Client()
    ctx = CheckContext(target=target, metrics=metrics, criteria=criteria, window=window,
                       profile=profile,  # type: ignore[arg-type]  # validated above
                       http=client, messages=messages, timeout=timeout, smoke_requests=smoke_requests,
                       baseline_url=baseline_url, cloudrun=cloudrun)
    started_at, start = now(), time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(1, len(names)), thread_name_prefix="verify")
    futures: dict[str, Future[CheckResult]] = {name: pool.submit(_guarded, name, ctx) for name in names}
    results: list[CheckResult] = []
    overran = False
    for name in names:
        budget = check_budget(name, timeout)
        try:
            results.append(futures[name].result(timeout=max(0.0, start + budget - time.monotonic())))
        except FutureTimeout:
            overran = True
            results.append(CheckResult(name, "fail", f"the {name} check did not finish within {number(budget)} s",
                                       {"budget_s": budget}))
    # An overrunning check stops at its own network timeouts; nobody waits for it or reads its result.
    pool.shutdown(wait=not overran, cancel_futures=True)
    if http is None and not overran:
        client.close()
    for name in required:
        if name not in futures:
            results.append(CheckResult(name, "skipped", "required by the validation criteria but not run"))
    results.sort(key=lambda r: CHECKS.index(r.name))
    return VerificationReport(target=target.ref, results=results, started_at=started_at,
                              duration_s=time.monotonic() - start, required=required)
