"""Memorystore for Redis provider: read an instance, promote its replica (failover), restore from a backup (import).

Over google-cloud-redis's CloudRedisClient with the REST transport, the same in both profiles: against
the sandbox its `api_endpoint` is the sandbox's Redis API and credentials are anonymous. Key counts are not
here: Memorystore's API has none, so the service's readiness endpoint reports them (core/recovery/redis_keys.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from google.auth.credentials import AnonymousCredentials
from google.cloud import redis_v1

from core.providers.google_retry import RetryPolicy, call_google

API = "Memorystore for Redis"


@dataclass(frozen=True)
class RedisInstanceState:
    name: str
    state: str  # READY, UPDATING, ...
    tier: str
    current_location: str
    replica_count: int


class RedisProvider(Protocol):
    def get_instance(self, name: str) -> RedisInstanceState: ...

    def failover(self, name: str) -> RedisInstanceState: ...

    def import_backup(self, name: str, gcs_uri: str) -> RedisInstanceState: ...


def _state(inst: redis_v1.Instance) -> RedisInstanceState:
    return RedisInstanceState(name=inst.name, state=inst.state.name, tier=inst.tier.name,
                              current_location=inst.current_location_id, replica_count=inst.replica_count)


class MemorystoreAdapter:
    """RedisProvider over CloudRedisClient."""

    def __init__(self, client: redis_v1.CloudRedisClient, *, policy: RetryPolicy | None = None) -> None:
        self._client = client
        self._policy = policy or RetryPolicy()

    @classmethod
    def for_endpoint(cls, api_url: str, credentials: str) -> MemorystoreAdapter:
        """`api_url` "" means Google's endpoint with Application Default Credentials."""
        if credentials == "anonymous":
            client = redis_v1.CloudRedisClient(transport="rest", credentials=AnonymousCredentials(),
                                               client_options={"api_endpoint": api_url})
            return cls(client)
        options = {"api_endpoint": api_url} if api_url else {}
        return cls(redis_v1.CloudRedisClient(transport="rest", client_options=options))

    def get_instance(self, name: str) -> RedisInstanceState:
        return _state(call_google(API, "reading instance", name, lambda: self._client.get_instance(
            name=name, retry=self._policy.retry(), timeout=self._policy.deadline)))

    def failover(self, name: str) -> RedisInstanceState:
        """Promote the replica to primary; limited data loss mode keeps every replicated key."""
        modes = redis_v1.FailoverInstanceRequest.DataProtectionMode
        mode = modes(modes.LIMITED_DATA_LOSS)  # the member itself: mypy reads proto-plus enum members as ints
        lro = call_google(API, "failing over instance", name, lambda: self._client.failover_instance(
            name=name, data_protection_mode=mode, timeout=self._policy.deadline))
        return _state(call_google(API, "failing over instance", name,
                                  lambda: lro.result(timeout=self._policy.operation_timeout)))

    def import_backup(self, name: str, gcs_uri: str) -> RedisInstanceState:
        config = redis_v1.InputConfig(gcs_source=redis_v1.GcsSource(uri=gcs_uri))
        lro = call_google(API, "importing a backup into instance", name, lambda: self._client.import_instance(
            name=name, input_config=config, timeout=self._policy.deadline))
        return _state(call_google(API, "importing a backup into instance", name,
                                  lambda: lro.result(timeout=self._policy.operation_timeout)))

    def close(self) -> None:
        self._client.transport.close()
