"""Benchmark of the deployment registry at growing history sizes, beside SQLite (WAL, synchronous=FULL) and PostgreSQL.

    python bench/registry.py [--sizes 1000,10000,100000] [--repeat 200] [--report-runs 7] [--changes 200]
    python bench/registry.py --quick       # 1k and 10k, fewer repeats: a few minutes
    python bench/registry.py --no-postgres # the embedded registry and SQLite only
    python bench/registry.py --kills 1000

Each size gets a fresh registry whose history is realistic: all but five deployments finished, spread
over the 12 months before 2026-11, three environments, a few stages and six step events each. The
history is written through ``DeploymentRegistry.import_history``, the archive module's bulk path (one
append and one fsync per month file), so 100 000 records take seconds rather than 100 000 fsyncs.
SQLite gets the same records in one transaction. Every timing is the median of ``--repeat`` operations,
in milliseconds; both sides parse rows into the same pydantic models, and both fsync every write.

PostgreSQL (bench/registry_pg.py) gets the same records through ``PostgresRegistry.import_history``, 5 000 per
transaction, on a throwaway local server (bench/pg_server.py) run durable as a team runs it: fsync,
synchronous_commit and full_page_writes on. Its columns time the same operations through the registry's
interface, plus the report's read path (``core.reports.source.read_rows`` over the whole history, --report-runs
times), also timed for the embedded registry with its month cache warm and cold. Then --changes changes show
how long one console's change takes to reach another (LISTEN/NOTIFY, then a read back), in one process and
across two.

``--kills N`` runs the SIGKILL crash loop of tests/test_registry_crash.py N times and prints a summary.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.registry_pg import PgSubject  # noqa: E402
from core.registry import Deployment, DeploymentRegistry, DeploymentStatus  # noqa: E402
from core.registry.archive import MonthlyArchive  # noqa: E402
from core.reports.source import MonthCache, read_rows  # noqa: E402

ENVIRONMENTS = ("dev", "staging", "production")
END = datetime(2026, 11, 1, tzinfo=UTC)
ACTIVE = 5
OPERATIONS = ("open", "register", "finish (archive)", "get archived", "get archived, cold month",
              "get active", "environment state", "list limit 50", "list limit 50, env+status",
              "report: read_rows, whole history (registry: month cache warm)",
              "report: read_rows, whole history, month cache cold")
REPORT_START, REPORT_END = END - timedelta(days=400), END + timedelta(days=60)  # every deployment, active ones too


def _history_record(rnd: random.Random, n: int) -> dict[str, Any]:
    started = END - timedelta(seconds=rnd.uniform(0, 365 * 86400))
    status = rnd.choices(("succeeded", "failed", "rolled_back", "aborted"), (85, 7, 5, 3))[0]
    steps = [10, 25, 50, 100][: rnd.randint(2, 4)]
    stages = [
        {"name": f"canary {p}%", "status": "succeeded", "started_at": started + timedelta(minutes=3 * i),
         "ended_at": started + timedelta(minutes=3 * i + 2), "detail": {"error_rate": round(rnd.random() / 100, 5)}}
        for i, p in enumerate(steps)
    ]
    events = [
        {"kind": kind, "action": f"shift traffic to {p}%", "actor": "engine",
         "at": started + timedelta(minutes=3 * i, seconds=s), "detail": {"revision": f"ws-{n:06d}", "percent": p}}
        for i, p in enumerate(steps[:3]) for kind, s in (("intent", 0), ("done", 20))
    ]
    return {
        "environment": rnd.choices(ENVIRONMENTS, (50, 30, 20))[0],
        "versions": {"websocket-server": f"1.{n // 100}.{n % 100}", "frontend": f"2.{n // 50}.0"},
        "status": status, "strategy": "canary", "actor": rnd.choice(("alice", "bob", "ci")),
        "started_at": started, "ended_at": started + timedelta(minutes=3 * len(steps) + 1),
        "stages": stages, "metadata": {"commit": f"{rnd.getrandbits(160):040x}", "ticket": f"OPS-{n}"},
        "events": events,
    }


def _active_record(n: int) -> dict[str, Any]:
    return {"environment": ENVIRONMENTS[n % 3], "versions": {"websocket-server": f"9.0.{n}"},
            "status": "in_progress", "strategy": "canary", "actor": "alice",
            "started_at": END + timedelta(days=20, minutes=n)}


def _medians(actions: dict[Any, Callable[[], object]], repeat: int, rounds: int = 10,
             before: dict[Any, Callable[[], object]] | None = None) -> dict[Any, float]:
    """Median ms per key; keys take turns in short rounds so that machine noise hits every column alike.

    `before[key]`, when given, runs untimed before each timed call of that key's action."""
    samples: dict[Any, list[float]] = {key: [] for key in actions}
    per_round = max(1, -(-repeat // rounds))
    for _ in range(min(rounds, repeat)):
        for key, action in actions.items():
            for _ in range(per_round):
                if before and key in before:
                    before[key]()
                start = time.perf_counter_ns()
                action()
                samples[key].append((time.perf_counter_ns() - start) / 1e6)
    return {key: statistics.median(found) for key, found in samples.items()}


class SqliteRegistry:
    """The same operations on SQLite, WAL mode with synchronous=FULL (every commit durable, like ours)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = self._connect()
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS deployments (id TEXT PRIMARY KEY, environment TEXT NOT NULL,
                status TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS by_env ON deployments(environment, status, id);
            CREATE INDEX IF NOT EXISTS by_status ON deployments(status, id);
            CREATE TABLE IF NOT EXISTS events (deployment_id TEXT, seq INTEGER, body TEXT,
                PRIMARY KEY (deployment_id, seq));
            CREATE TABLE IF NOT EXISTS environments (name TEXT PRIMARY KEY, body TEXT NOT NULL);
        """)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    def reopen(self) -> None:
        self.db.close()
        self.db = self._connect()

    def load(self, registry: DeploymentRegistry) -> None:
        """Copy everything in the registry (archive files read in bulk, events included) in one transaction."""
        archive = MonthlyArchive(registry.archive_dir)
        records = (record for month in archive.months() for record in archive.iter_records(month))
        self.db.execute("BEGIN")
        for record in records:
            self._insert(record["deployment"], record["events"])
        for deployment in registry.active_deployments():
            self._insert(deployment.model_dump(mode="json"),
                         [e.model_dump(mode="json") for e in registry.events(deployment.id)])
        for name in ENVIRONMENTS:
            stats = registry.get_environment_state(name).statistics
            self.db.execute("INSERT INTO environments VALUES (?, ?)",
                            (name, json.dumps({"statistics": stats, "health": "unknown"})))
        self.db.execute("COMMIT")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _insert(self, deployment: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self.db.execute("INSERT INTO deployments VALUES (?, ?, ?, ?)", (
            deployment["id"], deployment["environment"], deployment["status"], json.dumps(deployment)))
        self.db.executemany("INSERT INTO events VALUES (?, ?, ?)",
                            [(deployment["id"], e["seq"], json.dumps(e)) for e in events])

    def _count(self, environment: str, old: str | None, new: str) -> None:
        row = self.db.execute("SELECT body FROM environments WHERE name = ?", (environment,)).fetchone()
        body = json.loads(row[0]) if row else {"statistics": {"total": 0}, "health": "unknown"}
        stats = body["statistics"]
        if old is None:
            stats["total"] += 1
        else:
            stats[old] -= 1
        stats[new] = stats.get(new, 0) + 1
        self.db.execute("INSERT OR REPLACE INTO environments VALUES (?, ?)", (environment, json.dumps(body)))

    def register(self, deployment: Deployment) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO deployments VALUES (?, ?, ?, ?)", (
            deployment.id, deployment.environment, deployment.status.value, deployment.model_dump_json()))
        self._count(deployment.environment, None, deployment.status.value)
        self.db.execute("COMMIT")

    def finish(self, ident: str, status: str) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        body = self.db.execute("SELECT body FROM deployments WHERE id = ?", (ident,)).fetchone()[0]
        deployment = Deployment.model_validate_json(body)
        done = deployment.model_copy(update={"status": DeploymentStatus(status), "ended_at": datetime.now(UTC)})
        self.db.execute("UPDATE deployments SET status = ?, body = ? WHERE id = ?",
                        (status, done.model_dump_json(), ident))
        self._count(deployment.environment, deployment.status.value, status)
        self.db.execute("COMMIT")

    def get(self, ident: str) -> Deployment | None:
        row = self.db.execute("SELECT body FROM deployments WHERE id = ?", (ident,)).fetchone()
        return None if row is None else Deployment.model_validate_json(row[0])

    def environment_state(self, name: str) -> tuple[dict[str, Any], list[Deployment]]:
        body = json.loads(self.db.execute("SELECT body FROM environments WHERE name = ?", (name,)).fetchone()[0])
        active = self.db.execute(
            "SELECT body FROM deployments WHERE environment = ? AND status IN ('pending', 'in_progress', 'paused')"
            " ORDER BY id DESC", (name,)).fetchall()
        return body, [Deployment.model_validate_json(row[0]) for row in active]

    def listing(self, environment: str | None = None, status: str | None = None) -> list[Deployment]:
        if environment is None:
            rows = self.db.execute("SELECT body FROM deployments ORDER BY id DESC LIMIT 50").fetchall()
        else:
            rows = self.db.execute("SELECT body FROM deployments WHERE environment = ? AND status = ? "
                                   "ORDER BY id DESC LIMIT 50", (environment, status)).fetchall()
        return [Deployment.model_validate_json(row[0]) for row in rows]


