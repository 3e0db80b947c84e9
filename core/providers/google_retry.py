"""Retries for the Google clients (google.api_core.retry) and the one-sentence errors their failures become.

Transient answers (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED / HTTP 429, a dropped connection)
are retried with exponential backoff until a deadline; everything else fails at once. Either way the
operator gets an OperationFailed naming the API, the operation and the resource, e.g. "Cloud Run:
setting traffic on projects/p/locations/r/services/s failed after 30 s: 503 UNAVAILABLE".

google.api_core and requests are imported when a policy builds its Retry or a call fails: a client
built by then has loaded them anyway, and RetryPolicy and GoogleCallFailed are read by code that
never calls Google (the engine, the tests' fixtures).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from core.errors import OperationFailed

if TYPE_CHECKING:
    from google.api_core import exceptions as gexc
    from google.api_core import retry as gretry

T = TypeVar("T")


@functools.cache
def transient() -> tuple[type[Exception], ...]:
    """The failures worth retrying. The HTTP parents cover both transports: REST raises
    GatewayTimeout/TooManyRequests for 504/429, gRPC raises their subclasses DeadlineExceeded/ResourceExhausted."""
    import requests
    from google.api_core import exceptions as gexc

    return (
        gexc.ServiceUnavailable,
        gexc.GatewayTimeout,
        gexc.TooManyRequests,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,  # the REST transport's attempt ran out of its share of the deadline
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff (seconds) and deadline; tests pass small numbers so a failing call ends in well under a second."""

    initial: float = 0.5
    maximum: float = 8.0
    multiplier: float = 2.0
    # Passed as the call's `timeout` too: api_core turns it into a deadline that shrinks each attempt's
    # own timeout to the time left, so no attempt outlives the deadline.
    deadline: float = 30.0
    poll_initial: float = 1.0  # long-running operations are polled with their own backoff
    poll_maximum: float = 10.0
    operation_timeout: float = 600.0

    def retry(self) -> gretry.Retry:
        from google.api_core import retry as gretry

        return gretry.Retry(predicate=gretry.if_exception_type(*transient()), initial=self.initial,
                            maximum=self.maximum, multiplier=self.multiplier, timeout=self.deadline)

    def polling(self) -> gretry.Retry:
        from google.api_core import retry as gretry
        from google.api_core.future.polling import POLLING_PREDICATE

        return gretry.Retry(predicate=POLLING_PREDICATE, initial=self.poll_initial, maximum=self.poll_maximum,
                            multiplier=1.5, timeout=self.operation_timeout)


class GoogleCallFailed(OperationFailed):
    """A Google API call that did not succeed; `status` is the google.rpc code name (e.g. "UNAVAILABLE")."""

    def __init__(self, message: str, *, api: str, operation: str, resource: str, status: str) -> None:
        super().__init__(message)
        self.api, self.operation, self.resource, self.status = api, operation, resource, status


def status_of(exc: BaseException) -> tuple[str, str]:
    """("503", "UNAVAILABLE")-style code and status name of a client exception."""
    import requests
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.GoogleAPICallError):
        # REST errors such as 409/429/504 carry no gRPC code in api_core; Google sends the name in the body.
        code = exc.grpc_status_code
        name = _body_status(exc) or (code.name if code is not None else type(exc).__name__)
        return str(exc.code or ""), name
    if isinstance(exc, requests.exceptions.Timeout):
        return "", "DEADLINE_EXCEEDED"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "", "connection failed"
    return "", type(exc).__name__


def _body_status(exc: gexc.GoogleAPICallError) -> str:
    import requests

    response = exc.response
    if not isinstance(response, requests.Response):
        return ""
    try:
        status = response.json().get("error", {}).get("status", "")
    except (ValueError, AttributeError):
        return ""
    return status if isinstance(status, str) else ""


def describe(exc: BaseException) -> str:
    code, status = status_of(exc)
    return f"{code} {status}".strip()


def server_message(exc: BaseException) -> str:
    """What Google said, on one line and without its closing full stop (its messages may span lines).

    The REST transport's exception message starts with the method and URL; the error body has Google's own words.
    """
    import requests

    message = getattr(exc, "message", "") or ""
    response = getattr(exc, "response", None)
    if isinstance(response, requests.Response):
        try:
            said = response.json().get("error", {}).get("message")
        except (ValueError, AttributeError):
            said = None
        message = said if isinstance(said, str) and said else message
    return " ".join(str(message).split()).rstrip(".")


# What the operator can do about an answer only they can fix, appended to the sentence.
_REMEDY = {
    "PERMISSION_DENIED": "; the account the console runs as needs that permission on the resource",
    "UNAUTHENTICATED": "; sign in again (gcloud auth application-default login) or fix the credentials",
}


def _elapsed(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def call_google(api: str, operation: str, resource: str, fn: Callable[[], T], *,
                passthrough: tuple[type[BaseException], ...] = ()) -> T:
    """Run one client call (which carries its own Retry) and turn its failure into a GoogleCallFailed.

    Exceptions in `passthrough` (e.g. an etag Conflict the caller handles) are re-raised unchanged.
    """
    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exceptions

    started = time.monotonic()
    try:
        return fn()
    except passthrough:
        raise
    except gexc.RetryError as exc:
        cause = exc.cause or exc
        raise GoogleCallFailed(f"{api}: {operation} {resource} failed after {_elapsed(time.monotonic() - started)}: "
                               f"{describe(cause)}.", api=api, operation=operation, resource=resource,
                               status=status_of(cause)[1]) from None
    except (gexc.GoogleAPICallError, requests.exceptions.RequestException) as exc:
        elapsed = time.monotonic() - started
        when = f" after {_elapsed(elapsed)}" if isinstance(exc, transient()) else ""
        status = status_of(exc)[1]
        raise GoogleCallFailed(f"{api}: {operation} {resource} failed{when}: {describe(exc)}"
                               f"{_detail(exc)}{_REMEDY.get(status, '')}.", api=api, operation=operation,
                               resource=resource, status=status) from None
    except auth_exceptions.GoogleAuthError as exc:
        # A 401 makes google.auth refresh the access token and ask again; this is the refresh failing (a revoked
        # or expired grant: RefreshError "invalid_grant: Token has been expired or revoked.") or credentials
        # that cannot be refreshed at all.
        said = " ".join(str(exc.args[0] if exc.args else exc).split()).rstrip(".")
        raise GoogleCallFailed(f"{api}: {operation} {resource} failed: the credentials were refused and could not "
                               f"be refreshed ({said}){_REMEDY['UNAUTHENTICATED']}.", api=api, operation=operation,
                               resource=resource, status="UNAUTHENTICATED") from None


def _detail(exc: BaseException) -> str:
    """The server's own message for errors the operator must act on (not for transient ones)."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, transient()) or not isinstance(exc, gexc.GoogleAPICallError):
        return ""
    message = server_message(exc)
    return f" ({message})" if message else ""
