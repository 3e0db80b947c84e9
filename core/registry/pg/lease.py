"""The environment lease on PostgreSQL: one driver per environment across every machine, fenced.

The lease is a session-level advisory lock (`pg_try_advisory_lock`) held on a connection of its own: the
server drops it the moment that session ends, as the kernel drops the embedded registry's flock when its
process dies. Beside it, a row in `leases` says who drives (operator, database user, host, pid, since,
heartbeat) and carries a generation that every take-over increments.

How fast a lost driver lets go (https://www.postgresql.org/docs/15/runtime-config-client.html):
- killed: its socket closes, the server ends the session at once;
- cut off (no FIN ever arrives): the lease session sets `idle_session_timeout`, so a session that stops
  heartbeating is ended by the server after LAPSE_S; TCP keepalives and `tcp_user_timeout` bound the rest.

Fencing: on taking the lease, this console tells its registry the generation it holds; every write the
registry makes to that environment's deployment checks in the same transaction that the lease row still has
that generation and that the lease's session still holds the lock (core.registry.pg.registry). A driver
whose lease lapsed therefore cannot record an intent, so it never sends one after another took over.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from typing import TYPE_CHECKING, Any

import psycopg

from core.registry.pg import connect as pg

if TYPE_CHECKING:
    from core.engine.lock import LockOwner
    from core.registry.pg.registry import PostgresRegistry

HEARTBEAT_S = 2.0
LAPSE_S = 10  # the server ends a lease session that has been silent this long
LOCK_SPACE = 0x6F707363  # "opsc": the first key of the two-key advisory lock; the second is hashtext(environment)


class PostgresLease:
    """`EnvironmentLock`'s interface (held, owner, try_acquire, acquire, release) on the shared registry."""

    def __init__(self, registry: PostgresRegistry, environment: str, operator: str) -> None:
        self.registry = registry
        self.environment = environment
        self.operator = operator
        self.generation: int | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._io = threading.Lock()  # the lease connection is used by the heartbeat and by release

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._lost.is_set()

    @property
    def lost(self) -> bool:
        """The lease was held and is gone (connection dropped or lapsed) without this console releasing it."""
        return self._lost.is_set()

    def owner(self) -> LockOwner | None:
        """Who drives the environment now (the lease row whose session still holds the lock), or None."""
        from core.engine.lock import LockOwner

        rows = self.registry.cursor_rows(
            "SELECT l.pid, l.host, l.operator, extract(epoch FROM l.since), l.db_user FROM leases l "
            "WHERE l.environment = %s AND NOT l.released AND EXISTS (SELECT 1 FROM pg_locks k WHERE "
            "k.locktype = 'advisory' AND k.pid = l.backend_pid AND k.granted AND k.classid = %s::oid "
            "AND k.objid = hashtext(l.environment)::oid)",
            (self.environment, LOCK_SPACE))
        if not rows:
            return None
        pid, host, operator, since, db_user = rows[0]
        return LockOwner(pid, host, operator if operator == db_user else f"{operator} ({db_user})", float(since))

    def try_acquire(self) -> bool:
        if self.held:
            return True
        self._close()
        conn = pg.connect(self.registry.url, app=pg.application_name(self.operator, f"drives {self.environment}"),
                          connect_timeout=self.registry.connect_timeout, autocommit=True)
        try:
            conn.execute(f"SET idle_session_timeout = '{LAPSE_S}s'")
            conn.execute("SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3")
            got = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                               (LOCK_SPACE, self.environment)).fetchone()
            if not got or not got[0]:
                conn.close()
                return False
            with conn.transaction():
                row = conn.execute(
                    "INSERT INTO leases (environment, generation, operator, host, pid, backend_pid) "
                    "VALUES (%(env)s, 1, %(op)s, %(host)s, %(pid)s, pg_backend_pid()) "
                    "ON CONFLICT (environment) DO UPDATE SET generation = leases.generation + 1, operator = %(op)s, "
                    "db_user = current_user, host = %(host)s, pid = %(pid)s, backend_pid = pg_backend_pid(), "
                    "since = now(), heartbeat = now(), released = false "
                    "RETURNING generation",
                    {"env": self.environment, "op": self.operator, "host": socket.gethostname(), "pid": os.getpid()},
                ).fetchone()
        except psycopg.Error:
            conn.close()
            raise
        assert row is not None
        self.generation = int(row[0])
        self._conn = conn
        self._lost.clear()
        self._stop.clear()
        self.registry.fence(self.environment, self._fence)
        self._beat = threading.Thread(target=self._heartbeat, name=f"lease {self.environment}", daemon=True)
        self._beat.start()
        return True

    def acquire(self) -> None:
        from core.engine.lock import EnvironmentBusy

        if not self.try_acquire():
            raise EnvironmentBusy(self.environment, self.owner())

    def release(self) -> None:
        if self._conn is None:
            return
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=HEARTBEAT_S * 2)
        with self._io:
            try:
                if not self._lost.is_set():
                    with self._conn.transaction():
                        self._conn.execute("UPDATE leases SET released = true WHERE environment = %s "
                                           "AND generation = %s", (self.environment, self.generation))
                    self._conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (LOCK_SPACE, self.environment))
            except psycopg.Error:
                pass  # the session is gone, and the server dropped the lock with it
        self.registry.unfence(self.environment)
        self._close()

    def __enter__(self) -> PostgresLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- internals ---------------------------------------------------------------------------------------

    def _fence(self) -> int | None:
        """The generation the registry checks writes against; None once the lease is known to be lost."""
        return None if self._lost.is_set() else self.generation

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with self._io:
                conn = self._conn
                if conn is None:
                    return
                try:
                    row = conn.execute("UPDATE leases SET heartbeat = now() WHERE environment = %s AND generation = %s "
                                       "RETURNING 1", (self.environment, self.generation)).fetchone()
                except psycopg.Error:
                    row = None
            if row is None:  # the session died (the lock went with it) or another console holds the lease
                self._lost.set()
                return

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

