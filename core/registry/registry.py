"""The deployment registry: active deployments in a small TinyDB hot file, finished ones in monthly archives.

Every write takes the registry lock, replays any archive line that a crash left unaccounted, changes
the hot file through one atomic replace, and so costs the same however long the history is: the hot
file holds only active deployments, their step events, environment state and statistics.

Finishing a deployment appends it (with its events) to the archive first, then removes it from the hot
file. A crash in between leaves it in both: reads prefer the archive copy (it is final), and the next
write notices the archive line that no hot write accounted for (the hot file records each archive
file's size) and completes the move. Importing a finished deployment works the same way.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, cast

import platformdirs

from core.errors import BadInput
from core.registry import ledger
from core.registry.archive import MonthlyArchive, encode_record
from core.registry.drafts import history_events, new_deployment, updated_deployment
from core.registry.errors import DeploymentFinished, RegistryCorrupt, UnknownDeployment
from core.registry.hot_schema import table_problems
from core.registry.ids import is_deployment_id, month_of
from core.registry.listing import newest_first
from core.registry.models import (
    TERMINAL_STATUSES,
    Deployment,
    DeploymentDraft,
    DeploymentStatus,
    EnvironmentName,
    EnvironmentState,
    HistoryDraft,
    NonEmpty,
    StageRecord,
    StepEvent,
    UtcDatetime,
)
from core.registry.storage import AtomicJSONStorage
from core.registry.tables import Docs, RegistryDB
from core.registry.validation import as_status, check, stamp, utc_now, validate

Doc = dict[str, Any]
# Side tables beside the deployments, for records other parts of core keep (keyed by their own ids).
RECORD_TABLES = ("infrastructure", "incidents", "health")


def archive_damage(archive: MonthlyArchive, month: str, recorded: Mapping[str, Any], hot_name: str, *,
                   fingerprint: bool) -> str | None:
    """Why a month file no longer holds what the hot file records of it (a phrase), or None when it does."""
    found, held = archive.size_or_none(month), recorded["size"]
    size = 0 if found is None else found
    if held > 0 and found is None:
        return f"the file is missing, though {hot_name} records {held} bytes of it"
    if size < held:
        return f"it is {size} bytes, but {hot_name} records {held}: it was cut short or replaced"
    if fingerprint and recorded.get("tail") and archive.fingerprint(month, held) != recorded["tail"]:
        damaged_line = archive.first_damaged_line(month, held)  # the likeliest cause, named precisely
        return damaged_line or f"its first {held} bytes are not the ones {hot_name} recorded: it was replaced or edited"
    return None


def default_registry_path() -> Path:
    """Where the registry lives unless configured otherwise: the user's data directory."""
    return Path(platformdirs.user_data_dir("opsconsole")) / "registry.json"


def archive_dir_for(path: Path) -> Path:
    """The archive directory beside a hot file: ``registry.json`` -> ``registry-archive/``."""
    return path.with_name(f"{path.stem}-archive")


@dataclass(frozen=True, slots=True)
class _HotView:
    """One consistent read of the hot file, minus deployments an unaccounted archive line supersedes."""

    deployments: dict[str, Doc]
    events: dict[str, list[Doc]]
    environments: dict[str, Doc]


