"""A throwaway PostgreSQL server for the benchmarks, durable as a team runs it (tests/pg_rig.py, settings changed).

The test rig turns durability off (fsync, synchronous_commit, full_page_writes) and shrinks shared_buffers,
for a test's wall clock. A benchmark that kept those would time writes no team's server makes, so here every
one of them is back at PostgreSQL's default: each commit waits for its WAL flush to the disk, as on a team's
server. `PgCluster` merges `settings=` over its own, so these win; `settings()` reads back what the server runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.pg_rig import PgCluster, PgUnavailable  # noqa: E402

# PostgreSQL's own defaults, which the rig overrides for speed.
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "shared_buffers": "128MB",
           "jit": "on"}
SHOWN = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers",
         "jit")

__all__ = ["DURABLE", "PgCluster", "PgUnavailable", "settings", "start_durable"]


def start_durable() -> PgCluster:
    """A started cluster with the durable settings, checked: a setting that did not take is an error."""
    cluster = PgCluster(settings=DURABLE)
    try:
        cluster.start()
        running = settings(cluster)
        wrong = {name: running[name] for name in ("fsync", "synchronous_commit", "full_page_writes")
                 if running[name] != "on"}
        if wrong:
            raise RuntimeError(f"the benchmark's server is not durable: {wrong}")
    except BaseException:
        cluster.close()
        raise
    return cluster


def settings(cluster: PgCluster) -> dict[str, str]:
    return {name: str(cluster.execute(f"SHOW {name}")[0][0]) for name in SHOWN}
