"""The team registry on PostgreSQL as its tests meet it: registries opened on a database of the test's own, team
members as LOGIN roles in `opsconsole_<env>` groups (as README's team set-up makes them), and raw SQL as them.

Used by tests/test_registry_pg.py (what the database guarantees) and tests/test_registry_pg_connections.py
(connecting, restarts, live changes and leases).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.types.json import Jsonb

from core.config.registry_location import parse_postgres_url
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


