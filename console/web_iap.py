"""Who a request behind Identity-Aware Proxy is: its signed x-goog-iap-jwt-assertion, verified, gives the email.

Follows Google's "Securing your app with signed headers" (https://cloud.google.com/iap/docs/signed-headers-howto):
the JWT's header must say alg ES256 and name (kid) one of the keys IAP publishes at
https://www.gstatic.com/iap/verify/public_key; its payload must be current (exp, iat), for this backend (aud
/projects/PROJECT_NUMBER/global/backendServices/SERVICE_ID or /projects/PROJECT_NUMBER/apps/PROJECT_ID), from
https://cloud.google.com/iap (iss), and carries the user's email. The unsigned x-goog-authenticated-user-* headers
are never read: the same page warns that whoever bypasses IAP can forge them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

import httpx
from google.auth import exceptions as google_exceptions
from google.auth import jwt

ASSERTION_HEADER = "x-goog-iap-jwt-assertion"
ISSUER = "https://cloud.google.com/iap"
KEYS_FRESH_S = 3600.0  # IAP rotates its keys rarely; an unknown key id fetches again sooner (below)
REFETCH_AT_MOST_EVERY_S = 60.0  # forged key ids must not make us hammer the key server

KeySource = Callable[[], Awaitable[Mapping[str, str]]]


class NotVerified(Exception):
    """The request carries no assertion that IAP signed for this console; the message says which check failed."""


def keys_from_url(url: str) -> KeySource:
    """IAP's key file ({key id: PEM public key}) read over HTTP; tests point it at a key server of their own."""

    async def fetch() -> Mapping[str, str]:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(url)
            response.raise_for_status()
            keys = response.json()
        if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
            raise ValueError(f"{url} did not return IAP's key file ({{key id: PEM}})")
        return keys

    return fetch


class IapVerifier:
    """Verifies assertions for one audience against IAP's public keys, kept for an hour."""

    def __init__(self, audience: str, keys: KeySource, clock: Callable[[], float] = time.monotonic) -> None:
        self.audience = audience
        self._source = keys
        self._clock = clock
        self._keys: Mapping[str, str] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def email(self, assertion: str | None) -> str:
        """The verified user's email, or NotVerified."""
        if not assertion:
            raise NotVerified(f"no {ASSERTION_HEADER} header: the request did not come through Identity-Aware Proxy")
        try:
            header = jwt.decode_header(assertion)
        except (ValueError, google_exceptions.GoogleAuthError):
            raise NotVerified(f"{ASSERTION_HEADER} is not a JWT") from None
        if header.get("alg") != "ES256":
            raise NotVerified(f"{ASSERTION_HEADER} is signed with {header.get('alg')!r}, not IAP's ES256")
        key_id = header.get("kid")
        if not isinstance(key_id, str):
            raise NotVerified(f"{ASSERTION_HEADER} names no IAP key (kid)")
        keys = await self._keys_with(key_id)
        if key_id not in keys:
            raise NotVerified(f"{ASSERTION_HEADER} is signed with a key IAP does not publish")
        try:
            # What google.oauth2.id_token.verify_token does after fetching the key file, on our cached copy:
            # signature by that key, iat/exp (30 s of clock skew, as Google's samples allow), audience.
            claims = jwt.decode(assertion, certs={key_id: keys[key_id]}, audience=self.audience,
                                clock_skew_in_seconds=30)
        except (ValueError, google_exceptions.GoogleAuthError) as error:
            raise NotVerified(f"{ASSERTION_HEADER} did not verify: {_first_line(error)}") from None
        if claims.get("iss") != ISSUER:
            raise NotVerified(f"{ASSERTION_HEADER} was issued by {claims.get('iss')!r}, not {ISSUER}")
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise NotVerified(f"{ASSERTION_HEADER} carries no user email")
        return email

    async def _keys_with(self, key_id: str) -> Mapping[str, str]:
        async with self._lock:
            now = self._clock()
            age = None if self._fetched_at is None else now - self._fetched_at
            stale = age is None or age > KEYS_FRESH_S
            rotated = key_id not in self._keys and (age is None or age > REFETCH_AT_MOST_EVERY_S)
            if stale or rotated:
                try:
                    self._keys = await self._source()
                except (httpx.HTTPError, ValueError) as error:
                    if not self._keys:
                        raise NotVerified(f"IAP's public keys could not be read ({_first_line(error)})") from None
                self._fetched_at = now
            return self._keys


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
