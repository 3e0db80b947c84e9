"""Open the registry a location names: a file path is the embedded TinyDB registry, a postgresql:// URL the team's.

The PostgreSQL backend (and psycopg) is imported only when a URL asks for it.
"""

from __future__ import annotations

from pathlib import Path

from core.config.registry_location import PostgresLocation, registry_location
from core.registry.protocol import Registry


def open_registry(location: str | Path | PostgresLocation, *, operator: str = "opsconsole") -> Registry:
    where = location if isinstance(location, PostgresLocation) else registry_location(location)
    if isinstance(where, PostgresLocation):
        from core.registry.pg.registry import PostgresRegistry

        return PostgresRegistry(where, operator=operator)
    from core.registry.registry import DeploymentRegistry

    return DeploymentRegistry(where)
