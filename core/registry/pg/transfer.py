"""Copying an embedded (TinyDB) registry into the team's registry on PostgreSQL: `opsconsole registry migrate`.

What is copied: every deployment, active or archived, with its id, its document and its events (their seq and
time as recorded), the side records (infrastructure, incidents), and each environment's health. Statistics,
current versions and the last deployment are counted in the target as the rows go in, with the ledger every
write uses (core.registry.ledger), so a target that held nothing comes out with the source's figures, and one
that already held deployments of its own keeps counting those too.

Idempotent, and safe to cut:
- A batch of deployments is one transaction: each deployment with all its events (the database accepts a
  finished deployment's events only in the transaction that wrote it, migration 0001 `events_in_order`) and
  the environment figures that count it. A cut connection rolls the batch back, so nothing is half-copied;
  running the command again copies the rest (ids already there are skipped: ON CONFLICT DO NOTHING).
- A deployment already in the target by id is not copied again. If it is still running there and the source
  moved on since (more events, a newer document), its new events are appended and its document and status
  replaced, in one transaction. If the target moved on instead (the team drives it there now), the target is
  left as it is; if both moved, it is reported as diverged and left as the target has it.
- A record already in the target (table and key) is left as the target has it: the team's registry may have
  moved on, and a record carries nothing that says which copy is newer.
- An environment's health is copied where the target never observed one ("unknown").

Refused before anything is written: two deployments in progress in one environment of the source, or one in
progress in the source where the target has a different one in progress (one per environment, a unique index).

Who: the server sets created_by to the migrating user (migration 0002); the person who deployed stays in the
document (`actor`) and every event keeps its own actor. approved_by stays empty for copied rows (the trigger
fills it only on an approval made in this database): who approved is in the document's rollout metadata.
Row-level security lets only members of an environment's role write it, so migrate as the schema's owner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.errors import OperationFailed
from core.registry import ledger
from core.registry.errors import RegistryUnreachable
from core.registry.models import Deployment, StepEvent
from core.registry.pg.registry import RECORD_TABLES, PostgresRegistry
from core.registry.registry import DeploymentRegistry

Doc = dict[str, Any]
BATCH = 200  # deployments per transaction: a cut connection costs at most one batch, re-copied by the next run
Copy = tuple[Deployment, list[StepEvent]]


@dataclass(slots=True)
class Transfer:
    """What a migration did: rows inserted, rows found already there, deployments brought up to date."""

    deployments: int = 0  # inserted, with their events
    active: int = 0  # of those, still in progress
    events: int = 0  # inserted (of new deployments, and appended to ones brought up to date)
    records: int = 0
    deployments_there: int = 0
    records_there: int = 0
    updated: int = 0
    environments: int = 0
    notes: list[str] = field(default_factory=list)  # deployments left as the target has them, and why

    @property
    def already_there(self) -> int:
        return self.deployments_there + self.records_there

    def as_json(self) -> dict[str, Any]:
        return {"deployments": self.deployments, "active": self.active, "events": self.events,
                "records": self.records, "already_there": {"deployments": self.deployments_there,
                                                           "records": self.records_there},
                "brought_up_to_date": self.updated, "environments": self.environments, "notes": self.notes}


def migrate(source: DeploymentRegistry, target: PostgresRegistry) -> Transfer:
    """Copy `source` into `target` (see the module doc); returns the counts. Run again, it copies what is new."""
    done = Transfer()
    try:
        _copy(source, target, done)
    except RegistryUnreachable as cut:
        raise OperationFailed(f"the registry {target.location} could not be reached ({cut.reason}) after "
                              f"{done.deployments} deployments were copied, each whole with its events: run the same "
                              "command again to copy the rest") from None
    return done


def _copy(source: DeploymentRegistry, target: PostgresRegistry, done: Transfer) -> None:
    held = {row[0] for row in target.cursor_rows("SELECT id FROM deployments")}
    _refuse_second_active(source, target)
    existing: list[Deployment] = []
    starting: list[Deployment] = []  # new and in progress: inserted last, after older ones there may have finished
    batch: list[Copy] = []
    for deployment in source.iter_deployments():
        if deployment.id in held:
            existing.append(deployment)
        elif not deployment.is_terminal:
            starting.append(deployment)
        else:
            batch.append((deployment, source.events(deployment.id)))
            if len(batch) >= BATCH:
                _copy_batch(target, batch, done)
                batch = []
    if batch:
        _copy_batch(target, batch, done)
    for deployment in existing:
        _bring_up_to_date(target, deployment, source.events(deployment.id), done)
    if starting:
        _copy_batch(target, [(d, source.events(d.id)) for d in starting], done)
    _copy_records(source, target, done)
    _copy_health(source, target, done)


def _refuse_second_active(source: DeploymentRegistry, target: PostgresRegistry) -> None:
    """One deployment in progress per environment, in the target as it will be: refused before any write."""
    running: dict[str, list[str]] = defaultdict(list)
    for deployment in source.active_deployments():
        running[deployment.environment].append(deployment.id)
    for environment, ids in sorted(running.items()):
        if len(ids) > 1:
            raise OperationFailed(f"{source.location} has {len(ids)} deployments in progress in {environment} "
                                  f"({' and '.join(sorted(ids))}), and the team registry holds one per environment: "
                                  "finish or roll back all but one, then migrate again; nothing was copied")
    rows = target.cursor_rows("SELECT id, environment, doc->>'actor', created_by FROM deployments WHERE NOT finished")
    for ident, environment, actor, db_user in rows:
        theirs = running.get(environment, [])
        if not theirs or theirs[0] == ident:
            continue
        ours = source.get_deployment(ident)
        if ours is not None and ours.is_terminal:
            continue  # finished in the source: the copy finishes it before the new one goes in
        who = actor if actor == db_user else f"{actor} (database user {db_user})"
        raise OperationFailed(f"{environment} has deployment {ident} in progress in the team registry (started by "
                              f"{who}) and {theirs[0]} in progress in {source.location}: one deployment per "
                              "environment, so finish one of them first; nothing was copied")


@contextmanager
def _writing(target: PostgresRegistry, what: str) -> Iterator[psycopg.Connection[Any]]:
    """One transaction; the database's refusals as one sentence (what was committed before stays, whole)."""
    try:
        with target._transaction() as conn:
            yield conn
    except psycopg.errors.InsufficientPrivilege as refused:
        raise OperationFailed(f"the registry {target.location} refused to write {what} "
                              f"({refused.diag.message_primary or refused}); run migrate as the owner of its "
                              "schema, who may write every environment") from None
    except psycopg.errors.UniqueViolation:
        raise OperationFailed(f"the registry {target.location} refused {what}: another deployment was started in "
                              "the same environment meanwhile (one per environment); finish it, then migrate "
                              "again to copy the rest") from None
    except psycopg.Error as error:
        raise OperationFailed(f"the registry {target.location} refused {what} "
                              f"({error.diag.message_primary or error}); what was copied before is whole") from None


