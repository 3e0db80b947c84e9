"""Connections to the team's registry: psycopg 3, through libpq or the Cloud SQL Python Connector.

Every connection of the registry sets the same things: the search path to the registry's schema, an
`application_name` saying who and what it is (other consoles read it from `pg_stat_activity` to show who is
connected), and TCP keepalives with a user timeout so a cut network is noticed in seconds, not in the
kernel's two hours.

A URL with `cloudsql_instance=PROJECT:REGION:INSTANCE` connects through the Cloud SQL Python Connector, which
supports psycopg 3 since 1.22.0 (GoogleCloudPlatform/cloud-sql-python-connector#1452: a local Unix socket
forwarded over the connector's mTLS channel), with IAM database authentication: the database user is the
person's Google identity and no password exists (https://cloud.google.com/sql/docs/postgres/iam-authentication).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from core.config.registry_location import PostgresLocation
from core.registry.errors import RegistryRefused, RegistryUnreachable

SCHEMA = "opsconsole"
# libpq: keepalives after 5 s idle, every 2 s, 3 lost = dead; an unacknowledged write fails after 8 s.
NETWORK = {"keepalives": "1", "keepalives_idle": "5", "keepalives_interval": "2", "keepalives_count": "3",
           "tcp_user_timeout": "8000"}

_connectors: dict[str, Any] = {}
_connectors_lock = threading.Lock()


def application_name(operator: str, role: str) -> str:
    """`opsconsole <role> <operator>@<host> <pid>`: what `pg_stat_activity` shows other consoles (63 bytes max)."""
    return f"opsconsole {role} {operator}@{socket.gethostname()} {os.getpid()}"[:63]


def connection_kwargs(location: PostgresLocation, *, app: str, connect_timeout: float) -> dict[str, Any]:
    params: dict[str, Any] = {**NETWORK, **location.conninfo_params()}
    params.setdefault("connect_timeout", str(max(1, round(connect_timeout))))
    params["application_name"] = app
    return params


def connect(location: PostgresLocation, *, app: str, connect_timeout: float = 5.0,
            autocommit: bool = False) -> psycopg.Connection[Any]:
    """One connection with the registry's settings; RegistryRefused / RegistryUnreachable in one sentence."""
    try:
        if location.cloudsql_instance:
            conn = _cloudsql(location, app)
            conn.autocommit = autocommit
        else:
            conn = psycopg.connect(location.url, autocommit=autocommit,
                                   **connection_kwargs(location, app=app, connect_timeout=connect_timeout))
    except psycopg.OperationalError as error:
        raise classify(location, error) from None
    prepare(conn)
    return conn


def factory(location: PostgresLocation, *, app: str, connect_timeout: float) -> Callable[[], psycopg.Connection[Any]]:
    return lambda: connect(location, app=app, connect_timeout=connect_timeout)


def prepare(conn: psycopg.Connection[Any]) -> None:
    """The registry's schema first on the search path (public after it, where yoyo's tables are not)."""
    autocommit = conn.autocommit
    conn.autocommit = True
    conn.execute(f"SET search_path TO {SCHEMA}")
    conn.autocommit = autocommit


def _cloudsql(location: PostgresLocation, app: str) -> psycopg.Connection[Any]:
    from google.cloud.sql.connector import Connector, IPTypes  # only for a URL that names an instance

    instance = location.cloudsql_instance
    assert instance is not None
    with _connectors_lock:
        connector = _connectors.get(instance)
        if connector is None:
            connector = _connectors[instance] = Connector(refresh_strategy="lazy")
    conn: psycopg.Connection[Any] = connector.connect(
        instance, "psycopg", user=location.user, db=location.dbname, enable_iam_auth=True, ip_type=IPTypes.PRIVATE,
        application_name=app, **NETWORK,
    )
    return conn


def classify(location: PostgresLocation, error: psycopg.OperationalError) -> Exception:
    """A connection failure as the operator needs it: their mistake (exit 2) or the network's (exit 1)."""
    text = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
    where = location.redacted()
    lowered = str(error).lower()
    if "password authentication failed" in lowered:
        return RegistryRefused(where, f"the password for {location.user or 'the user'} is wrong")
    if "no password supplied" in lowered:
        return RegistryRefused(where, f"it asks a password for {location.user or 'the user'} and the URL has none "
                                      "(use ~/.pgpass or PGPASSWORD rather than the URL)")
    if "role" in lowered and "does not exist" in lowered:
        return RegistryRefused(where, f"there is no database user {location.user!r}")
    if "database" in lowered and "does not exist" in lowered:
        return RegistryRefused(where, f"there is no database {location.dbname!r}")
    if "permission denied" in lowered or "pg_hba.conf" in lowered:
        return RegistryRefused(where, text)
    return RegistryUnreachable(where, text)
