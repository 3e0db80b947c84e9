"""What every registry offers the rest of core: the embedded TinyDB one and the team's PostgreSQL one.

Callers type against `Registry`; `core.registry.open.open_registry` picks the backend from the location.
The contract tests (tests/test_registry.py, every test on both backends) hold them to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from core.registry.models import Deployment, DeploymentStatus, EnvironmentState, StageRecord, StepEvent


class Lease(Protocol):
    """One driver per environment: `core.engine.lock.EnvironmentLock` (a file lock) or a database lease."""

    @property
    def held(self) -> bool: ...
    @property
    def lost(self) -> bool:
        """Held, then lost without being released (a database lease whose session ended); never for a file lock."""
    def owner(self) -> Any: ...
    def try_acquire(self) -> bool: ...
    def acquire(self) -> None: ...
    def release(self) -> None: ...


class Registry(Protocol):
    # Whether every console and pipeline shares this registry (identities are then the database's own).
    shared: bool

    @property
    def location(self) -> str:
        """Where it is, as messages show it (a path, or a URL without its password)."""

    @property
    def work_dir(self) -> Path:
        """This machine's work files for it (locks of the embedded registry, Terraform plans, caches)."""

    @property
    def identity(self) -> str | None:
        """Who the registry itself knows this console as (the database user), or None when it cannot tell."""

    def lease(self, environment: str, operator: str) -> Lease | None:
        """The environment's driver lease if the registry holds leases, else None (a file lock beside it)."""

    def close(self) -> None: ...

    # `at` (optional): the writer's clock for created_at/updated_at, a default ended_at and an event's time; the
    # engine passes its cloud's clock (ports.now()) so a sandbox's events and stages share one clock. Default: now.
    def register_deployment(self, data: Mapping[str, Any], *, at: datetime | None = None) -> str: ...
    def import_history(self, records: Iterable[Mapping[str, Any]]) -> list[str]: ...
    def update_deployment(self, deployment_id: str, *, status: DeploymentStatus | str | None = None,
                          stages: Sequence[StageRecord | Mapping[str, Any]] | None = None,
                          rollback_cause: str | None = None, metadata: Mapping[str, Any] | None = None,
                          ended_at: datetime | None = None, at: datetime | None = None) -> Deployment: ...
    def append_event(self, deployment_id: str, kind: str, action: str, *, actor: str,
                     detail: Mapping[str, Any] | None = None, at: datetime | None = None) -> StepEvent: ...
    def set_health(self, name: str, health: str) -> None: ...
    def change_health(self, name: str, health: str, key: str, record: Mapping[str, Any]) -> str | None:
        """Set the environment's health and store `record` under `key` in the `health` table, in one transaction,
        unless its health already is `health`: the state it replaced ("unknown" if none), None when unchanged (so
        of several consoles that saw the same change one records it, and only that one tells people)."""
    def put_record(self, table: str, key: str, record: Mapping[str, Any]) -> None: ...
    def get_record(self, table: str, key: str) -> dict[str, Any] | None: ...
    def records(self, table: str) -> dict[str, dict[str, Any]]: ...
    def environment_docs(self) -> dict[str, dict[str, Any]]:
        """Every environment's stored document by name (health, statistics, versions, last): export reads them."""
    def get_deployment(self, deployment_id: str) -> Deployment | None: ...
    def events(self, deployment_id: str) -> list[StepEvent]: ...
    def active_deployments(self) -> list[Deployment]: ...
    def get_environment_state(self, name: str) -> EnvironmentState: ...
    def list_deployments(self, *, environment: str | None = None, status: DeploymentStatus | str | None = None,
                         since: datetime | None = None, until: datetime | None = None,
                         limit: int | None = None) -> list[Deployment]: ...
    def iter_deployments(self, *, environment: str | None = None, status: DeploymentStatus | str | None = None,
                         since: datetime | None = None, until: datetime | None = None) -> Iterator[Deployment]: ...