def _copy_batch(target: PostgresRegistry, batch: Sequence[Copy], done: Transfer) -> None:
    what = f"deployments {batch[0][0].id} to {batch[-1][0].id}" if len(batch) > 1 else f"deployment {batch[0][0].id}"
    with _writing(target, what) as conn:
        # Environment rows first, locked in a fixed order: two writers never wait on each other in a circle.
        envs = {name: target._environment_doc(conn, name) for name in sorted({d.environment for d, _ in batch})}
        docs = {d.id: d.model_dump(mode="json") for d, _ in batch}
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO deployments (id, environment, status, started_at, doc) "
                            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
                            [(d.id, d.environment, str(d.status), d.started_at, Jsonb(docs[d.id])) for d, _ in batch],
                            returning=True)
            inserted: set[str] = set()
            while True:
                inserted.update(row[0] for row in cur.fetchall())
                if not cur.nextset():
                    break
        copied = [(d, events) for d, events in batch if d.id in inserted]
        _insert_events(conn, [(d, e) for d, events in copied for e in events])
        for deployment, events in copied:
            ledger.count_new(envs[deployment.environment], docs[deployment.id])
            done.events += len(events)
            done.active += not deployment.is_terminal
        for env in envs.values():
            target._put_environment(conn, env)
    done.deployments += len(copied)
    done.deployments_there += len(batch) - len(copied)


