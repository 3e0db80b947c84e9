"""What the team registry on PostgreSQL guarantees because the database holds it, not the Python code.

Where it matters, a test goes around core/registry/pg/registry.py with raw SQL as a team member's own role
(a LOGIN role in an `opsconsole_<env>` group, as README's team set-up makes them): what such a console could
send, the database must still refuse. The roles are the cluster's (shared by the tests of one xdist worker)
and made idempotently; every test works in a database of its own (tests/pg_fixtures.py).

Asynchronous effects (a notification, a lease freed by a terminated session) are awaited with a deadline,
never by sleeping and then asserting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.types.json import Jsonb

from core.config.registry_location import parse_postgres_url
from core.errors import BadInput, OperationFailed
from core.registry import DeploymentFinished, DeploymentStatus
from core.registry.errors import (
    EnvironmentOccupied,
    LeaseLost,
    RegistryRefused,
    RegistrySchemaMismatch,
    RegistryUnreachable,
)
from core.registry.pg.listen import Change, Listener, connected
from core.registry.pg.registry import PostgresRegistry

if TYPE_CHECKING:
    from tests.pg_rig import PgCluster

PASSWORD = "team-member-password"  # a throwaway cluster's
GROUPS = {"alice": "opsconsole_production", "bob": "opsconsole_production", "carol": "opsconsole_dev"}


def draft(environment: str = "production", actor: str = "alice", **more: Any) -> dict[str, Any]:
    return {"environment": environment, "versions": {"websocket-server": "1.4.0"}, "strategy": "canary",
            "actor": actor, **more}


def dbname_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def until(condition: Callable[[], bool], *, within: float = 10.0, what: str = "the condition") -> None:
    """Poll `condition` until it holds; fail (naming `what`) when it has not by the deadline."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {within} s")
        time.sleep(0.05)


@pytest.fixture
def opened() -> Iterator[Callable[..., PostgresRegistry]]:
    """`opened(url, operator=...)`: a PostgresRegistry, closed after the test."""
    registries: list[PostgresRegistry] = []

    def make(url: str, *, operator: str = "opsconsole", **kwargs: Any) -> PostgresRegistry:
        registry = PostgresRegistry(parse_postgres_url(url), operator=operator, **kwargs)
        registries.append(registry)
        return registry

    yield make
    for registry in registries:
        registry.close()


@pytest.fixture
def registry(pg_url: str, opened: Callable[..., PostgresRegistry]) -> PostgresRegistry:
    """The registry as the schema's owner (the superuser): it creates the schema and the group roles."""
    return opened(pg_url)


@pytest.fixture
def team(pg_cluster: PgCluster, pg_url: str, registry: PostgresRegistry,
         opened: Callable[..., PostgresRegistry]) -> Callable[[str], PostgresRegistry]:
    """`team(name)`: the registry as that team member's own LOGIN role (alice, bob: production; carol: dev).

    The roles are made after the owner opened the registry, since its migration creates the group roles.
    """
    db = dbname_of(pg_url)
    for name, group in GROUPS.items():
        pg_cluster.create_role(name, PASSWORD, in_roles=(group,))

    def member(name: str) -> PostgresRegistry:
        return opened(pg_cluster.url(user=name, password=PASSWORD, dbname=db), operator=name)

    return member


@pytest.fixture
def as_role(pg_cluster: PgCluster, pg_url: str, registry: PostgresRegistry) -> Iterator[Callable[[str], Any]]:
    """`as_role(name)`: a raw autocommit connection to the test's database as a team member, around the code."""
    db = dbname_of(pg_url)
    conns: list[psycopg.Connection[Any]] = []

    def connect(name: str) -> psycopg.Connection[Any]:
        pg_cluster.create_role(name, PASSWORD, in_roles=(GROUPS[name],))
        conn = psycopg.connect(pg_cluster.url(user=name, password=PASSWORD, dbname=db), autocommit=True)
        conn.execute("SET search_path TO opsconsole")
        conns.append(conn)
        return conn

    yield connect
    for conn in conns:
        conn.close()