@dataclass
class Subject:
    """One size's registry and SQLite database, with the ids the operations use."""

    size: int
    directory: Path
    registry: DeploymentRegistry
    sqlite: SqliteRegistry
    setup: float
    history: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    made: list[str] = field(default_factory=list)
    copies: list[Deployment] = field(default_factory=list)

    def note(self) -> str:
        archive_mb = sum(p.stat().st_size for p in self.registry.archive_dir.iterdir()) / 1e6
        sqlite_mb = sum(p.stat().st_size for p in self.directory.glob("registry.sqlite*")) / 1e6
        months = len(list(self.registry.archive_dir.iterdir()))
        return (f"{self.size:>7}: setup {self.setup:5.1f} s, hot file {self.registry.path.stat().st_size / 1e3:.1f}"
                f" kB, archive {archive_mb:.1f} MB in {months} month files, sqlite {sqlite_mb:.1f} MB")

    def sqlite_register(self) -> None:
        template = self.registry.get_deployment(self.active[0])
        assert template is not None
        copy = template.model_copy(update={"id": f"d-20261201-000000-000-{len(self.copies):06x}",
                                           "status": DeploymentStatus.PENDING})
        self.copies.append(copy)
        self.sqlite.register(copy)


def _history_chunks(size: int) -> Iterator[list[dict[str, Any]]]:
    """The finished history of a size, 5 000 records at a time; the same records on every call."""
    rnd = random.Random(size)
    finished = size - ACTIVE
    for first in range(0, finished, 5000):
        yield [_history_record(rnd, n) for n in range(first, min(first + 5000, finished))]


