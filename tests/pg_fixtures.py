"""pytest fixtures for a real PostgreSQL server (tests/pg_rig.py) and a TCP proxy in front of it (tests/tcp_proxy.py).

- `pg_cluster` (session): one cluster per xdist worker, started by the first test that asks for it, stopped
  at the session's end. Shared: do not stop or restart it (use `pg_restartable`), and work in your own database.
- `pg_url` (function): a fresh database on `pg_cluster`, as the superuser's TCP URL; dropped after the test.
- `pg_restartable` (function): a cluster of the test's own, to stop, restart or kill_backends at will.
- `tcp_proxy_to` (function): a factory, `tcp_proxy_to(port, host="127.0.0.1") -> TcpProxy`; closed after the test.

Without PostgreSQL binaries (or, as root, without a user to run the server as) the tests that ask for these
are skipped, except in CI (env CI set), where they fail: CI installs the server (.ci/run) and must run them.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NoReturn

import pytest

_counter = itertools.count(1)

if TYPE_CHECKING:  # imported when a fixture runs: the server is never started for a session with no database test
    from tests.pg_rig import PgCluster
    from tests.tcp_proxy import TcpProxy


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it in CI, where a skipped database test would hide a broken install step."""
    if in_ci():
        pytest.fail(f"PostgreSQL is required in CI (CI is set): {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL server for tests: {reason}")


def _started_cluster() -> PgCluster:
    from tests.pg_rig import PgCluster, PgUnavailable

    cluster = PgCluster()
    try:
        return cluster.start()
    except PgUnavailable as exc:
        reason = str(exc)  # skipped or failed outside the except block: no "during handling..." chain
    except BaseException:
        cluster.close()
        raise
    cluster.close()
    unavailable(reason)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """This worker's shared PostgreSQL cluster (see the module's docstring)."""
    cluster = _started_cluster()
    yield cluster
    cluster.close()


@pytest.fixture
def pg_url(pg_cluster: PgCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """postgresql://postgres:PASSWORD@127.0.0.1:PORT/DB of a database made for this test."""
    # The test's name in the database's, for pg_stat_activity and the server log; 63 bytes at most.
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:40]
    name = pg_cluster.create_database(f"t{os.getpid()}_{next(_counter)}_{slug}")
    yield pg_cluster.url(dbname=name)
    if pg_cluster.running:  # a test that stopped the shared cluster broke the rules; its failure says so
        pg_cluster.drop_database(name)


@pytest.fixture
def pg_restartable() -> Iterator[PgCluster]:
    """A started cluster of this test's own (about a second to make), deleted after it."""
    cluster = _started_cluster()
    yield cluster
    cluster.close()


@pytest.fixture
def tcp_proxy_to() -> Iterator[Callable[..., TcpProxy]]:
    """`tcp_proxy_to(port, host="127.0.0.1")`: a TcpProxy to that address; every one is closed after the test."""
    from tests.tcp_proxy import TcpProxy

    proxies: list[TcpProxy] = []

    def make(port: int, host: str = "127.0.0.1") -> TcpProxy:
        proxy = TcpProxy(host, port)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
