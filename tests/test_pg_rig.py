"""The PostgreSQL rig and the TCP proxy, as a test that uses them sees them."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.pg_fixtures import unavailable
from tests.pg_rig import PgCluster
from tests.tcp_proxy import TcpProxy


def dbname_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def test_pg_url_is_a_fresh_database_reachable_over_tcp(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        user, db, tables = conn.execute(
            "SELECT current_user, current_database(), "
            "(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')"
        ).fetchone() or (None, None, None)
    assert (user, db, tables) == ("postgres", dbname_of(pg_url), 0)


def test_each_test_gets_its_own_database(pg_cluster: PgCluster, pg_url: str) -> None:
    other = pg_cluster.create_database()
    assert other != dbname_of(pg_url)
    pg_cluster.execute("CREATE TABLE mine (x int)", dbname=other)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('mine')").fetchone() == (None,)


def test_wrong_password_is_refused(pg_cluster: PgCluster, pg_url: str) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg_cluster.url(password="not-the-password", dbname=dbname_of(pg_url)))


def test_a_role_logs_in_with_its_password_and_create_role_is_idempotent(pg_cluster: PgCluster, pg_url: str) -> None:
    pg_cluster.create_role("rig_reader", "first", in_roles=["pg_read_all_data"])
    pg_cluster.create_role("rig_reader", "second", in_roles=["pg_read_all_data"])
    db = dbname_of(pg_url)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg_cluster.url("rig_reader", "first", db))
    with psycopg.connect(pg_cluster.url("rig_reader", "second", db)) as conn:
        assert conn.execute("SELECT pg_has_role('pg_read_all_data', 'member')").fetchone() == (True,)


def test_kill_backends_disconnects_the_database_s_clients(pg_cluster: PgCluster, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("SELECT 1")
        assert pg_cluster.kill_backends(dbname_of(pg_url)) == 1
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")


def test_restart_keeps_data_and_port(pg_restartable: PgCluster) -> None:
    cluster = pg_restartable
    db = cluster.create_database()
    cluster.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)", dbname=db)
    port, url = cluster.port, cluster.url(dbname=db)
    conn = psycopg.connect(url, autocommit=True)

    cluster.restart()

    assert cluster.running and cluster.port == port
    with pytest.raises(psycopg.OperationalError):  # the connection from before did not survive it
        conn.execute("SELECT 1")
    with psycopg.connect(url) as again:
        assert again.execute("SELECT x FROM kept").fetchall() == [(42,)]


def test_a_stopped_server_refuses_connections_until_started(pg_restartable: PgCluster) -> None:
    cluster = pg_restartable
    cluster.stop()
    assert not cluster.running
    with pytest.raises(psycopg.OperationalError, match="refused"):
        psycopg.connect(cluster.url(), connect_timeout=2)
    cluster.start()
    assert cluster.running
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_cut_silences_the_proxy_and_heal_brings_it_back(
    pg_cluster: PgCluster, pg_url: str, tcp_proxy_to: Callable[..., TcpProxy]
) -> None:
    proxy = tcp_proxy_to(pg_cluster.port)
    url = pg_cluster.url(dbname=dbname_of(pg_url), port=proxy.port)
    conn = psycopg.connect(url, autocommit=True)
    assert conn.execute("SELECT 1").fetchone() == (1,)

    proxy.cut()
    with ThreadPoolExecutor(1) as pool:
        try:
            stalled = pool.submit(lambda: conn.execute("SELECT 2").fetchone())
            with pytest.raises(FutureTimeout):  # no answer, no error: the query waits on the partition
                stalled.result(timeout=0.5)
            with pytest.raises(psycopg.OperationalError, match="timeout"):  # nor does a new connection get in
                psycopg.connect(url, connect_timeout=2)

            proxy.heal()
            # The bytes held during the cut go through, as TCP would deliver them after a short partition.
            assert stalled.result(timeout=5) == (2,)
        finally:
            proxy.reset()  # a failed assertion above must not leave the pool's thread waiting forever
    conn.close()
    with psycopg.connect(url, connect_timeout=5) as fresh:  # healed: a new connection gets in
        assert fresh.execute("SELECT 3").fetchone() == (3,)


def test_reset_gives_the_client_a_connection_error(
    pg_cluster: PgCluster, pg_url: str, tcp_proxy_to: Callable[..., TcpProxy]
) -> None:
    proxy = tcp_proxy_to(pg_cluster.port)
    url = pg_cluster.url(dbname=dbname_of(pg_url), port=proxy.port)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT 1")
        assert proxy.connections == 1

        proxy.reset()

        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        assert conn.broken
    assert proxy.connections == 0
    with psycopg.connect(url, connect_timeout=5) as fresh:  # the proxy itself still serves
        assert fresh.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_missing_postgres_skips_locally_but_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no PostgreSQL server binaries"):
        unavailable("no PostgreSQL server binaries (initdb, pg_ctl, postgres)")
