"""What the team registry on PostgreSQL guarantees because the database holds it, not the Python code.

Where it matters, a test goes around core/registry/pg/registry.py with raw SQL as a team member's own role
(tests/pg_registry_rig.py): what such a console could send, the database must still refuse. Every test works
in a database of its own (tests/pg_fixtures.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from core.errors import BadInput, OperationFailed
from core.registry import DeploymentFinished, DeploymentStatus
from core.registry.errors import (
    EnvironmentOccupied,
)
from core.registry.pg.registry import PostgresRegistry

if TYPE_CHECKING:
    from tests.pg_rig import PgCluster

from tests.pg_registry_rig import PASSWORD, RAW_INSERT, dbname_of, draft, raw_deployment, raw_event, row_of

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


def test_a_cancelled_deployment_is_finished_for_the_database_too(
    registry: PostgresRegistry, as_role: Callable[[str], psycopg.Connection[Any]]
) -> None:
    # 0007 widened the status check and recomputed `finished`: a cancelled deployment frees its environment.
    first = registry.register_deployment(draft())
    registry.update_deployment(first, status=DeploymentStatus.CANCELLED)
    second = registry.register_deployment(draft())
    assert [d.id for d in registry.active_deployments()] == [second]
    with pytest.raises(psycopg.errors.CheckViolation, match="deployments_status_check"):
        as_role("alice").execute(RAW_INSERT, raw_deployment("d-20260101-000000-000-abcdee", status="called off"))


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


