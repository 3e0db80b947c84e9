"""The one retry policy for every httpx call the console makes to a third party (Vercel, Slack, PagerDuty).

Retried: 429 (waiting what Retry-After asks, capped), every 5xx, and network errors, with exponential
backoff plus jitter, a bounded number of attempts AND an overall deadline. Never retried: any other
status (400, 401, 403, 404, 409, ...), because asking again cannot change the answer. A final failure
is an `OperationFailed` that names the operation and the resource and never contains a secret.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying

from core.errors import OperationFailed

log = logging.getLogger(__name__)

# The request certainly never reached the server, so even a non-idempotent call may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_REDACTED = "***"


class RequestRefused(OperationFailed):
    """The service answered with a status that retrying cannot change (a 4xx other than 429)."""

    def __init__(self, message: str, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class RetriesExhausted(OperationFailed):
    """Every attempt allowed by the policy (count or deadline) failed with a retryable error."""

    def __init__(self, message: str, attempts: int, status: int | None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """Timings of the shared retry policy; `sleep`, `clock` and `random` are injectable for tests."""

    max_attempts: int = 4
    deadline: float = 30.0
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.5
    retry_after_cap: float = 10.0
    attempt_timeout: float = 10.0
    # Below this an attempt could not even connect; the deadline may be overrun by at most this much.
    min_attempt_timeout: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based) when the server said nothing."""
        return min(self.max_backoff, self.initial_backoff * 2.0 ** (attempt - 1) + self.random() * self.jitter)


DEFAULT_POLICY = RetryPolicy()


def is_retryable_status(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds (it may be a number or an HTTP date), or None if absent or unreadable."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    return text


def default_detail(response: httpx.Response) -> str:
    """A short reason from an error body: Vercel's error.message, PagerDuty's errors, or Slack's text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(message, str):
            return message
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors)
        message = body.get("message")
        if isinstance(message, str):
            return message
    return response.text.strip()[:200]


def _describe_error(exc: BaseException) -> str:
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "network error"
    text = str(exc).strip()
    return f"{kind} ({type(exc).__name__}: {text})" if text else f"{kind} ({type(exc).__name__})"


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    operation: str,
    policy: RetryPolicy = DEFAULT_POLICY,
    idempotent: bool = True,
    secrets: Iterable[str] = (),
    detail: Callable[[httpx.Response], str] = default_detail,
    **kwargs: Any,  # httpx's own request arguments (json, params, headers), passed through as they are
) -> httpx.Response:
    """Send one request under the retry policy and return the 1xx/2xx response.

    `operation` names what is being done to which resource ("Vercel: promoting deployment dpl_x of
    project web") and starts every error message. `secrets` are scrubbed from any text that could reach
    a message or a log. A non-idempotent request is not resent after an error that may have come after
    the server received it (a read timeout), only after refusals (429/5xx) and failures to connect.
    """
    hidden = tuple(secrets)
    start = policy.clock()
    stopped_by_deadline = False

    def attempt() -> httpx.Response:
        remaining = policy.deadline - (policy.clock() - start)
        timeout = max(policy.min_attempt_timeout, min(policy.attempt_timeout, remaining))
        return client.request(method, url, timeout=timeout, **kwargs)

    def should_retry(state: RetryCallState) -> bool:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            exc = outcome.exception()
            return isinstance(exc, _NOT_SENT) or (idempotent and isinstance(exc, _RETRYABLE_ERRORS))
        return is_retryable_status(outcome.result().status_code)

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        assert outcome is not None
        if not outcome.failed:
            asked = retry_after_seconds(outcome.result())
            if asked is not None:
                return min(asked, policy.retry_after_cap)
        return policy.backoff(state.attempt_number)

    def stop(state: RetryCallState) -> bool:
        nonlocal stopped_by_deadline
        if state.attempt_number >= policy.max_attempts:
            return True
        # Give up now rather than sleep past the deadline: the caller gets its answer in time.
        if policy.clock() - start + state.upcoming_sleep > policy.deadline:
            stopped_by_deadline = True
            return True
        return False

    def failure(state: RetryCallState) -> str:
        outcome = state.outcome
        assert outcome is not None
        error = outcome.exception() if outcome.failed else None
        if error is not None:
            return redact(_describe_error(error), hidden)
        return f"HTTP {outcome.result().status_code}"

    def before_sleep(state: RetryCallState) -> None:
        log.warning("%s: attempt %d failed (%s); retrying in %.2f s", operation, state.attempt_number,
                    failure(state), state.upcoming_sleep)

    def give_up(state: RetryCallState) -> httpx.Response:
        outcome = state.outcome
        assert outcome is not None
        attempts = state.attempt_number
        within = f" within its {policy.deadline:g} s deadline" if stopped_by_deadline else ""
        plural = "attempt" if attempts == 1 else "attempts"
        message = f"{operation} failed after {attempts} {plural}{within}: {failure(state)}"
        status = None if outcome.failed else outcome.result().status_code
        cause = outcome.exception() if outcome.failed else None
        raise RetriesExhausted(message, attempts, status) from cause

    retrying = Retrying(stop=stop, wait=wait, retry=should_retry, sleep=policy.sleep,
                        before_sleep=before_sleep, retry_error_callback=give_up)
    try:
        response: httpx.Response = retrying(attempt)
    except httpx.TransportError as exc:
        reason = redact(_describe_error(exc), hidden)
        if isinstance(exc, _RETRYABLE_ERRORS):
            raise OperationFailed(f"{operation} failed: {reason}, and it was not retried because the "
                                  f"request may already have been applied") from exc
        raise OperationFailed(f"{operation} failed: {reason}") from exc
    if response.status_code >= 300:
        reason = redact(detail(response), hidden)
        suffix = f" ({reason})" if reason else ""
        raise RequestRefused(f"{operation} was refused: HTTP {response.status_code}{suffix}",
                             response.status_code, reason)
    return response


class _RedactSecrets(logging.Filter):
    """Rewrites httpx's request log line, which prints the full URL (a Slack webhook URL is a secret)."""

    def __init__(self) -> None:
        super().__init__()
        # Replaced, never mutated, so a thread logging while another adds a secret sees a whole set.
        self.secrets: frozenset[str] = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            cleaned = redact(message, self.secrets)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


_httpx_log_filter = _RedactSecrets()
logging.getLogger("httpx").addFilter(_httpx_log_filter)


def hide_in_logs(secret: str) -> None:
    """Keep `secret` (a webhook URL, a key) out of httpx's own request logs."""
    if not secret:
        return
    forms = {secret}
    if secret.startswith(("http://", "https://")):
        url = httpx.URL(secret)
        forms.add(str(url))
        # The path is the secret part of a webhook URL; hide it wherever it shows up on its own.
        if len(url.raw_path) > 8:
            forms.add(url.raw_path.decode("ascii", "replace"))
    _httpx_log_filter.secrets = _httpx_log_filter.secrets | forms
