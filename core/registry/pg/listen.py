"""Hearing every change to the shared registry as it commits (LISTEN/NOTIFY), and who else is connected.

`Listener` holds one connection of its own that LISTENs on the channel `opsconsole` (migration 0003) and
calls back with a `Change` per notification, from its own thread. The connection is named
`opsconsole watch <operator>@<host> <pid>`, so `connected()` can say who else watches and who drives (the lease
sessions are named `opsconsole drives <env> ...`), straight from the server's `pg_stat_activity`: a console
that died is gone from it with its session, and no presence row is ever left behind.

A dropped connection (restart, network cut) is reconnected with a growing pause; after reconnecting, the
listener reports `Change("*")`, since notifications sent meanwhile were lost and everything may have changed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from core.registry.pg import connect as pg
from core.registry.pg.registry import PostgresRegistry

CHANNEL = "opsconsole"


@dataclass(frozen=True)
class Change:
    """One committed change: its table ("*" after a reconnect: anything may have changed)."""

    table: str
    environment: str | None = None
    deployment: str | None = None
    kind: str | None = None
    by: str | None = None


@dataclass(frozen=True)
class Presence:
    """One console connected to the registry, as the server sees it."""

    operator: str  # operator@host as the console named itself
    db_user: str
    role: str  # "watch", "console", or "drives <environment>"
    pid: int
    since: float


def connected(registry: PostgresRegistry) -> list[Presence]:
    """Every opsconsole session on the registry's database now (this console's own included)."""
    rows = registry.cursor_rows(
        "SELECT application_name, usename, extract(epoch FROM backend_start) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name LIKE 'opsconsole %%' ORDER BY backend_start")
    found = []
    for name, user, since in rows:
        parts = str(name).split(" ")
        if len(parts) < 4:
            continue
        role = " ".join(parts[1:-2])
        # Another user's backend_start is hidden from roles without pg_read_all_stats: 0 then, not an error.
        found.append(Presence(parts[-2], str(user), role, int(parts[-1]) if parts[-1].isdigit() else 0,
                              float(since or 0)))
    return found


class Listener:
    """Calls `on_change` for every committed change to the registry, from a thread of its own."""

    def __init__(self, registry: PostgresRegistry, on_change: Callable[[Change], None], *, operator: str) -> None:
        self.registry = registry
        self.on_change = on_change
        self.operator = operator
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._thread = threading.Thread(target=self._run, name="registry listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)

    def _run(self) -> None:
        pause, first = 0.2, True
        while not self._stop.is_set():
            try:
                conn = pg.connect(self.registry.url, app=pg.application_name(self.operator, "watch"),
                                  connect_timeout=self.registry.connect_timeout, autocommit=True)
            except Exception:  # unreachable: try again, a little later each time
                self.connected.clear()
                self._stop.wait(pause)
                pause = min(pause * 2, 5.0)
                continue
            pause = 0.2
            try:
                conn.execute(f"LISTEN {CHANNEL}")
                self.connected.set()
                if not first:
                    self.on_change(Change("*"))  # what was announced while disconnected is lost: refresh all
                first = False
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=0.5):
                        self.on_change(_change(note.payload))
                    conn.execute("SELECT 1")  # a dead connection is noticed here, not after the kernel's timeout
            except psycopg.Error:
                self.connected.clear()
            finally:
                conn.close()


def _change(payload: str) -> Change:
    try:
        data = json.loads(payload)
        return Change(str(data.get("table") or "*"), data.get("environment"), data.get("deployment"),
                      data.get("kind"), data.get("by"))
    except (ValueError, AttributeError):
        return Change("*")
