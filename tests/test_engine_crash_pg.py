"""The kill test on the team's registry: SIGKILL headless consoles mid-canary, with the registry in PostgreSQL.

The same loop as tests/test_engine_crash.py (a standalone sandbox, the real CLI in its own processes, killed at
seeded random moments, restarted until the deployment ends), but every console shares one PostgreSQL database
and connects as its person: alice deploys and resumes, bob approves (production needs a second person on the
shared registry). A killed console's lease is dropped by the server with its session, so the next console takes
over at once; the checks are the same: nothing applied twice, every split sums to 100, each step once, the
deployment succeeds, and no lease is left held.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.registry import open_registry
from tests.test_engine_crash import Backend, run_crash_loop

if TYPE_CHECKING:
    from tests.pg_rig import PgCluster

pytestmark = pytest.mark.xdist_group("pg-crash")


def team_backend(pg_cluster: PgCluster, pg_url: str) -> Backend:
    """alice and bob, each a database user in production's group role, on a registry the owner created."""
    open_registry(pg_url).close()  # the owner's first connection creates the schema and the group roles
    dbname = pg_url.rsplit("/", 1)[1]
    urls = {}
    for person in ("alice", "bob"):
        pg_cluster.create_role(person, f"{person}-pw", in_roles=("opsconsole_production",))
        urls[person] = pg_cluster.url(user=person, password=f"{person}-pw", dbname=dbname)
    return Backend(urls)


def test_killed_consoles_on_the_shared_registry_resume_a_canary_without_applying_a_step_twice(
        tmp_path: Path, pg_cluster: PgCluster, pg_url: str) -> None:
    summary = run_crash_loop(tmp_path, kills=5, seed=20261206, backend=team_backend(pg_cluster, pg_url))
    assert summary.kills >= 4, summary
    assert not summary.failures, "\n".join(summary.failures)
    assert not summary.duplicates, summary.duplicates
    assert not summary.bad_splits, summary.bad_splits
    assert summary.outcomes and set(summary.outcomes) == {"succeeded"}
    assert summary.restarts >= 4