def _build(directory: Path, size: int) -> Subject:
    start = time.perf_counter()
    registry = DeploymentRegistry(directory / "registry.json")
    for chunk in _history_chunks(size):
        registry.import_history(chunk)
    for n in range(ACTIVE):
        registry.register_deployment(_active_record(n))
    setup = time.perf_counter() - start
    sqlite = SqliteRegistry(directory / "registry.sqlite")
    sqlite.load(registry)
    archive = MonthlyArchive(registry.archive_dir)
    history = [entry.id for month in archive.months() for entry in archive.newest_first(month)]
    return Subject(size, directory, registry, sqlite, setup, history=history,
                   active=[d.id for d in registry.active_deployments()])


def _measure(subjects: list[Subject], repeat: int, pgs: dict[int, PgSubject] | None = None,
             report_runs: int = 7) -> dict[tuple[str, int], dict[str, float]]:
    results: dict[tuple[str, int], dict[str, float]] = {}
    rnd = random.Random(7)
    pgs = pgs or {}
    Actions = dict[int, Callable[[], object]]

    def record(op: str, ours: Actions, theirs: Actions, pg: Actions | None = None, times: int = repeat,
               rounds: int = 10, before: dict[tuple[str, int], Callable[[], object]] | None = None) -> None:
        actions = {("registry", n): a for n, a in ours.items()} | {("sqlite", n): a for n, a in theirs.items()} \
            | {("postgres", n): a for n, a in (pg or {}).items()}
        for key, value in _medians(actions, times, rounds, before).items():
            results.setdefault(key, {})[op] = value

    by_size = {s.size: s for s in subjects}
    record("open", {n: lambda s=s: DeploymentRegistry(s.registry.path) for n, s in by_size.items()},
           {n: s.sqlite.reopen for n, s in by_size.items()},
           {n: p.open for n, p in pgs.items()}, times=min(repeat, 50),
           before={("postgres", n): p.close_opened for n, p in pgs.items()})
    for p in pgs.values():
        p.close_opened()
    # PostgreSQL holds one active deployment per environment: each register follows the finish of the last
    # one (untimed), and each finish a register (untimed); production is kept free for them.
    record("register", {n: lambda s=s: s.made.append(s.registry.register_deployment(_active_record(0)))
                        for n, s in by_size.items()},
           {n: s.sqlite_register for n, s in by_size.items()},
           {n: lambda p=p: p.register(_active_record(2)) for n, p in pgs.items()},
           before={("postgres", n): p.finish for n, p in pgs.items()})
    record("finish (archive)",
           {n: lambda s=s: s.registry.update_deployment(s.made.pop(), status="succeeded") for n, s in by_size.items()},
           {n: lambda s=s: s.sqlite.finish(s.copies.pop().id, "succeeded") for n, s in by_size.items()},
           {n: p.finish for n, p in pgs.items()},
           before={("postgres", n): lambda p=p: p.pending or p.register(_active_record(2)) for n, p in pgs.items()})
    # One fresh registry per month, so each get is the first touch of that month's file.
    cold = {n: [(DeploymentRegistry(s.registry.path), next(i for i in s.history if i[2:8] == month))
                for month in sorted({i[2:8] for i in s.history})] for n, s in by_size.items()}
    record("get archived, cold month", {n: lambda c=c: (lambda r, i: r.get_deployment(i))(*c.pop())
                                        for n, c in cold.items()}, {}, times=12, rounds=12)
    picks = {n: [rnd.choice(s.history) for _ in range(repeat * 2)] for n, s in by_size.items()}
    pg_picks = {n: [rnd.choice(p.history) for _ in range(repeat * 2)] for n, p in pgs.items()}
    record("get archived", {n: lambda s=s, p=list(picks[n]): s.registry.get_deployment(p.pop())
                            for n, s in by_size.items()},
           {n: lambda s=s, p=list(picks[n]): s.sqlite.get(p.pop()) for n, s in by_size.items()},
           {n: lambda g=g, p=list(pg_picks[n]): g.registry.get_deployment(p.pop()) for n, g in pgs.items()})
    record("get active", {n: lambda s=s: s.registry.get_deployment(s.active[0]) for n, s in by_size.items()},
           {n: lambda s=s: s.sqlite.get(s.active[0]) for n, s in by_size.items()},
           {n: lambda p=p: p.registry.get_deployment(p.active[0]) for n, p in pgs.items()})
    record("environment state",
           {n: lambda s=s: s.registry.get_environment_state("staging") for n, s in by_size.items()},
           {n: lambda s=s: s.sqlite.environment_state("staging") for n, s in by_size.items()},
           {n: lambda p=p: p.registry.get_environment_state("staging") for n, p in pgs.items()})
    record("list limit 50", {n: lambda s=s: s.registry.list_deployments(limit=50) for n, s in by_size.items()},
           {n: s.sqlite.listing for n, s in by_size.items()},
           {n: lambda p=p: p.registry.list_deployments(limit=50) for n, p in pgs.items()})
    record("list limit 50, env+status",
           {n: lambda s=s: s.registry.list_deployments(environment="production", status="rolled_back", limit=50)
            for n, s in by_size.items()},
           {n: lambda s=s: s.sqlite.listing("production", "rolled_back") for n, s in by_size.items()},
           {n: lambda p=p: p.registry.list_deployments(environment="production", status="rolled_back", limit=50)
            for n, p in pgs.items()})
    for p in pgs.values():
        p.finish()

    def report(registry: object) -> Callable[[], object]:
        return lambda: read_rows(registry, REPORT_START, REPORT_END, None)  # type: ignore[arg-type]

    for n, s in by_size.items():  # what each report reads, to check they read the same history
        rows, pg_rows = len(report(s.registry)()), len(report(pgs[n].registry)()) if n in pgs else None
        print(f"{n:>7}: report rows: registry {rows}" + ("" if pg_rows is None else f", postgres {pg_rows}"),
              flush=True)
    record("report: read_rows, whole history (registry: month cache warm)",
           {n: report(s.registry) for n, s in by_size.items()}, {},
           {n: report(p.registry) for n, p in pgs.items()}, times=report_runs, rounds=report_runs)
    record("report: read_rows, whole history, month cache cold",
           {n: report(s.registry) for n, s in by_size.items()}, {}, times=report_runs, rounds=report_runs,
           before={("registry", n): lambda s=s: shutil.rmtree(MonthCache(s.registry.path).directory)
                   for n, s in by_size.items()})
    return results


