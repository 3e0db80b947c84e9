"""The team registry on PostgreSQL as a console connects to it: bad URLs and passwords, a server that restarts,
a transaction that fails, changes heard by another console, and the environment lease.

Asynchronous effects (a notification, a lease freed by a terminated session) are awaited with a deadline,
never by sleeping and then asserting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from core.config.registry_location import parse_postgres_url
from core.errors import BadInput, OperationFailed
from core.registry import DeploymentStatus
from core.registry.errors import (
    LeaseLost,
    RegistryRefused,
    RegistrySchemaMismatch,
    RegistryUnreachable,
)
from core.registry.pg.listen import Change, Listener, connected
from core.registry.pg.registry import PostgresRegistry

if TYPE_CHECKING:
    from tests.pg_rig import PgCluster

from tests.pg_registry_rig import dbname_of, draft, row_of, until

# -- bad input -----------------------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_in_one_sentence_without_the_password(
    pg_cluster: PgCluster, pg_url: str, opened: Callable[..., PostgresRegistry]
) -> None:
    secret = "not-the-password-7d1f"
    with pytest.raises(RegistryRefused) as refused:
        opened(pg_cluster.url(password=secret, dbname=dbname_of(pg_url)))
    message = str(refused.value)
    assert isinstance(refused.value, BadInput) and refused.value.exit_code == 2
    assert "password for postgres is wrong" in message
    assert secret not in message and "\n" not in message


def test_an_unknown_database_is_refused(pg_cluster: PgCluster, opened: Callable[..., PostgresRegistry]) -> None:
    with pytest.raises(RegistryRefused, match="there is no database 'no_such_registry'"):
        opened(pg_cluster.url(dbname="no_such_registry"))


def test_nothing_listening_is_unreachable_within_seconds(opened: Callable[..., PostgresRegistry]) -> None:
    from tests.pg_rig import free_port

    url = f"postgresql://postgres:pw@127.0.0.1:{free_port()}/opsconsole"
    with ThreadPoolExecutor(1) as pool:
        attempt = pool.submit(opened, url, connect_timeout=2)
        with pytest.raises(RegistryUnreachable, match="cannot be reached") as caught:
            attempt.result(timeout=30)  # a guard against a hang, not a measurement
    assert isinstance(caught.value, OperationFailed) and caught.value.exit_code == 1
    assert ":pw@" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("postgresql://alice@localhost:99999/opsconsole", "malformed"),
        ("postgresql://alice@localhost/", "names no database"),
        ("mysql://alice@localhost/opsconsole", "scheme 'mysql'"),
        ("postgresql://alice@localhost/opsconsole?colour=blue", "unknown parameter 'colour'"),
    ],
)
def test_a_malformed_url_is_bad_input(url: str, named: str) -> None:
    with pytest.raises(BadInput, match=named):
        parse_postgres_url(url)


def test_a_database_migrated_by_a_newer_opsconsole_is_refused(
    pg_cluster: PgCluster, pg_url: str, registry: PostgresRegistry, opened: Callable[..., PostgresRegistry]
) -> None:
    pg_cluster.execute("INSERT INTO opsconsole._yoyo_migration (migration_hash, migration_id, applied_at_utc) "
                       "VALUES ('from-the-future', '9999_future', now())", dbname=dbname_of(pg_url))
    with pytest.raises(RegistrySchemaMismatch, match="newer") as refused:
        opened(pg_url)
    assert isinstance(refused.value, BadInput) and "9999_future" in str(refused.value)


# -- a restarted server, a failed transaction -----------------------------------------------------------------


def test_the_registry_carries_on_after_the_server_restarts(
    pg_restartable: PgCluster, opened: Callable[..., PostgresRegistry]
) -> None:
    registry = opened(pg_restartable.url(dbname=pg_restartable.create_database("registry")))
    ident = registry.register_deployment(draft())
    registry.append_event(ident, "intent", "create revision", actor="engine")

    pg_restartable.restart()

    registry.update_deployment(ident, status="in_progress")
    registry.append_event(ident, "done", "create revision", actor="engine")
    assert [e.seq for e in registry.events(ident)] == [1, 2]
    assert [d.id for d in registry.list_deployments()] == [ident]
    assert registry.get_environment_state("production").statistics["total"] == 1


def _environment_doc(pg_cluster: PgCluster, pg_url: str) -> Any:
    return pg_cluster.execute("SELECT doc, updated_by FROM opsconsole.environments WHERE name = 'production'",
                              dbname=dbname_of(pg_url))


def test_an_update_that_fails_leaves_the_deployment_and_the_statistics_as_they_were(
    pg_cluster: PgCluster, pg_url: str, registry: PostgresRegistry
) -> None:
    ident = registry.register_deployment(draft())
    registry.update_deployment(ident, status="in_progress")
    row, env = row_of(pg_cluster, pg_url, ident), _environment_doc(pg_cluster, pg_url)

    with pytest.raises(BadInput, match="'exploded' is not one of"):
        registry.update_deployment(ident, status="exploded")
    assert (row_of(pg_cluster, pg_url, ident), _environment_doc(pg_cluster, pg_url)) == (row, env)

    # A statement failing after the deployment's UPDATE went through (the statistics' write, refused by a
    # trigger put there for this test): the whole transaction goes, the UPDATE with it.
    pg_cluster.execute(
        "CREATE FUNCTION opsconsole.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'refused for the test'; END $$", dbname=dbname_of(pg_url))
    pg_cluster.execute("CREATE TRIGGER refuse BEFORE UPDATE ON opsconsole.environments FOR EACH ROW "
                       "WHEN ((NEW.doc->'statistics'->>'paused')::int > 0) EXECUTE FUNCTION opsconsole.refuse()",
                       dbname=dbname_of(pg_url))
    with pytest.raises(psycopg.Error, match="refused for the test"):
        registry.update_deployment(ident, status="paused", metadata={"why": "operator asked"})
    assert (row_of(pg_cluster, pg_url, ident), _environment_doc(pg_cluster, pg_url)) == (row, env)
    found = registry.get_deployment(ident)
    assert found is not None and found.status == DeploymentStatus.IN_PROGRESS and "why" not in found.metadata


# -- live: LISTEN/NOTIFY and who is connected -------------------------------------------------------------------


def test_a_change_through_one_console_is_heard_by_another(
    pg_url: str, opened: Callable[..., PostgresRegistry]
) -> None:
    a, b = opened(pg_url, operator="ann"), opened(pg_url, operator="ben")
    heard: list[Change] = []
    arrived = threading.Event()

    def on_change(change: Change) -> None:  # may run before register_deployment returns: it is heard on commit
        heard.append(change)
        if change.table == "deployments":
            arrived.set()

    listener = Listener(b, on_change, operator="ben").start()
    try:
        assert listener.connected.wait(10), "the listener never connected"
        ident = a.register_deployment(draft(actor="ann"))
        assert arrived.wait(10), f"no notification of {ident}; heard {heard}"
        [change] = [c for c in heard if c.table == "deployments"]
        assert (change.deployment, change.environment, change.kind, change.by) == (
            ident, "production", "pending", "postgres")

        present = connected(b)
        operators = {p.operator.split("@")[0] for p in present}
        assert {"ann", "ben"} <= operators, present
        assert any(p.role == "watch" and p.operator.startswith("ben@") for p in present)
    finally:
        listener.stop()


# -- leases ---------------------------------------------------------------------------------------------------------


def test_one_console_drives_an_environment_and_a_dead_session_frees_it(
    pg_cluster: PgCluster, pg_url: str, opened: Callable[..., PostgresRegistry]
) -> None:
    a, b = opened(pg_url, operator="ann"), opened(pg_url, operator="ben")
    ident = a.register_deployment(draft(actor="ann"))
    lease_a, lease_b = a.lease("production", "ann"), b.lease("production", "ben")
    try:
        assert lease_a.try_acquire()
        a.append_event(ident, "intent", "create revision", actor="ann")
        assert not lease_b.try_acquire()
        owner = lease_b.owner()
        assert owner is not None and owner.operator.startswith("ann")

        terminated = pg_cluster.execute("SELECT pg_terminate_backend(backend_pid, 5000) FROM opsconsole.leases",
                                        dbname=dbname_of(pg_url))
        assert terminated == [(True,)]
        until(lease_b.try_acquire, what="ben taking over production after ann's lease session ended")
        assert lease_b.generation == (lease_a.generation or 0) + 1

        with pytest.raises(LeaseLost, match="ben") as lost:
            a.append_event(ident, "intent", "shift traffic", actor="ann")
        assert isinstance(lost.value, OperationFailed)
        assert [e.seq for e in a.events(ident)] == [1]
        assert b.append_event(ident, "intent", "shift traffic", actor="ben").seq == 2  # the new driver writes
    finally:
        lease_b.release()
        lease_a.release()


def test_a_released_lease_is_taken_with_the_next_generation(
    pg_url: str, opened: Callable[..., PostgresRegistry]
) -> None:
    a, b = opened(pg_url, operator="ann"), opened(pg_url, operator="ben")
    lease_a, lease_b = a.lease("production", "ann"), b.lease("production", "ben")
    try:
        assert lease_a.try_acquire()
        taken = lease_a.generation
        assert taken is not None
        lease_a.release()
        assert lease_b.owner() is None
        assert lease_b.try_acquire()
        assert lease_b.generation == taken + 1
        assert lease_a.try_acquire() is False
    finally:
        lease_b.release()
        lease_a.release()

