"""The PostgreSQL side of bench/registry.py: a registry per history size, and how fast a change propagates.

Building: `build` fills a fresh database through `PostgresRegistry.import_history`, 5 000 records per
transaction (the same records bench/registry.py gives the embedded registry), then registers the active
deployments. The database allows one active deployment per environment, so it gets two (dev and staging),
not the embedded registry's five, and production is kept free for the register/finish measurements.

Propagation: console A changes a deployment; console B, another `PostgresRegistry` on the same database with
a `Listener`, hears it (on_change) and reads it back (what a console screen does). Each change is timed from
just before A's call, on CLOCK_MONOTONIC (`time.monotonic_ns`), which is one clock for every process on a
Linux machine, so B may be a child process that sends its timestamps over a pipe. B reads the change back in
the listener's callback itself (no hand-off to a UI thread). One change at a time: the next starts once B has
read the previous one.
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from core.registry import open_registry
from core.registry.pg.listen import Change, Listener
from core.registry.pg.registry import PostgresRegistry

OPERATOR = "bench"
WAIT = 10.0  # seconds a change may take to arrive before the run is declared broken


def open_pg(url: str) -> PostgresRegistry:
    registry = open_registry(url, operator=OPERATOR)
    assert isinstance(registry, PostgresRegistry)
    return registry


@dataclass
class PgSubject:
    """One size's PostgreSQL registry and the ids the operations use."""

    size: int
    url: str
    registry: PostgresRegistry
    setup: float
    history: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    pending: str | None = None  # the production deployment the register/finish measurements made
    opened: list[PostgresRegistry] = field(default_factory=list)

    def note(self) -> str:
        rows = self.registry.cursor_rows("SELECT pg_database_size(current_database()), "
                                         "(SELECT count(*) FROM events)")
        size, events = rows[0]
        return f"{self.size:>7}: postgres setup {self.setup:5.1f} s, database {size / 1e6:.1f} MB, {events} events"

    def register(self, record: Mapping[str, Any]) -> None:
        self.pending = self.registry.register_deployment(record)

    def finish(self) -> None:
        if self.pending is not None:
            self.registry.update_deployment(self.pending, status="succeeded")
            self.pending = None

    def open(self) -> None:
        """Open a registry and read through it once (its pool's first connection): usable, as a console needs."""
        opened = open_pg(self.url)
        opened.get_deployment(self.active[0])
        self.opened.append(opened)

    def close_opened(self) -> None:
        while self.opened:
            self.opened.pop().close()


def build(url: str, size: int, chunks: Iterable[list[dict[str, Any]]], active: list[dict[str, Any]]) -> PgSubject:
    start = time.perf_counter()
    registry = open_pg(url)
    history: list[str] = []
    for chunk in chunks:
        history += registry.import_history(chunk)
    made = [registry.register_deployment(record) for record in active]
    setup = time.perf_counter() - start
    # Fresh statistics, as autovacuum would have them after a bulk load; then the load's dirty pages written
    # out, so that the checkpointer's flushing does not land in the other columns' timings (one disk).
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE opsconsole.deployments, opsconsole.events")
        conn.execute("CHECKPOINT")
    return PgSubject(size, url, registry, setup, history=history, active=made)


# -- propagation -----------------------------------------------------------------------------------------------


@dataclass
class Heard:
    seq: int  # which change B read back (the metadata counter, or the event's seq)
    heard_ns: int
    read_ns: int


class Watcher:
    """Console B: a registry and a Listener; for each change to `deployment` in `table`, read it back."""

    def __init__(self, url: str, deployment: str, report: Callable[[Heard], None]) -> None:
        self.registry = open_pg(url)
        self.deployment = deployment
        self.report = report
        self.listener = Listener(self.registry, self._on_change, operator=OPERATOR)

    def start(self) -> None:
        self.listener.start()
        if not self.listener.connected.wait(WAIT):
            raise RuntimeError("the listener did not connect")

    def _on_change(self, change: Change) -> None:
        heard = time.monotonic_ns()
        if change.deployment != self.deployment or change.table not in ("deployments", "events"):
            return
        if change.table == "deployments":
            found = self.registry.get_deployment(self.deployment)
            assert found is not None
            seq = int(found.metadata.get("bench_seq", -1))
        else:
            seq = self.registry.events(self.deployment)[-1].seq
        self.report(Heard(seq, heard, time.monotonic_ns()))

    def close(self) -> None:
        self.listener.stop()
        self.registry.close()