def _table(sizes: list[int], results: dict[tuple[str, int], dict[str, float]]) -> str:
    def head(n: int) -> str:
        return f"{n // 1000}k" if n % 1000 == 0 else str(n)

    keys = [(side, n) for side in ("registry", "sqlite", "postgres") for n in sizes if (side, n) in results]
    lines = ["| operation (median ms) | " + " | ".join(f"{side} {head(n)}" for side, n in keys) + " |",
             "|---|" + "---:|" * len(keys)]
    for op in OPERATIONS:
        cells = [results[key].get(op) for key in keys]
        lines.append(f"| {op} | " + " | ".join("n/a" if c is None else f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines)


def _kills(count: int, seed: int) -> None:
    spec = importlib.util.spec_from_file_location("registry_crash", ROOT / "tests" / "test_registry_crash.py")
    assert spec is not None and spec.loader is not None
    crash = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = crash  # its dataclasses look their module up there
    spec.loader.exec_module(crash)
    with tempfile.TemporaryDirectory(prefix="registry-kills-") as tmp:
        start = time.perf_counter()
        summary = crash.run_kill_loop(Path(tmp), kills=count, seed=seed)
        elapsed = time.perf_counter() - start
    writes = summary.writes_before_kill
    print(f"kills: {summary.kills} in {elapsed:.1f} s (seed {seed})")
    print(f"acknowledged deployments checked after the kills (status and events): {summary.acknowledged_checked}")
    print(f"writes acknowledged per writer before its kill: median {statistics.median(writes):g}, "
          f"max {max(writes)}, killed before any write: {sum(1 for w in writes if w == 0)}")
    print(f"in-flight update at the kill: landed {summary.in_flight_landed}, not landed {summary.in_flight_lost}")
    print(f"leftover temp files found (then cleaned at open): {summary.temp_files_found}")
    print(f"torn archive tails found: {summary.torn_archive_tails_found}")
    print(f"kills between archive append and hot removal (record in both places, completed at open): "
          f"{summary.interrupted_moves_found}")
    print(f"failures: {len(summary.failures)}")
    for failure in summary.failures[:20]:
        print(f"  {failure}")
    if summary.failures:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help="comma-separated history sizes (1000,10000,100000)")
    parser.add_argument("--repeat", type=int, default=None, help="operations per median (200)")
    parser.add_argument("--report-runs", type=int, default=None, help="reports per median (7)")
    parser.add_argument("--changes", type=int, default=None, help="changes timed per propagation row (200)")
    parser.add_argument("--quick", action="store_true",
                        help="a few minutes: sizes 1000,10000, 20 operations and 5 reports per median, 50 changes")
    parser.add_argument("--no-postgres", action="store_true", help="the embedded registry and SQLite only")
    parser.add_argument("--kills", type=int, default=0, help="run the SIGKILL crash loop this many times instead")
    parser.add_argument("--seed", type=int, default=20261126, help="seed of the crash loop")
    args = parser.parse_args()
    if args.kills:
        _kills(args.kills, args.seed)
        return
    defaults = ("1000,10000", 20, 5, 50) if args.quick else ("1000,10000,100000", 200, 7, 200)
    sizes = [int(size) for size in (args.sizes or defaults[0]).split(",")]
    repeat = args.repeat or defaults[1]
    report_runs = args.report_runs or defaults[2]
    changes = args.changes or defaults[3]
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp, contextlib.ExitStack() as stack:
        cluster, running = None, None
        if not args.no_postgres:
            from bench import pg_server

            try:
                cluster = pg_server.start_durable()
            except pg_server.PgUnavailable as reason:
                print(f"no PostgreSQL columns: {reason}")
            else:
                stack.callback(cluster.close)
                running = pg_server.settings(cluster)
        subjects = []
        pgs: dict[int, PgSubject] = {}
        for size in sizes:
            directory = Path(tmp) / str(size)
            directory.mkdir()
            subjects.append(_build(directory, size))
            print(subjects[-1].note(), flush=True)
            if cluster is not None:
                from bench import registry_pg

                url = cluster.url(dbname=cluster.create_database(f"bench_{size}"))
                pgs[size] = registry_pg.build(url, size, _history_chunks(size), [_active_record(0), _active_record(1)])
                stack.callback(pgs[size].registry.close)
                print(pgs[size].note(), flush=True)
        results = _measure(subjects, repeat, pgs, report_runs)
        propagated = None
        if cluster is not None:
            from bench import registry_pg

            propagated = registry_pg.propagation(cluster.url(dbname=cluster.create_database("bench_live")), changes)
    print()
    print(f"Medians of {repeat} operations each ({min(repeat, 50)} for open, 12 for a cold month, {report_runs} for a "
          "report), in ms; each size's columns take turns in rounds.")
    if running is not None:
        print(f"postgres: PostgreSQL {running['server_version']} on this machine (loopback TCP), durable: "
              f"fsync={running['fsync']}, synchronous_commit={running['synchronous_commit']}, "
              f"full_page_writes={running['full_page_writes']} (wal_sync_method={running['wal_sync_method']}), "
              f"shared_buffers={running['shared_buffers']}, jit={running['jit']}. It holds one active deployment "
              "per environment: 2 active (not 5); register and finish alternate in production, each untimed "
              "before the other; open = open_registry + its first read (the pool's first connection). Its report "
              "has no month cache: every call runs report_docs.")
    print()
    print(_table(sizes, results))
    small, large = sizes[0], sizes[-1]
    for op in ("register", "get archived"):
        ratio = results[("registry", large)][op] / results[("registry", small)][op]
        print(f"registry {op}: {large} / {small} = {ratio:.2f}x (target <= 2x)")
    if propagated is not None:
        from bench import registry_pg

        print()
        print(f"Propagation between two consoles on one machine over loopback TCP (not two machines: no network "
              f"latency), same durable server; B = a second PostgresRegistry with a Listener, reading the change "
              f"back in its callback; 'threads' = A and B in one process, 'processes' = B in a child process "
              f"(CLOCK_MONOTONIC across both); N={changes} changes each, one at a time.")
        print()
        print(registry_pg.propagation_table(propagated, changes))
    print(f"\nbench took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
