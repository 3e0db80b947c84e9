"""The sandbox's Memorystore for Redis: one Standard-tier instance per environment, its replica and its keys.

Each instance keeps a small keyspace (the platform's agent registry and fan-out cursors) so recovery
can prove that no key was lost. A failover promotes the replica (primary and replica zones swap); an
import restores the keyspace from the newest backup. Either one, done after a storage fault began,
makes Redis reachable again for the data plane (see remedies.py). Every mutating call is logged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

INSTANCE_ID = "agent-network-redis"
SCHEMA_VERSION = 1


def seed_keyspace(project: str) -> dict[str, str]:
    """The keys every sandbox instance starts with (deterministic per project)."""
    keys = {f"agent:{i:02d}": json.dumps({"id": i, "project": project, "status": "online"}) for i in range(8)}
    keys["fanout:cursor"] = "1042"
    keys["sessions:count"] = "37"
    return keys


def key_counts(keyspace: dict[str, str]) -> dict[str, int]:
    """Keys per prefix (the part before the first ":"), as the server's readiness endpoint reports them."""
    counts: dict[str, int] = {}
    for key in keyspace:
        prefix = key.split(":", 1)[0]
        counts[prefix] = counts.get(prefix, 0) + 1
    return dict(sorted(counts.items()))


@dataclass
class RedisInstance:
    project: str
    location: str
    instance_id: str
    created_at: float
    location_id: str  # zone of the primary
    alternative_location_id: str  # zone of the replica
    keyspace: dict[str, str] = field(default_factory=dict)
    backup: dict[str, str] = field(default_factory=dict)
    failed_over_at: float | None = None
    imported_at: float | None = None

    @property
    def name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/instances/{self.instance_id}"

    def repaired_at(self) -> float | None:
        """When the data plane last got a working primary back (failover or import), if ever."""
        times = [t for t in (self.failed_over_at, self.imported_at) if t is not None]
        return max(times) if times else None


@dataclass(frozen=True)
class RedisCall:
    seq: int
    at: float
    rpc: str
    name: str
    status: int


class RedisState:
    """All instances, thread-safe; `requests` logs every mutating call (for dry-run and crash tests)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.instances: dict[str, RedisInstance] = {}
        self.requests: list[RedisCall] = []
        self.listeners: list[Callable[[], None]] = []

    def seed(self, project: str, location: str) -> None:
        with self.lock:
            name = f"projects/{project}/locations/{location}/instances/{INSTANCE_ID}"
            if name in self.instances:
                return
            keys = seed_keyspace(project)
            self.instances[name] = RedisInstance(project, location, INSTANCE_ID, self.clock() - 86_400.0,
                                                 f"{location}-a", f"{location}-b", dict(keys), dict(keys))

    def get(self, name: str) -> RedisInstance | None:
        with self.lock:
            return self.instances.get(name)

    def for_project(self, project: str) -> list[RedisInstance]:
        with self.lock:
            return [i for i in self.instances.values() if i.project == project]

    def log(self, rpc: str, name: str, status: int) -> None:
        with self.lock:
            self.requests.append(RedisCall(len(self.requests) + 1, self.clock(), rpc, name, status))

    def failover(self, name: str) -> RedisInstance:
        with self.lock:
            inst = self.instances[name]
            inst.location_id, inst.alternative_location_id = inst.alternative_location_id, inst.location_id
            inst.failed_over_at = self.clock()
        self._changed()
        return inst

    def import_backup(self, name: str) -> RedisInstance:
        with self.lock:
            inst = self.instances[name]
            inst.keyspace = dict(inst.backup)
            inst.imported_at = self.clock()
        self._changed()
        return inst

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {"version": SCHEMA_VERSION, "instances": [asdict(i) for i in self.instances.values()]}

    def load(self, data: dict[str, Any] | None) -> None:
        if not data:
            return
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"Redis sandbox state has version {data.get('version')!r}, expected {SCHEMA_VERSION}")
        with self.lock:
            self.instances = {i.name: i for i in (RedisInstance(**d) for d in data["instances"])}