class DeploymentRegistry:
    """Records deployments, their step events and environment state; safe across threads and processes."""

    def __init__(self, path: Path | str, *, lock_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.archive_dir = archive_dir_for(self.path)
        self._db = RegistryDB(self.path, storage=AtomicJSONStorage, lock_timeout=lock_timeout, check=table_problems)
        self._storage = cast(AtomicJSONStorage, self._db.storage)
        self.backup_path = self._storage.backup_path
        self._archive = MonthlyArchive(self.archive_dir)
        self._deployments = Docs(self._db, "deployments")
        self._events = Docs(self._db, "events")
        self._environments = Docs(self._db, "environments")
        self._archive_sizes = Docs(self._db, "archive_sizes")
        with self._storage.transaction():
            self._recover()

    shared = False  # one person's registry: names are self-declared, and only this machine sees it

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def work_dir(self) -> Path:
        return self.path.parent

    @property
    def identity(self) -> str | None:
        return None  # a file cannot tell who wrote it

    def lease(self, environment: str, operator: str) -> None:
        return None  # the engine keeps a file lock beside the registry (core.engine.lock)

    def close(self) -> None:
        pass

    # -- writes ---------------------------------------------------------------------------------------

    def register_deployment(self, data: Mapping[str, Any], *, at: datetime | None = None) -> str:
        """Record a new deployment and return its id; a finished one (history) goes straight to the archive.

        ``data`` holds environment, versions, strategy, actor and optionally status (default pending),
        started_at (default now), ended_at, stages, rollback_cause and metadata. ``at`` is "now" on the
        writer's clock (default: the wall clock), used for created_at/updated_at and the defaults.
        """
        draft = validate(DeploymentDraft, data, "deployment data")
        now = stamp(at)
        with self._storage.transaction():
            self._recover()
            deployment = new_deployment(draft, now, set(), "deployment data", self._deployments.contains)
            raw = deployment.model_dump(mode="json")
            env = self._environment_doc(deployment.environment)
            ledger.count_new(env, raw)
            if deployment.is_terminal:
                self._archive_lines(month_of(deployment.id), [encode_record(raw, [])])
            else:
                self._deployments.insert(deployment.id, raw)
            self._environments.put(env["name"], env)
        return deployment.id

    def import_history(self, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Bulk path for finished deployments (with optional ``events``): one archive append per month.

        Used to import history from elsewhere, and by the benchmark to build large registries quickly.
        """
        drafts = [validate(HistoryDraft, record, f"history record {n}") for n, record in enumerate(records)]
        for n, draft in enumerate(drafts):
            if draft.status not in TERMINAL_STATUSES:
                raise BadInput(
                    f"history record {n} has status {draft.status}, "
                    "but only finished deployments can be imported"
                )
        ids: list[str] = []
        with self._storage.transaction():
            self._recover()
            now = utc_now()
            lines: dict[str, list[bytes]] = defaultdict(list)
            envs: dict[str, Doc] = {}
            taken: set[str] = set()
            for n, draft in enumerate(drafts):
                deployment = new_deployment(draft, now, taken, f"history record {n}", self._deployments.contains)
                raw = deployment.model_dump(mode="json")
                events = [event.model_dump(mode="json") for event in history_events(deployment, draft.events)]
                lines[month_of(deployment.id)].append(encode_record(raw, events))
                if deployment.environment not in envs:
                    envs[deployment.environment] = self._environment_doc(deployment.environment)
                ledger.count_new(envs[deployment.environment], raw)
                ids.append(deployment.id)
            for month in sorted(lines):
                self._archive_lines(month, lines[month])
            for env in envs.values():
                self._environments.put(env["name"], env)
        return ids

    def update_deployment(
        self,
        deployment_id: str,
        *,
        status: DeploymentStatus | str | None = None,
        stages: Sequence[StageRecord | Mapping[str, Any]] | None = None,
        rollback_cause: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        ended_at: datetime | None = None,
        at: datetime | None = None,
    ) -> Deployment:
        """Change an unfinished deployment; a terminal status archives it with its events.

        ``stages`` replaces the list; ``metadata`` is merged key by key into what is recorded; ``at`` is
        "now" on the writer's clock (updated_at, and ended_at when a terminal status gives none).
        """
        now = stamp(at)
        with self._storage.transaction():
            self._recover()
            current = self._deployments.get(deployment_id) if is_deployment_id(deployment_id) else None
            if current is None:
                raise self._not_active(deployment_id, "its status cannot change")
            updated = updated_deployment(current, deployment_id, now, status=status, stages=stages,
                                         rollback_cause=rollback_cause, metadata=metadata, ended_at=ended_at)
            raw = updated.model_dump(mode="json")
            env = self._environment_doc(updated.environment)
            ledger.count_change(env, current["status"], raw)
            if updated.is_terminal:
                held = self._events.get(deployment_id)
                events = held["items"] if held is not None else []
                self._archive_lines(month_of(deployment_id), [encode_record(raw, events)])
                self._deployments.remove(deployment_id)
                self._events.remove(deployment_id)
            else:
                self._deployments.put(deployment_id, raw)
            self._environments.put(env["name"], env)
        return updated

    def append_event(
        self,
        deployment_id: str,
        kind: str,
        action: str,
        *,
        actor: str,
        detail: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> StepEvent:
        """Append one step event to an unfinished deployment's log; its seq is the next number, its time
        ``at`` (the writer's clock) or now."""
        now = stamp(at)
        with self._storage.transaction():
            self._recover()
            if not is_deployment_id(deployment_id) or not self._deployments.contains(deployment_id):
                raise self._not_active(deployment_id, "its event log is closed")
            held = self._events.get(deployment_id)
            items: list[Doc] = list(held["items"]) if held is not None else []
            event = validate(
                StepEvent,
                {
                    "deployment_id": deployment_id, "seq": len(items) + 1, "at": now, "kind": kind,
                    "action": action, "actor": actor, "detail": {} if detail is None else detail,
                },
                f"event for deployment {deployment_id}",
            )
            items.append(event.model_dump(mode="json"))
            self._events.put(deployment_id, {"items": items})
        return event

    def set_health(self, name: str, health: str) -> None:
        """Record an environment's health as last observed (e.g. "healthy", "degraded")."""
        name = check(EnvironmentName, name, "environment name")
        health = check(NonEmpty, health, f"health of environment {name}")
        with self._storage.transaction():
            self._recover()
            env = self._environment_doc(name)
            env["health"] = health
            self._environments.put(name, env)

    def change_health(self, name: str, health: str, key: str, record: Mapping[str, Any]) -> str | None:
        name = check(EnvironmentName, name, "environment name")
        health = check(NonEmpty, health, f"health of environment {name}")
        key = check(NonEmpty, key, "health record key")
        doc = json.loads(json.dumps(dict(record), default=str))
        with self._storage.transaction():  # the file lock: another process's change waits, then sees this one
            self._recover()
            env = self._environment_doc(name)
            previous = str(env.get("health") or "unknown")
            if previous == health:
                return None
            env["health"] = health
            self._environments.put(name, env)
            records = Docs(self._db, "health")
            if records.contains(key):
                records.remove(key)
            records.insert(key, doc)
            return previous

    def put_record(self, table: str, key: str, record: Mapping[str, Any]) -> None:
        """Store (replace) one JSON record by key in a side table: infrastructure states, incidents, health changes."""
        table = self._record_table(table)
        key = check(NonEmpty, key, f"{table} record key")
        if not isinstance(record, Mapping):
            raise BadInput(f"the {table} record {key} must be a mapping of keys to values")
        doc = json.loads(json.dumps(dict(record), default=str))  # stored exactly as it will read back
        with self._storage.transaction():
            self._recover()
            records = Docs(self._db, table)
            if records.contains(key):  # replace, not merge (TinyDB's upsert merges keys)
                records.remove(key)
            records.insert(key, doc)

    def get_record(self, table: str, key: str) -> Doc | None:
        """One record of a side table, or None."""
        with self._storage.pinned():
            doc = Docs(self._db, self._record_table(table)).get(key)
        return None if doc is None else dict(doc)

    def records(self, table: str) -> dict[str, Doc]:
        """Every record of a side table by key."""
        with self._storage.pinned():
            return {key: dict(doc) for key, doc in Docs(self._db, self._record_table(table)).all().items()}

    def environment_docs(self) -> dict[str, Doc]:
        """Every environment's stored document by name (health, statistics, versions, last): for export and copy."""
        return {name: dict(doc) for name, doc in self._hot_view().environments.items()}

    @staticmethod
    def _record_table(table: str) -> str:
        if table not in RECORD_TABLES:
            raise BadInput(f"{table!r} is not a registry record table (known: {', '.join(RECORD_TABLES)})")
        return table

    # -- reads ----------------------------------------------------------------------------------------

    def get_deployment(self, deployment_id: str) -> Deployment | None:
        """The deployment with this id, or None when absent or not an id."""
        if not is_deployment_id(deployment_id):
            return None
        raw = self._hot_view().deployments.get(deployment_id)
        if raw is not None:
            return Deployment.model_validate(raw)
        month = month_of(deployment_id)
        entry = self._archive.entries(month).get(deployment_id)
        return None if entry is None else self._archive.deployment(month, entry)

    def events(self, deployment_id: str) -> list[StepEvent]:
        """A deployment's step events in order (also for archived ones); [] when it is unknown."""
        if not is_deployment_id(deployment_id):
            return []
        view = self._hot_view()
        if deployment_id in view.deployments:
            return [StepEvent.model_validate(item) for item in view.events.get(deployment_id, [])]
        month = month_of(deployment_id)
        entry = self._archive.entries(month).get(deployment_id)
        return [] if entry is None else self._archive.events(month, entry)

    def active_deployments(self) -> list[Deployment]:
        """Every unfinished deployment, newest first."""
        view = self._hot_view()
        ids = sorted(view.deployments, reverse=True)
        return [Deployment.model_validate(view.deployments[ident]) for ident in ids]

    def get_environment_state(self, name: str) -> EnvironmentState:
        """Active deployments, current versions, health, last finished deployment and statistics."""
        name = check(EnvironmentName, name, "environment name")
        view = self._hot_view()
        active = [
            Deployment.model_validate(raw)
            for ident, raw in sorted(view.deployments.items(), reverse=True)
            if raw["environment"] == name
        ]
        return ledger.to_state(view.environments.get(name) or ledger.empty_environment(name), active)

    def list_deployments(
        self,
        *,
        environment: str | None = None,
        status: DeploymentStatus | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Deployment]:
        """Deployments newest first (by id), ``since <= started_at < until`` to the millisecond.

        Archive months are read from the newest and only until ``limit`` is filled.
        """
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise BadInput(f"listing limit must be a whole number of 0 or more, not {limit!r}")
        found = self.iter_deployments(environment=environment, status=status, since=since, until=until)
        return list(found if limit is None else islice(found, limit))

    def iter_deployments(
        self,
        *,
        environment: str | None = None,
        status: DeploymentStatus | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Deployment]:
        """Every deployment (hot and archived) matching the filters, newest first, read lazily."""
        wanted = None if status is None else as_status(status, "status filter").value
        low = None if since is None else check(UtcDatetime, since, "since")
        high = None if until is None else check(UtcDatetime, until, "until")
        return newest_first(self._hot_view().deployments, self._archive, environment, wanted, low, high)

    # -- internals ------------------------------------------------------------------------------------

    def _hot_view(self) -> _HotView:
        with self._storage.pinned():
            deployments = self._deployments.all()
            events = {key: doc["items"] for key, doc in self._events.all().items()}
            environments = self._environments.all()
            held = {key: dict(doc) for key, doc in self._archive_sizes.all().items()}
        for month, recorded in held.items():
            self._refuse_damaged(month, recorded, fingerprint=False)
        for month in {month_of(ident) for ident in deployments}:
            known = held[month]["size"] if month in held else 0
            if self._archive.size(month) > known:
                for record in self._archive.read_records(month, known)[0]:
                    deployments.pop(record["id"], None)
        return _HotView(deployments, events, environments)

    def _refuse_damaged(self, month: str, recorded: Doc, *, fingerprint: bool) -> None:
        """RegistryCorrupt when a month file holds less than the hot file vouches for: never adopt what is left."""
        problem = archive_damage(self._archive, month, recorded, self.path.name, fingerprint=fingerprint)
        if problem is not None:
            raise RegistryCorrupt(self._archive.path_for(month), problem)

    def _recover(self) -> None:
        """Account for archive lines appended after the last hot write (a crash between the two).

        A month file shorter than recorded, missing, or no longer holding the recorded bytes is refused: its
        acknowledged deployments are lost or changed, and only `opsconsole registry repair` may accept that.
        """
        held = {key: dict(doc) for key, doc in self._archive_sizes.all().items()}
        for month, recorded in held.items():
            self._refuse_damaged(month, recorded, fingerprint=True)
        envs: dict[str, Doc] = {}
        for month in self._archive.months():
            known = held[month]["size"] if month in held else 0
            actual = self._archive.size(month)
            if actual == known:
                continue
            records, end = self._archive.read_records(month, known)
            for record in records:
                self._replay(record["deployment"], envs)
            if end != known:
                self._record_size(month, end)
        for env in envs.values():
            self._environments.put(env["name"], env)

    def _replay(self, deployment: Doc, envs: dict[str, Doc]) -> None:
        name = deployment["environment"]
        if name not in envs:
            envs[name] = self._environment_doc(name)
        held = self._deployments.get(deployment["id"])
        if held is None:
            ledger.count_new(envs[name], deployment)
        else:
            ledger.count_change(envs[name], held["status"], deployment)
            self._deployments.remove(deployment["id"])
            self._events.remove(deployment["id"])

    def _archive_lines(self, month: str, lines: list[bytes]) -> None:
        self._record_size(month, self._archive.append(month, lines))

    def _record_size(self, month: str, size: int) -> None:
        tail = self._archive.fingerprint(month, size)
        self._archive_sizes.put(month, {"size": size, "tail": tail})

    def _environment_doc(self, name: str) -> Doc:
        held = self._environments.get(name)
        return ledger.empty_environment(name) if held is None else dict(held)

    def _not_active(self, deployment_id: str, what: str) -> Exception:
        record = None
        if is_deployment_id(deployment_id):
            record = self._archive.get(month_of(deployment_id), deployment_id)
        if record is not None:
            return DeploymentFinished(deployment_id, record["status"], what)
        return UnknownDeployment(deployment_id, self.path)
