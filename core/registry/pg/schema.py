"""The registry's schema, versioned: migrations in `migrations/`, applied by yoyo on first use.

Why yoyo-migrations: plain, reviewable migration files applied in order, each in its own transaction
(PostgreSQL's DDL is transactional, so a migration cut half-way leaves nothing behind), a lock table so two
consoles starting at once against a new database do not both apply them, and a record of what was applied.
Alembic does the same but brings SQLAlchemy, which the registry does not otherwise use; hand-written
version bookkeeping is what both libraries exist to replace. yoyo opens its own connection from a URL, so it
is given ours (`_Backend.connect`): the same driver settings, and the Cloud SQL connector when configured.

Every console checks the applied migrations on connecting (one query, no yoyo import when nothing is
missing). A database with a migration this opsconsole does not know was written by a newer one and is
refused; one that lacks migrations is migrated when this user may (the schema's owner), else refused with
what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from core.registry.errors import RegistrySchemaMismatch
from core.registry.pg.connect import SCHEMA

MIGRATIONS = Path(__file__).with_name("migrations")
YOYO_TABLE = "_yoyo_migration"
MIGRATION_LOCK = 0x6F7073636D  # "opscm": consoles migrating one database queue on this advisory lock


def known_migrations() -> list[str]:
    return sorted(path.stem for path in MIGRATIONS.glob("[0-9]*.py"))


def applied_migrations(conn: psycopg.Connection[Any]) -> list[str] | None:
    """Migration ids recorded in the database, or None when the registry's schema was never created."""
    with conn.transaction():
        found = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{YOYO_TABLE}",)).fetchone()
        if found is None or found[0] is None:
            return None
        rows = conn.execute(f"SELECT migration_id FROM {SCHEMA}.{YOYO_TABLE}").fetchall()
    return sorted(row[0] for row in rows)


def ensure_schema(conn: psycopg.Connection[Any], location: str, connect: Callable[[], psycopg.Connection[Any]]) -> str:
    """Bring the schema to this opsconsole's version (or refuse); returns the version it is at."""
    known = known_migrations()
    applied = applied_migrations(conn)
    if applied is not None:
        newer = sorted(set(applied) - set(known))
        if newer:
            raise RegistrySchemaMismatch(location, f"was written by a newer opsconsole (schema {applied[-1]}; this "
                                                   f"one knows up to {known[-1]}): upgrade opsconsole")
        if not set(known) - set(applied):
            return known[-1]
    _migrate(conn, location, connect, applied)
    return known[-1]


def _migrate(conn: psycopg.Connection[Any], location: str, connect: Callable[[], psycopg.Connection[Any]],
             applied: list[str] | None) -> None:
    from yoyo import read_migrations
    from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
    from yoyo.connections import parse_uri
    from yoyo.exceptions import LockTimeout

    class _Backend(PostgresqlPsycopgBackend):  # type: ignore[misc]  # (yoyo is untyped) yoyo on our connection
        def connect(self, dburi: Any) -> psycopg.Connection[Any]:
            fresh = connect()
            fresh.autocommit = True  # as yoyo's own PostgreSQL backend connects: it issues BEGIN/COMMIT itself
            return fresh

    try:
        with conn.transaction():
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    except psycopg.errors.InsufficientPrivilege:
        raise RegistrySchemaMismatch(location, _not_ours(applied)) from None
    backend = _Backend(parse_uri(f"postgresql+psycopg://registry/{conn.info.dbname}"), YOYO_TABLE)
    try:
        # yoyo's own lock lives in a table it creates on first use: two consoles starting at once on a new
        # database would race to create it, so they queue on an advisory lock first.
        with _serialized(conn):
            backend.init_database()  # yoyo's lock table, as yoyo.get_backend does
            backend.ensure_internal_schema_updated()
            with backend.lock(timeout=30):
                backend.apply_migrations(backend.to_apply(read_migrations(str(MIGRATIONS))))
    except psycopg.errors.InsufficientPrivilege:
        raise RegistrySchemaMismatch(location, _not_ours(applied)) from None
    except LockTimeout:
        raise RegistrySchemaMismatch(location, "is being migrated by another opsconsole for more than 30 s; try "
                                               "again when it is done") from None
    finally:
        backend.connection.close()


@contextmanager
def _serialized(conn: psycopg.Connection[Any]) -> Iterator[None]:
    autocommit = conn.autocommit
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        conn.autocommit = autocommit


def _not_ours(applied: list[str] | None) -> str:
    have = "has no registry schema yet" if applied is None else f"has schema {applied[-1]}"
    return (f"{have}, this opsconsole needs {known_migrations()[-1]}, and this database user may not change it: "
            "connect once as the schema's owner (any command, e.g. `opsconsole history`, migrates it)")