def raw_deployment(ident: str, environment: str = "production", status: str = "pending") -> tuple[Any, ...]:
    return (ident, environment, status, "2026-01-01T00:00:00Z",
            Jsonb({"id": ident, "environment": environment, "status": status}))


RAW_INSERT = ("INSERT INTO deployments (id, environment, status, started_at, doc) VALUES (%s, %s, %s, %s, %s)")


def raw_event(conn: psycopg.Connection[Any], ident: str, seq: int, environment: str = "production") -> None:
    conn.execute("INSERT INTO events (deployment_id, environment, seq, at, doc) VALUES (%s, %s, %s, now(), %s)",
                 (ident, environment, seq, Jsonb({"deployment_id": ident, "seq": seq, "at": "2026-01-01T00:00:00Z",
                                                  "kind": "note", "action": "by hand", "actor": "alice",
                                                  "detail": {}})))


def row_of(pg_cluster: PgCluster, pg_url: str, ident: str) -> tuple[Any, ...]:
    rows = pg_cluster.execute("SELECT status, doc, created_by, updated_by, approved_by FROM opsconsole.deployments "
                              "WHERE id = %s", [ident], dbname=dbname_of(pg_url))
    assert len(rows) == 1
    return rows[0]


# -- one active deployment per environment ---------------------------------------------------------------


def test_a_second_active_deployment_is_refused_by_the_database_even_by_raw_insert(
    registry: PostgresRegistry, as_role: Callable[[str], psycopg.Connection[Any]]
) -> None:
    first = registry.register_deployment(draft())
    alice = as_role("alice")
    with pytest.raises(psycopg.errors.UniqueViolation, match="one_active_deployment_per_environment"):
        alice.execute(RAW_INSERT, raw_deployment("d-20260101-000000-000-abcdef"))
    # A finished one beside it is fine: the rule is about active deployments only.
    alice.execute(RAW_INSERT, raw_deployment("d-20260101-000000-000-abcdee", status="failed"))
    assert [d.id for d in registry.active_deployments()] == [first]


def test_two_consoles_racing_to_register_in_one_environment_one_wins(
    pg_url: str, registry: PostgresRegistry, opened: Callable[..., PostgresRegistry]
) -> None:
    consoles = {"alice": opened(pg_url, operator="alice"), "bob": opened(pg_url, operator="bob")}
    start = threading.Barrier(len(consoles))

    def register(actor: str) -> str | EnvironmentOccupied:
        start.wait(timeout=10)
        try:
            return consoles[actor].register_deployment(draft(actor=actor))
        except EnvironmentOccupied as lost:
            return lost

    with ThreadPoolExecutor(len(consoles)) as pool:
        results = dict(zip(consoles, pool.map(register, consoles), strict=True))
    won = {actor: r for actor, r in results.items() if isinstance(r, str)}
    lost = {actor: r for actor, r in results.items() if isinstance(r, EnvironmentOccupied)}
    assert len(won) == 1 and len(lost) == 1, results
    [(winner, ident)], [error] = won.items(), lost.values()
    assert error.holder == ident and error.environment == "production"
    assert f"deployment {ident} in progress, started by {winner}" in str(error)
    assert [d.id for d in registry.active_deployments()] == [ident]
    assert registry.get_environment_state("production").statistics["total"] == 1  # the loser counted nothing


# -- events -----------------------------------------------------------------------------------------------


def test_raw_events_with_a_gap_or_a_repeat_are_refused(
    registry: PostgresRegistry, as_role: Callable[[str], psycopg.Connection[Any]]
) -> None:
    ident = registry.register_deployment(draft())
    registry.append_event(ident, "intent", "create revision", actor="engine")
    alice = as_role("alice")
    with pytest.raises(psycopg.errors.CheckViolation, match="would leave a gap or repeat"):
        raw_event(alice, ident, 3)
    with pytest.raises(psycopg.errors.CheckViolation, match="would leave a gap or repeat"):
        raw_event(alice, ident, 1)
    raw_event(alice, ident, 2)  # the next one in order is what the database takes
    assert [e.seq for e in registry.events(ident)] == [1, 2]
    assert registry.append_event(ident, "done", "create revision", actor="engine").seq == 3