def _child(url: str, deployment: str, pipe: Any) -> None:
    """Console B in a process of its own: reports (seq, heard_ns, read_ns) over the pipe."""
    watcher = Watcher(url, deployment, lambda h: pipe.send((h.seq, h.heard_ns, h.read_ns)))
    watcher.start()
    pipe.send("ready")
    pipe.recv()  # told to stop
    watcher.close()


@dataclass
class Propagation:
    write_ms: list[float]
    heard_ms: list[float]
    read_ms: list[float]


def _changes(writer: PostgresRegistry, deployment: str, kind: str, count: int,
             next_heard: Callable[[], Heard]) -> Propagation:
    result = Propagation([], [], [])
    first_seq = len(writer.events(deployment)) if kind == "event" else 0
    for n in range(1, count + 1):
        began = time.monotonic_ns()
        if kind == "event":
            expected = writer.append_event(deployment, "intent", "bench propagation", actor=OPERATOR,
                                           detail={"n": n}).seq
        else:
            expected = first_seq + n
            writer.update_deployment(deployment, metadata={"bench_seq": expected})
        wrote = time.monotonic_ns()
        heard = next_heard()
        if heard.seq != expected:
            raise RuntimeError(f"B read change {heard.seq}, expected {expected}")
        result.write_ms.append((wrote - began) / 1e6)
        result.heard_ms.append((heard.heard_ns - began) / 1e6)
        result.read_ms.append((heard.read_ns - began) / 1e6)
    return result


def propagation(url: str, count: int) -> dict[tuple[str, str], Propagation]:
    """(where, change) -> timings; where is "threads" (A and B in this process) or "processes"."""
    writer = open_pg(url)
    deployment = writer.register_deployment({"environment": "dev", "versions": {"websocket-server": "9.9.9"},
                                             "status": "in_progress", "strategy": "canary", "actor": OPERATOR})
    results: dict[tuple[str, str], Propagation] = {}
    try:
        inbox: list[Heard] = []
        arrived = threading.Condition()

        def report(heard: Heard) -> None:
            with arrived:
                inbox.append(heard)
                arrived.notify()

        def next_local() -> Heard:
            with arrived:
                if not arrived.wait_for(lambda: inbox, WAIT):
                    raise RuntimeError("B did not hear a change")
                return inbox.pop(0)

        watcher = Watcher(url, deployment, report)
        watcher.start()
        try:
            for kind in ("update", "event"):
                _changes(writer, deployment, kind, 5, next_local)  # warm both sides' connections and statements
                results[("threads", kind)] = _changes(writer, deployment, kind, count, next_local)
        finally:
            watcher.close()

        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        child = context.Process(target=_child, args=(url, deployment, theirs), daemon=True)
        child.start()
        try:
            if not ours.poll(60) or ours.recv() != "ready":
                raise RuntimeError("the child console did not start")

            def next_remote() -> Heard:
                if not ours.poll(WAIT):
                    raise RuntimeError("the child console did not hear a change")
                return Heard(*ours.recv())

            for kind in ("update", "event"):
                _changes(writer, deployment, kind, 5, next_remote)
                results[("processes", kind)] = _changes(writer, deployment, kind, count, next_remote)
            ours.send("stop")
            child.join(10)
        finally:
            if child.is_alive():
                child.kill()
                child.join()
    finally:
        writer.close()
    return results


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def propagation_table(results: dict[tuple[str, str], Propagation], count: int) -> str:
    calls = {"update": "update_deployment (metadata) -> get_deployment",
             "event": "append_event -> events"}
    lines = [f"| change, N={count} (ms from just before A's call) | A's call returns, median | B heard, median "
             "| B heard, p99 | B read it back, median | B read it back, p99 |",
             "|---|---:|---:|---:|---:|---:|"]
    for (where, kind), found in results.items():
        cells = [statistics.median(found.write_ms), statistics.median(found.heard_ms), p99(found.heard_ms),
                 statistics.median(found.read_ms), p99(found.read_ms)]
        lines.append(f"| {where}: {calls[kind]} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)
