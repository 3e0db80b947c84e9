"""The team's registry on PostgreSQL: the embedded registry's interface and guarantees, shared by every console.

Every write is one transaction. The database holds the invariants (core/registry/pg/migrations): one active
deployment per environment, gapless ordered events that close when a deployment finishes, keyed side
records, and the database user (`current_user`) on every row, set by the server. Environment statistics
are kept in the same transaction as the change that moves them, with the embedded registry's ledger
(core.registry.ledger), so both backends count alike.

Fencing: while this registry's console drives an environment (holds its lease, core.registry.pg.lease),
every write to that environment's deployment checks, in the same transaction, that the lease it took is
still the current one and its session still holds the advisory lock. A console that lost its lease (killed
connection, network cut, another console took over) cannot record an intent, so it never sends one.

Connections come from a psycopg pool; each one is checked before use, so a restarted server costs one
reconnection, not an error. A transaction whose connection breaks is rolled back by the server: nothing
is ever half-written.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout
from pydantic import BaseModel, ValidationError

from core.config.registry_location import PostgresLocation
from core.errors import BadInput
from core.registry import ledger
from core.registry.drafts import history_events, new_deployment, updated_deployment
from core.registry.errors import (
    DeploymentFinished,
    EnvironmentOccupied,
    LeaseLost,
    RegistryRecordDamaged,
    RegistryUnreachable,
    UnknownDeployment,
)
from core.registry.ids import is_deployment_id, time_key
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
from core.registry.pg import connect as pg
from core.registry.pg import refusals
from core.registry.pg.lease import LOCK_SPACE, PostgresLease
from core.registry.pg.schema import ensure_schema
from core.registry.validation import as_status, check, stamp, utc_now, validate

Doc = dict[str, Any]
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
RECORD_TABLES = ("infrastructure", "incidents", "health")
PAGE = 500  # listing reads this many rows per round trip


class PostgresRegistry:
    """Deployments, events, environment state and side records in PostgreSQL; safe across machines."""

    shared = True  # identities are the database's, and every console sees every change

    def __init__(self, location: PostgresLocation, *, operator: str = "opsconsole", connect_timeout: float = 5.0,
                 reconnect_for: float = 30.0, pool_size: int = 4) -> None:
        self.url = location
        self.location = location.redacted()
        self.operator = operator
        self.connect_timeout = connect_timeout
        self.reconnect_for = reconnect_for  # how long a write waits for a restarted or unreachable server
        app = pg.application_name(operator, "console")
        self._connect = pg.factory(location, app=app, connect_timeout=connect_timeout)
        first = self._connect()  # one clear sentence now if the URL, the password or the server is wrong
        try:
            self.schema_version = ensure_schema(first, self.location, self._connect)
            with first.transaction():
                row = first.execute("SELECT current_user, "
                                    "(SELECT tableowner = current_user FROM pg_tables "
                                    " WHERE schemaname = %s AND tablename = 'deployments')",
                                    (pg.SCHEMA,)).fetchone()
            assert row is not None
            self.identity: str = row[0]
            self.owner: bool = bool(row[1])
        finally:
            first.close()
        self._fences: dict[str, Callable[[], int | None]] = {}
        self._fence_lock = threading.Lock()
        self._pool = ConnectionPool(
            location.url if not location.cloudsql_instance else "",
            min_size=1, max_size=pool_size, open=False, timeout=connect_timeout, check=ConnectionPool.check_connection,
            configure=pg.prepare, name="opsconsole-registry", reconnect_timeout=0,
            kwargs=pg.connection_kwargs(location, app=app, connect_timeout=connect_timeout),
            connection_class=_connection_class(location, app),
        )
        self._pool.open(wait=False)

    # -- where local files go ------------------------------------------------------------------------

    @property
    def work_dir(self) -> Path:
        """This machine's work files for this registry (Terraform plans, caches): the data directory."""
        return Path(platformdirs.user_data_dir("opsconsole")) / "shared" / self.url.dbname

    def close(self) -> None:
        self._pool.close()

    def lease(self, environment: str, operator: str) -> PostgresLease:
        """The environment's driver lease in the database (fenced: see core.registry.pg.lease)."""
        return PostgresLease(self, environment, operator)

    # -- transactions -----------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on a checked connection; waits up to `reconnect_for` for a server that is down.

        Only getting a connection is retried (nothing was sent yet); a transaction that fails on the wire is
        rolled back by the server and the error goes to the caller, who retries from what is recorded.
        """
        deadline = time.monotonic() + self.reconnect_for
        while True:
            try:
                conn = self._pool.getconn(timeout=self.connect_timeout)
                break
            except PoolTimeout as error:
                if time.monotonic() >= deadline:
                    raise RegistryUnreachable(self.location, refusals.reason(error)) from None
                time.sleep(0.2)
        try:
            with conn.transaction():
                yield conn
        except psycopg.errors.InsufficientPrivilege as refused:  # four eyes, or a grant / row-level security
            raise refusals.refused(refused, None) from None
        except psycopg.OperationalError as error:
            raise RegistryUnreachable(self.location, refusals.reason(error)) from None
        finally:
            self._pool.putconn(conn)

    def _read(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as conn:
            return conn.execute(query, params).fetchall()

    # -- fencing -------------------------------------------------------------------------------------------

    def fence(self, environment: str, generation: Callable[[], int | None]) -> None:
        """From now on, writes to `environment` check that the lease of `generation()` is still current."""
        with self._fence_lock:
            self._fences[environment] = generation

    def unfence(self, environment: str) -> None:
        with self._fence_lock:
            self._fences.pop(environment, None)

    def _check_fence(self, conn: psycopg.Connection[Any], environment: str) -> None:
        with self._fence_lock:
            generation = self._fences.get(environment)
        if generation is None:
            return
        held = generation()
        row = conn.execute(
            "SELECT l.generation, l.operator, l.host, l.pid, EXISTS (SELECT 1 FROM pg_locks k WHERE "
            " k.locktype = 'advisory' AND k.pid = l.backend_pid AND k.granted AND k.classid = %s::oid"
            " AND k.objid = hashtext(l.environment)::oid) FROM leases l WHERE l.environment = %s FOR SHARE",
            (LOCK_SPACE, environment)).fetchone()
        if held is not None and row is not None and row[0] == held and row[4]:
            return
        who = None if row is None or row[0] == held else f"{row[1]} (pid {row[3]} on {row[2]})"
        raise LeaseLost(environment, who)

    # -- writes ---------------------------------------------------------------------------------------------

    def register_deployment(self, data: Mapping[str, Any], *, at: datetime | None = None) -> str:
        draft = validate(DeploymentDraft, data, "deployment data")
        now = stamp(at)
        with self._transaction() as conn:
            deployment = new_deployment(draft, now, set(), "deployment data", lambda ident: False)
            self._insert(conn, deployment, [])
        return deployment.id

    def import_history(self, records: Iterable[Mapping[str, Any]]) -> list[str]:
        drafts = [validate(HistoryDraft, record, f"history record {n}") for n, record in enumerate(records)]
        for n, draft in enumerate(drafts):
            if draft.status not in TERMINAL_STATUSES:
                raise BadInput(f"history record {n} has status {draft.status}, "
                               "but only finished deployments can be imported")
        ids: list[str] = []
        with self._transaction() as conn:
            now, taken = utc_now(), set[str]()
            envs: dict[str, Doc] = {}
            rows: list[tuple[Any, ...]] = []
            event_rows: list[tuple[Any, ...]] = []
            for n, draft in enumerate(drafts):
                deployment = new_deployment(draft, now, taken, f"history record {n}", lambda ident: False)
                raw = deployment.model_dump(mode="json")
                if deployment.environment not in envs:
                    envs[deployment.environment] = self._environment_doc(conn, deployment.environment)
                ledger.count_new(envs[deployment.environment], raw)
                rows.append((deployment.id, deployment.environment, str(deployment.status), deployment.started_at,
                             Jsonb(raw)))
                event_rows += [(deployment.id, deployment.environment, e.seq, e.at, Jsonb(e.model_dump(mode="json")))
                               for e in history_events(deployment, draft.events)]
                ids.append(deployment.id)
            with conn.cursor() as cur:  # the events of a finished deployment: only in the transaction that wrote it
                cur.executemany("INSERT INTO deployments (id, environment, status, started_at, doc) "
                                "VALUES (%s, %s, %s, %s, %s)", rows)
                cur.executemany("INSERT INTO events (deployment_id, environment, seq, at, doc) "
                                "VALUES (%s, %s, %s, %s, %s)", event_rows)
            for env in envs.values():
                self._put_environment(conn, env)
        return ids

    def _insert(self, conn: psycopg.Connection[Any], deployment: Deployment, events: list[StepEvent]) -> None:
        raw = deployment.model_dump(mode="json")
        env = self._environment_doc(conn, deployment.environment)
        try:
            with conn.transaction():  # a savepoint: the race's loser learns who won, in the same transaction
                conn.execute("INSERT INTO deployments (id, environment, status, started_at, doc) "
                             "VALUES (%s, %s, %s, %s, %s)",
                             (deployment.id, deployment.environment, str(deployment.status), deployment.started_at,
                              Jsonb(raw)))
        except psycopg.errors.InsufficientPrivilege as refused:  # row-level security
            raise refusals.refused(refused, deployment.environment) from None
        except psycopg.errors.UniqueViolation:
            holder = conn.execute("SELECT id, doc->>'actor', created_by FROM deployments WHERE environment = %s "
                                  "AND NOT finished", (deployment.environment,)).fetchone()
            if holder is None:
                raise
            raise EnvironmentOccupied(deployment.environment, holder[0], _who(holder[1], holder[2])) from None
        ledger.count_new(env, raw)
        self._put_environment(conn, env)

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
        now = stamp(at)
        with self._transaction() as conn:
            current = self._locked(conn, deployment_id, "its status cannot change")
            self._check_fence(conn, current["environment"])
            updated = updated_deployment(current, deployment_id, now, status=status, stages=stages,
                                         rollback_cause=rollback_cause, metadata=metadata, ended_at=ended_at)
            raw = updated.model_dump(mode="json")
            env = self._environment_doc(conn, updated.environment)
            ledger.count_change(env, current["status"], raw)
            conn.execute("UPDATE deployments SET status = %s, doc = %s WHERE id = %s",
                         (str(updated.status), Jsonb(raw), deployment_id))
            self._put_environment(conn, env)
        return updated

    def append_event(self, deployment_id: str, kind: str, action: str, *, actor: str,
                     detail: Mapping[str, Any] | None = None, at: datetime | None = None) -> StepEvent:
        now = stamp(at)
        with self._transaction() as conn:
            current = self._locked(conn, deployment_id, "its event log is closed")
            self._check_fence(conn, current["environment"])
            row = conn.execute("SELECT coalesce(max(seq), 0) FROM events WHERE deployment_id = %s",
                               (deployment_id,)).fetchone()
            assert row is not None
            event = validate(StepEvent, {
                "deployment_id": deployment_id, "seq": row[0] + 1, "at": now, "kind": kind, "action": action,
                "actor": actor, "detail": {} if detail is None else detail,
            }, f"event for deployment {deployment_id}")
            conn.execute("INSERT INTO events (deployment_id, environment, seq, at, doc) VALUES (%s, %s, %s, %s, %s)",
                         (deployment_id, current["environment"], event.seq, event.at,
                          Jsonb(event.model_dump(mode="json"))))
        return event

    def set_health(self, name: str, health: str) -> None:
        name = check(EnvironmentName, name, "environment name")
        health = check(NonEmpty, health, f"health of environment {name}")
        with self._transaction() as conn:
            env = self._environment_doc(conn, name)
            env["health"] = health
            self._put_environment(conn, env)

    def change_health(self, name: str, health: str, key: str, record: Mapping[str, Any]) -> str | None:
        name = check(EnvironmentName, name, "environment name")
        health = check(NonEmpty, health, f"health of environment {name}")
        key = check(NonEmpty, key, "health record key")
        doc = json.loads(json.dumps(dict(record), default=str))
        with self._transaction() as conn:
            env = self._environment_doc(conn, name)  # FOR UPDATE: a second console's change waits, then sees this
            previous = str(env.get("health") or "unknown")
            if previous == health:
                return None
            env["health"] = health
            self._put_environment(conn, env)
            conn.execute("INSERT INTO records (tbl, key, doc) VALUES ('health', %s, %s) ON CONFLICT (tbl, key) "
                         "DO UPDATE SET doc = excluded.doc, updated_by = current_user, updated_at = now()",
                         (key, Jsonb(doc)))
            return previous

    def put_record(self, table: str, key: str, record: Mapping[str, Any]) -> None:
        table = _record_table(table)
        key = check(NonEmpty, key, f"{table} record key")
        if not isinstance(record, Mapping):
            raise BadInput(f"the {table} record {key} must be a mapping of keys to values")
        doc = json.loads(json.dumps(dict(record), default=str))  # stored exactly as it will read back
        with self._transaction() as conn:
            conn.execute("INSERT INTO records (tbl, key, doc) VALUES (%s, %s, %s) ON CONFLICT (tbl, key) DO UPDATE "
                         "SET doc = excluded.doc, updated_by = current_user, updated_at = now()",
                         (table, key, Jsonb(doc)))

    def get_record(self, table: str, key: str) -> Doc | None:
        rows = self._read("SELECT doc FROM records WHERE tbl = %s AND key = %s", (_record_table(table), key))
        return dict(rows[0][0]) if rows else None

    def records(self, table: str) -> dict[str, Doc]:
        rows = self._read("SELECT key, doc FROM records WHERE tbl = %s ORDER BY key", (_record_table(table),))
        return {key: dict(doc) for key, doc in rows}

    # -- reads ------------------------------------------------------------------------------------------------

    def get_deployment(self, deployment_id: str) -> Deployment | None:
        if not is_deployment_id(deployment_id):
            return None
        rows = self._read("SELECT doc FROM deployments WHERE id = %s", (deployment_id,))
        return self._valid(Deployment, rows[0][0], f"deployment {deployment_id}") if rows else None

    def events(self, deployment_id: str) -> list[StepEvent]:
        if not is_deployment_id(deployment_id):
            return []
        rows = self._read("SELECT doc FROM events WHERE deployment_id = %s ORDER BY seq", (deployment_id,))
        return [self._valid(StepEvent, row[0], f"event of deployment {deployment_id}") for row in rows]

    def active_deployments(self) -> list[Deployment]:
        rows = self._read("SELECT doc FROM deployments WHERE NOT finished ORDER BY id DESC")
        return [self._valid(Deployment, row[0], "active deployment") for row in rows]

    def get_environment_state(self, name: str) -> EnvironmentState:
        name = check(EnvironmentName, name, "environment name")
        with self._transaction() as conn:
            env = conn.execute("SELECT doc FROM environments WHERE name = %s", (name,)).fetchone()
            active = conn.execute("SELECT doc FROM deployments WHERE environment = %s AND NOT finished "
                                  "ORDER BY id DESC", (name,)).fetchall()
        return ledger.to_state(env[0] if env else ledger.empty_environment(name),
                               [self._valid(Deployment, row[0], "active deployment") for row in active])

    def list_deployments(self, *, environment: str | None = None, status: DeploymentStatus | str | None = None,
                         since: datetime | None = None, until: datetime | None = None,
                         limit: int | None = None) -> list[Deployment]:
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise BadInput(f"listing limit must be a whole number of 0 or more, not {limit!r}")
        found = self._iter(environment, status, since, until, page=PAGE if limit is None else min(PAGE, limit))
        return list(found if limit is None else islice(found, limit))

    def iter_deployments(self, *, environment: str | None = None, status: DeploymentStatus | str | None = None,
                         since: datetime | None = None, until: datetime | None = None) -> Iterator[Deployment]:
        return self._iter(environment, status, since, until, page=PAGE)

    def _iter(self, environment: str | None, status: DeploymentStatus | str | None, since: datetime | None,
              until: datetime | None, *, page: int) -> Iterator[Deployment]:
        wanted = None if status is None else as_status(status, "status filter").value
        low = None if since is None else time_key(check(UtcDatetime, since, "since"))
        high = None if until is None else time_key(check(UtcDatetime, until, "until"))
        return self._pages(environment, wanted, low, high, max(page, 1))

    def _pages(self, environment: str | None, status: str | None, low: str | None,
               high: str | None, page: int) -> Iterator[Deployment]:
        """Newest first, a page per round trip (keyset on the id), so a caller that stops early reads little."""
        before = high
        while True:
            rows = self._read(
                "SELECT id, doc FROM deployments WHERE (%(env)s::text IS NULL OR environment = %(env)s) "
                "AND (%(status)s::text IS NULL OR status = %(status)s) AND (%(low)s::text IS NULL OR id >= %(low)s) "
                "AND (%(before)s::text IS NULL OR id < %(before)s) ORDER BY id DESC LIMIT %(page)s",
                {"env": environment, "status": status, "low": low, "before": before, "page": page})
            for ident, doc in rows:
                yield self._valid(Deployment, doc, f"deployment {ident}")
            if len(rows) < page:
                return
            before = rows[-1][0]

    def report_docs(self, low: str, high: str, environment: str | None) -> list[tuple[Any, ...]]:
        """The report's read path: only the fields a report row needs, oldest first, from plain columns a trigger
        keeps beside the document (times as POSIX seconds, JSON as text: nothing is decoded a figure may not read)."""
        return self._read(
            "SELECT id, environment, status, report_strategy, report_started, report_ended, report_versions, "
            "report_cause, report_commit_times, report_stages "  # kept by a trigger (migration 0005)
            "FROM deployments WHERE id >= %s AND id < %s AND (%s::text IS NULL OR environment = %s) ORDER BY id",
            (low, high, environment, environment))

    # -- internals -----------------------------------------------------------------------------------------------

    def _valid(self, model: type[M], doc: Any, what: str) -> M:
        """A stored row as its model; a row written around the console (raw SQL) that is not one is named, not
        shown as a validation traceback."""
        try:
            return model.model_validate(doc)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the row"
            ident = doc.get("id") if isinstance(doc, dict) else None
            name = what if ident is None or str(ident) in what else f"{what} {ident}"
            raise RegistryRecordDamaged(self.location, f"{name}: {where}: {first['msg'].lower()}; `opsconsole "
                                                       "registry check` lists every such row") from None

    def _locked(self, conn: psycopg.Connection[Any], deployment_id: str, what: str) -> Doc:
        """The deployment's stored document, its row locked until the transaction ends; refused when finished."""
        row = None
        if is_deployment_id(deployment_id):
            row = conn.execute("SELECT doc, finished FROM deployments WHERE id = %s FOR UPDATE",
                               (deployment_id,)).fetchone()
        if row is None and is_deployment_id(deployment_id):
            # Row-level security hides from FOR UPDATE a row this user may read but not change: say that.
            hidden = conn.execute("SELECT environment FROM deployments WHERE id = %s", (deployment_id,)).fetchone()
            if hidden is not None:
                raise refusals.not_a_member(hidden[0])
        if row is None:
            raise UnknownDeployment(deployment_id, self.location)
        if row[1]:
            raise DeploymentFinished(deployment_id, row[0]["status"], what)
        doc: Doc = row[0]
        return doc

    def _environment_doc(self, conn: psycopg.Connection[Any], name: str) -> Doc:
        try:
            conn.execute("INSERT INTO environments (name, doc) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                         (name, Jsonb(ledger.empty_environment(name))))
        except psycopg.errors.InsufficientPrivilege as refused:  # row-level security: not this user's environment
            raise refusals.refused(refused, name) from None
        row = conn.execute("SELECT doc FROM environments WHERE name = %s FOR UPDATE", (name,)).fetchone()
        if row is None:  # there, but hidden from FOR UPDATE by row-level security
            raise refusals.not_a_member(name)
        return dict(row[0])

    def _put_environment(self, conn: psycopg.Connection[Any], env: Doc) -> None:
        conn.execute("UPDATE environments SET doc = %s, updated_by = current_user WHERE name = %s",
                     (Jsonb(env), env["name"]))

    def environment_docs(self) -> dict[str, Doc]:
        """Every environment's stored document by name (health, statistics, versions, last): for export."""
        return {name: dict(doc) for name, doc in self._read("SELECT name, doc FROM environments ORDER BY name")}

    def cursor_rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read for the registry's own tools (check, export): rows as tuples."""
        with self._transaction() as conn, conn.cursor(row_factory=tuple_row) as cur:
            return cur.execute(query, params).fetchall()


def _connection_class(location: PostgresLocation, app: str) -> type[psycopg.Connection[Any]]:
    """The pool's connections: libpq's, or the Cloud SQL connector's when the URL names an instance."""
    if not location.cloudsql_instance:
        return psycopg.Connection

    class CloudSQLConnection(psycopg.Connection[Any]):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:
            return pg.connect(location, app=app)

    return CloudSQLConnection


def _record_table(table: str) -> str:
    if table not in RECORD_TABLES:
        raise BadInput(f"{table!r} is not a registry record table (known: {', '.join(RECORD_TABLES)})")
    return table


def _who(actor: str | None, db_user: str) -> str:
    return db_user if not actor or actor == db_user else f"{actor} (database user {db_user})"