def test_an_event_for_a_finished_deployment_is_refused(
    registry: PostgresRegistry, as_role: Callable[[str], psycopg.Connection[Any]]
) -> None:
    ident = registry.register_deployment(draft())
    registry.append_event(ident, "intent", "shift traffic", actor="engine")
    registry.update_deployment(ident, status="succeeded")
    with pytest.raises(DeploymentFinished, match="event log is closed"):
        registry.append_event(ident, "note", "late", actor="bob")
    with pytest.raises(psycopg.errors.CheckViolation, match="has finished: its event log is closed"):
        raw_event(as_role("alice"), ident, 2)
    assert [e.seq for e in registry.events(ident)] == [1]


def test_events_are_never_changed(
    pg_cluster: PgCluster, pg_url: str, registry: PostgresRegistry,
    as_role: Callable[[str], psycopg.Connection[Any]],
) -> None:
    ident = registry.register_deployment(draft())
    event = registry.append_event(ident, "intent", "shift traffic", actor="engine")
    change = "UPDATE opsconsole.events SET doc = jsonb_set(doc, '{action}', '\"nothing\"') WHERE deployment_id = %s"
    alice = as_role("alice")  # a member may not even try: no UPDATE or DELETE on events
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        alice.execute(change, (ident,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        alice.execute("DELETE FROM events WHERE deployment_id = %s", (ident,))
    # The schema's owner, whom grants do not stop, is stopped by the trigger.
    with pytest.raises(psycopg.errors.CheckViolation, match="never changed"):
        pg_cluster.execute(change, [ident], dbname=dbname_of(pg_url))
    assert registry.events(ident) == [event]


def test_a_malformed_row_written_around_the_code_is_reported_as_damaged(
    registry: PostgresRegistry, as_role: Callable[[str], psycopg.Connection[Any]]
) -> None:
    as_role("alice").execute(RAW_INSERT, raw_deployment("d-20260101-000000-000-abcdef", status="failed"))
    with pytest.raises(OperationFailed, match="d-20260101-000000-000-abcdef"):
        registry.list_deployments()


# -- who did it: the server's current_user, never the console's word -------------------------------------


def test_created_by_cannot_be_forged(
    pg_cluster: PgCluster, pg_url: str, registry: PostgresRegistry,
    as_role: Callable[[str], psycopg.Connection[Any]],
) -> None:
    alice = as_role("alice")
    ident = "d-20260101-000000-000-abcdef"
    alice.execute("INSERT INTO deployments (id, environment, status, started_at, doc, created_by, updated_by, "
                  "approved_by) VALUES (%s, %s, %s, %s, %s, 'someone-else', 'someone-else', 'someone-else')",
                  raw_deployment(ident))
    assert row_of(pg_cluster, pg_url, ident)[2:] == ("alice", "alice", None)
    alice.execute("UPDATE deployments SET created_by = 'someone-else', updated_by = 'someone-else' WHERE id = %s",
                  (ident,))
    assert row_of(pg_cluster, pg_url, ident)[2:4] == ("alice", "alice")


def test_approved_by_cannot_be_forged(
    pg_cluster: PgCluster, pg_url: str, registry: PostgresRegistry,
    as_role: Callable[[str], psycopg.Connection[Any]],
) -> None:
    ident = registry.register_deployment(draft())
    as_role("alice").execute("UPDATE deployments SET approved_by = 'bob' WHERE id = %s", (ident,))
    assert row_of(pg_cluster, pg_url, ident)[4] is None


# -- four eyes ----------------------------------------------------------------------------------------------


def approval(actor: str) -> dict[str, Any]:
    """metadata["rollout"] as core.model.rollout.Rollout.dump() writes it; the trigger reads only `approval`."""
    return {"rollout": {"stage": 0, "weight": 0, "paused": False, "approved_through": -1,
                        "approval": {"actor": actor, "at": "2026-01-01T00:00:00+00:00"}}}


def test_production_needs_a_second_person_to_approve(
    pg_cluster: PgCluster, pg_url: str, team: Callable[[str], PostgresRegistry]
) -> None:
    alice, bob = team("alice"), team("bob")
    ident = alice.register_deployment(draft(actor="alice"))
    assert row_of(pg_cluster, pg_url, ident)[2] == "alice"

    with pytest.raises(OperationFailed) as refused:
        alice.update_deployment(ident, metadata=approval("alice"))
    message = str(refused.value)
    assert "production" in message and "alice" in message and "\n" not in message
    assert message.count(". ") == 0, message  # one sentence
    found = alice.get_deployment(ident)
    assert found is not None and "rollout" not in found.metadata
    assert row_of(pg_cluster, pg_url, ident)[4] is None

    approved = bob.update_deployment(ident, metadata=approval("bob"))
    assert approved.metadata == approval("bob")
    assert row_of(pg_cluster, pg_url, ident)[2:] == ("alice", "bob", "bob")


def test_the_creator_may_approve_where_no_policy_asks_for_two(
    pg_cluster: PgCluster, pg_url: str, registry: PostgresRegistry
) -> None:
    ident = registry.register_deployment(draft(environment="staging", actor="postgres"))
    registry.update_deployment(ident, metadata=approval("postgres"))
    assert row_of(pg_cluster, pg_url, ident)[2:] == ("postgres", "postgres", "postgres")


# -- row-level security -------------------------------------------------------------------------------------


def test_a_member_of_dev_only_reads_production_but_cannot_change_it(
    team: Callable[[str], PostgresRegistry]
) -> None:
    alice, carol = team("alice"), team("carol")
    production = alice.register_deployment(draft(actor="alice"))
    alice.append_event(production, "intent", "create revision", actor="alice")

    seen = carol.get_deployment(production)
    assert seen is not None and seen.status == DeploymentStatus.PENDING
    assert [e.seq for e in carol.events(production)] == [1]
    assert [d.id for d in carol.active_deployments()] == [production]

    with pytest.raises(OperationFailed, match="opsconsole_production") as refused:
        carol.update_deployment(production, status="in_progress")
    assert not isinstance(refused.value, BadInput)
    with pytest.raises(OperationFailed, match="opsconsole_production") as refused:
        carol.append_event(production, "note", "carol was here", actor="carol")
    assert not isinstance(refused.value, BadInput)
    after = alice.get_deployment(production)
    assert after is not None and after.status == DeploymentStatus.PENDING
    assert [e.seq for e in alice.events(production)] == [1]

    dev = carol.register_deployment(draft(environment="dev", actor="carol"))
    assert carol.update_deployment(dev, status="in_progress").status == DeploymentStatus.IN_PROGRESS
    assert carol.append_event(dev, "intent", "create revision", actor="carol").seq == 1


def test_a_member_of_dev_only_cannot_register_in_production(team: Callable[[str], PostgresRegistry]) -> None:
    carol = team("carol")
    with pytest.raises(OperationFailed, match="opsconsole_production"):
        carol.register_deployment(draft(actor="carol"))
    with pytest.raises(OperationFailed, match="opsconsole_production"):
        carol.set_health("production", "degraded")
    assert carol.list_deployments() == []


def test_a_team_member_opens_the_registry_with_only_the_readme_grants(
    pg_cluster: PgCluster, pg_url: str, registry: PostgresRegistry, opened: Callable[..., PostgresRegistry]
) -> None:
    pg_cluster.create_role("alice", PASSWORD, in_roles=("opsconsole_production",))  # README: GRANT ... TO alice
    alice = opened(pg_cluster.url(user="alice", password=PASSWORD, dbname=dbname_of(pg_url)), operator="alice")
    assert alice.identity == "alice"


# -- identity -------------------------------------------------------------------------------------------------


def test_identity_is_the_database_user_and_the_registry_is_shared(
    registry: PostgresRegistry, team: Callable[[str], PostgresRegistry]
) -> None:
    assert (registry.identity, registry.shared, registry.owner) == ("postgres", True, True)
    bob = team("bob")
    assert (bob.identity, bob.shared, bob.owner) == ("bob", True, False)
    assert "password" not in bob.location.lower() and PASSWORD not in bob.location


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
