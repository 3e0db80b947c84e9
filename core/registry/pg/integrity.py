"""Examining the team's registry on PostgreSQL without changing it: what `opsconsole registry check URL` reports.

The database holds most invariants itself (migration 0001); this checks that they still hold, in case a
constraint or trigger was dropped, a row was edited by hand, or the schema is behind:
- the schema is at the version this opsconsole reads (the check never migrates it);
- at most one deployment in progress per environment;
- each deployment's events are numbered 1, 2, 3 ... without a gap, and each deployment's document reads;
- every environment's statistics equal a recount of the deployments table;
- every side record reads for the part of core that owns it (the caller's record checks).
Leases whose session is gone are noted, not counted as damage: the next console to drive takes them over.

One read-only transaction on a connection of its own, so every check sees the same moment.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from pydantic import ValidationError

from core.config.registry_location import PostgresLocation
from core.registry.integrity import RecordChecks
from core.registry.models import Deployment, DeploymentStatus
from core.registry.pg import connect as pg
from core.registry.pg.lease import LOCK_SPACE
from core.registry.pg.schema import applied_migrations, known_migrations

NAMED = 20  # a problem found in thousands of rows is named by its first ones and a count


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or, when `damage` is False, a note) of the registry, said in one sentence."""

    problem: str
    damage: bool = True

    def sentence(self) -> str:
        return self.problem


@dataclass(slots=True)
class Examination:
    """Everything found in one registry, and what was read."""

    location: str
    findings: list[Finding] = field(default_factory=list)
    schema: str | None = None
    deployments: int = 0
    events: int = 0

    @property
    def damaged(self) -> bool:
        return any(finding.damage for finding in self.findings)


def examine(location: PostgresLocation, record_checks: RecordChecks | None = None, *,
            operator: str = "opsconsole") -> Examination:
    """Every problem of the registry at `location`; changes nothing (RegistryRefused/Unreachable if it cannot)."""
    found = Examination(location.redacted())
    conn = pg.connect(location, app=pg.application_name(operator, "check"))
    try:
        if not _schema_current(conn, found):
            return found
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            _one_active(conn, found)
            _documents(conn, found)
            _events_gapless(conn, found)
            _statistics(conn, found)
            _records(conn, found, record_checks or {})
            _stale_leases(conn, found)
    finally:
        conn.close()
    return found


def _schema_current(conn: psycopg.Connection[Any], found: Examination) -> bool:
    applied, known = applied_migrations(conn), known_migrations()
    if applied is None:
        found.findings.append(Finding("the database has no registry schema: nothing was ever recorded there (the "
                                      "first opsconsole to connect as the database's owner creates it)"))
        return False
    found.schema = applied[-1] if applied else None
    newer = sorted(set(applied) - set(known))
    missing = sorted(set(known) - set(applied))
    if newer:
        found.findings.append(Finding(f"the schema is at {applied[-1]}, written by a newer opsconsole (this one "
                                      f"knows up to {known[-1]}): upgrade opsconsole to check it"))
        return False
    if missing:
        found.findings.append(Finding(f"the schema lacks {', '.join(missing)} (this opsconsole needs {known[-1]}): "
                                      "connect once with any command as the schema's owner to migrate it"))
        return False
    return True


def _one_active(conn: psycopg.Connection[Any], found: Examination) -> None:
    for environment, ids in conn.execute("SELECT environment, array_agg(id ORDER BY id) FROM deployments "
                                         "WHERE NOT finished GROUP BY environment HAVING count(*) > 1 "
                                         "ORDER BY environment").fetchall():
        found.findings.append(Finding(f"{environment} has {len(ids)} deployments in progress ({', '.join(ids)}), "
                                      "where one per environment is allowed"))


def _documents(conn: psycopg.Connection[Any], found: Examination) -> None:
    bad = 0
    with conn.cursor(name="documents") as cur:  # server-side: a large registry is streamed, not loaded at once
        cur.execute("SELECT id, doc FROM deployments ORDER BY id")
        for ident, doc in cur:
            found.deployments += 1
            try:
                Deployment.model_validate(doc)
            except ValidationError as error:
                bad += 1
                if bad <= NAMED:
                    first = error.errors()[0]
                    where = ".".join(str(part) for part in first["loc"]) or "(the whole document)"
                    found.findings.append(Finding(f"deployment {ident} holds an invalid document: field {where}: "
                                                  f"{first['msg']}"))
    if bad > NAMED:
        found.findings.append(Finding(f"and {bad - NAMED} more deployments hold invalid documents"))


def _events_gapless(conn: psycopg.Connection[Any], found: Examination) -> None:
    row = conn.execute("SELECT count(*) FROM events").fetchone()
    found.events = row[0] if row else 0
    rows = conn.execute("SELECT deployment_id, count(*), max(seq) FROM events GROUP BY deployment_id "
                        "HAVING count(*) <> max(seq) OR min(seq) <> 1 ORDER BY deployment_id").fetchall()
    for ident, count, last in rows[:NAMED]:
        found.findings.append(Finding(f"the events of deployment {ident} have a gap: {count} events numbered up to "
                                      f"{last}"))
    if len(rows) > NAMED:
        found.findings.append(Finding(f"and {len(rows) - NAMED} more deployments have gaps in their events"))


def _statistics(conn: psycopg.Connection[Any], found: Examination) -> None:
    counted: dict[str, Counter[str]] = {}
    for environment, status, count in conn.execute(
            "SELECT environment, status, count(*) FROM deployments GROUP BY environment, status").fetchall():
        counted.setdefault(environment, Counter())[status] = count
    held = dict(conn.execute("SELECT name, doc->'statistics' FROM environments").fetchall())
    for environment in sorted(set(counted) | set(held)):
        recount = counted.get(environment, Counter())
        if environment not in held:
            found.findings.append(Finding(f"{environment} has {recount.total()} deployments but no environment row "
                                          "(statistics, health, current versions)"))
            continue
        stats = held[environment] or {}
        expected = {"total": recount.total(), **{status.value: recount[status.value] for status in DeploymentStatus}}
        wrong = [f"{key} {stats.get(key, 0)} recorded, {value} counted" for key, value in expected.items()
                 if stats.get(key, 0) != value]
        if wrong:
            found.findings.append(Finding(f"the statistics of {environment} differ from its deployments "
                                          f"({'; '.join(wrong)})"))


def _records(conn: psycopg.Connection[Any], found: Examination, record_checks: RecordChecks) -> None:
    for table, problem_of in record_checks.items():
        for key, doc in conn.execute("SELECT key, doc FROM records WHERE tbl = %s ORDER BY key", (table,)).fetchall():
            problem = problem_of(doc, key)
            if problem is not None:
                found.findings.append(Finding(f"the {table} table holds a damaged record: {problem}"))


def _stale_leases(conn: psycopg.Connection[Any], found: Examination) -> None:
    rows = conn.execute(
        "SELECT l.environment, l.operator, l.db_user, l.host, l.pid, l.since FROM leases l WHERE NOT l.released "
        "AND NOT EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.pid = l.backend_pid "
        "AND k.granted AND k.classid = %s::oid AND k.objid = hashtext(l.environment)::oid) ORDER BY l.environment",
        (LOCK_SPACE,)).fetchall()
    for environment, operator, db_user, host, pid, since in rows:
        who = operator if operator == db_user else f"{operator} (database user {db_user})"
        found.findings.append(Finding(f"stale lease of {environment} held by {who} on {host}, pid {pid}, since "
                                      f"{_moment(since)}, released automatically: its session is gone, and the next "
                                      "console to drive takes it over", damage=False))


def _moment(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S %Z}".strip()
