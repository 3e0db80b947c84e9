"""SecretResolver: turns a secret reference into its value at the moment of use, and nothing else.

`env:NAME` is read from the process environment; `sm://projects/P/secrets/S/versions/V` through
google-cloud-secret-manager's SecretManagerServiceClient over its REST transport (the same transport in
both profiles, so the sandbox, which serves that API with aiohttp, exercises the production path).
A value is returned to the caller and forgotten: no cache, no file, no log line, and no error message
that repeats it. The client library is imported when the first sm:// reference is resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from core.config.secrets import EnvRef, SecretManagerRef, resolve_secret
from core.errors import OperationFailed
from core.providers.profile import Endpoints

if TYPE_CHECKING:
    from google.cloud.secretmanager_v1 import SecretManagerServiceClient

SECRETMANAGER_DEFAULT = "https://secretmanager.googleapis.com"


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli), the checksum Secret Manager sends with each payload."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def secretmanager_client(endpoints: Endpoints) -> SecretManagerServiceClient:
    """The official client for the profile: anonymous against the sandbox, Application Default Credentials on gcp."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import secretmanager_v1

    if endpoints.credentials == "anonymous" and not endpoints.secretmanager_url:
        # A sandbox started before it served Secret Manager: never fall through to Google's endpoint.
        raise OperationFailed("This sandbox serves no Secret Manager API; restart it (opsconsole sandbox serve) "
                              "to resolve sm:// references.")
    url = endpoints.secretmanager_url or SECRETMANAGER_DEFAULT
    options = {} if url == SECRETMANAGER_DEFAULT else {"api_endpoint": url}
    credentials = AnonymousCredentials() if endpoints.credentials == "anonymous" else None
    return secretmanager_v1.SecretManagerServiceClient(transport="rest", credentials=credentials,
                                                       client_options=options)


class SecretResolver:
    """Resolves references for one console process; the Secret Manager client is built on first sm:// use."""

    def __init__(self, environ: Mapping[str, str], endpoints: Endpoints | None = None,
                 client: SecretManagerServiceClient | None = None) -> None:
        self._environ = environ
        self._endpoints = endpoints
        self._client = client
        self._owns_client = client is None

    def resolve(self, ref: str | EnvRef | SecretManagerRef) -> str:
        """The value, for immediate use only: never store, log or display it."""
        return resolve_secret(ref, self._environ, self._secret_manager)

    __call__ = resolve

    def _secret_manager(self, ref: SecretManagerRef) -> str:
        from google.api_core import exceptions as google_exceptions

        name = f"projects/{ref.project}/secrets/{ref.secret}/versions/{ref.version}"
        try:
            response = self._secretmanager().access_secret_version(name=name, timeout=10.0)
        except google_exceptions.NotFound:
            raise OperationFailed(f"Secret Manager has no secret version {ref}.") from None
        except google_exceptions.PermissionDenied:
            raise OperationFailed(f"Secret Manager refused access to {ref}; grant the console's account "
                                  "roles/secretmanager.secretAccessor on it.") from None
        except google_exceptions.GoogleAPICallError as exc:
            raise OperationFailed(f"Secret Manager could not be read for {ref} ({type(exc).__name__}).") from None
        data = response.payload.data
        # The payload's checksum is optional; when sent, a mismatch means the value was damaged in transit.
        if response.payload.data_crc32c and crc32c(data) != response.payload.data_crc32c:
            raise OperationFailed(f"Secret Manager's payload for {ref} failed its CRC32C check.")
        return data.decode("utf-8")

    def _secretmanager(self) -> SecretManagerServiceClient:
        if self._client is None:
            if self._endpoints is None:
                raise OperationFailed("Secret Manager resolution needs the profile's endpoints; none were given.")
            self._client = secretmanager_client(self._endpoints)
        return self._client

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.transport.close()
            self._client = None