def _insert_events(conn: psycopg.Connection[Any], rows: Sequence[tuple[Deployment, StepEvent]]) -> None:
    if not rows:
        return
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO events (deployment_id, environment, seq, at, doc) VALUES (%s, %s, %s, %s, %s) "
                        "ON CONFLICT (deployment_id, seq) DO NOTHING",
                        [(d.id, d.environment, e.seq, e.at, Jsonb(e.model_dump(mode="json"))) for d, e in rows])


def _bring_up_to_date(target: PostgresRegistry, ours: Deployment, our_events: list[StepEvent],
                      done: Transfer) -> None:
    """A deployment copied before: append what the source recorded since, if only the source moved on."""
    with _writing(target, f"the update of deployment {ours.id}") as conn:
        row = conn.execute("SELECT doc, finished FROM deployments WHERE id = %s FOR UPDATE", (ours.id,)).fetchone()
        assert row is not None  # deployments are never deleted
        theirs = Deployment.model_validate(row[0])
        their_events = [StepEvent.model_validate(r[0]) for r in conn.execute(
            "SELECT doc FROM events WHERE deployment_id = %s ORDER BY seq", (ours.id,)).fetchall()]
        common = min(len(our_events), len(their_events))
        target_moved = row[1] or len(their_events) > len(our_events) or theirs.updated_at > ours.updated_at
        source_moved = len(our_events) > len(their_events) or ours.updated_at > theirs.updated_at
        if our_events[:common] != their_events[:common] or (target_moved and source_moved):
            done.notes.append(f"deployment {ours.id} changed in both registries since it was copied; it was left as "
                              "the team registry has it")
            done.deployments_there += 1
            return
        if not source_moved:
            done.deployments_there += 1
            return
        new_events = our_events[len(their_events):]
        _insert_events(conn, [(ours, event) for event in new_events])  # before the status: a finished log is closed
        raw = ours.model_dump(mode="json")
        env = target._environment_doc(conn, ours.environment)
        ledger.count_change(env, str(theirs.status), raw)
        conn.execute("UPDATE deployments SET status = %s, doc = %s WHERE id = %s",
                     (str(ours.status), Jsonb(raw), ours.id))
        target._put_environment(conn, env)
    done.updated += 1
    done.events += len(new_events)


def _copy_records(source: DeploymentRegistry, target: PostgresRegistry, done: Transfer) -> None:
    for table in RECORD_TABLES:
        records = source.records(table)
        if not records:
            continue
        with _writing(target, f"the {table} records") as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO records (tbl, key, doc) VALUES (%s, %s, %s) ON CONFLICT (tbl, key) DO NOTHING "
                            "RETURNING key", [(table, key, Jsonb(doc)) for key, doc in sorted(records.items())],
                            returning=True)
            inserted = 0
            while True:
                inserted += len(cur.fetchall())
                if not cur.nextset():
                    break
        done.records += inserted
        done.records_there += len(records) - inserted


def _copy_health(source: DeploymentRegistry, target: PostgresRegistry, done: Transfer) -> None:
    docs = source.environment_docs()
    done.environments = len(docs)
    if not docs:
        return
    with _writing(target, "the environments' health") as conn:
        for name in sorted(docs):
            env = target._environment_doc(conn, name)
            if env["health"] == "unknown" and docs[name]["health"] != "unknown":
                env["health"] = docs[name]["health"]
                target._put_environment(conn, env)


def deployments_with_events(registry: PostgresRegistry, page: int = 500) -> Iterator[tuple[Doc, list[Doc]]]:
    """Every deployment's document and its events' documents, newest first, a page per round trip (for export)."""
    before: str | None = None
    while True:
        rows = registry.cursor_rows(
            "SELECT d.id, d.doc, coalesce((SELECT jsonb_agg(e.doc ORDER BY e.seq) FROM events e "
            "WHERE e.deployment_id = d.id), '[]'::jsonb) FROM deployments d "
            "WHERE (%s::text IS NULL OR d.id < %s) ORDER BY d.id DESC LIMIT %s", (before, before, page))
        for _, doc, events in rows:
            yield doc, events
        if len(rows) < page:
            return
        before = rows[-1][0]
