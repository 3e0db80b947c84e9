"""A backup of a whole registry (either backend) as JSON Lines: `opsconsole registry export`.

Line by line:
- first, a header: {"kind": "opsconsole-registry-export", "format": 1, "registry": where, "exported_at": ...};
- one line per deployment, newest first, active ones included, in the shape of the embedded registry's archive
  lines (core.registry.archive.encode_record: id, environment, status, the deployment and its events);
- one line per environment: {"kind": "environment", "name": ..., "environment": its document (health,
  statistics, current versions, last deployment)};
- one line per side record: {"kind": "record", "table": ..., "key": ..., "record": ...}.

The registry holds references to secrets, never their values, and the location is written without its password.
A file is written beside its final name and renamed into place once complete (and fsynced), so a backup
that exists is whole; an export cut short leaves no file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from core.registry.archive import encode_record
from core.registry.models import TERMINAL_STATUSES
from core.registry.protocol import Registry
from core.registry.registry import RECORD_TABLES
from core.registry.storage import fsync_directory

FORMAT = 1
HEADER_KIND = "opsconsole-registry-export"


@dataclass(slots=True)
class Exported:
    """What an export wrote."""

    deployments: int = 0
    active: int = 0
    events: int = 0
    environments: int = 0
    records: int = 0

    def as_json(self) -> dict[str, int]:
        return {"deployments": self.deployments, "active": self.active, "events": self.events,
                "environments": self.environments, "records": self.records}


def export_lines(registry: Registry, counts: Exported,
                 now: datetime | None = None) -> Iterator[bytes]:
    """Every line of the export, counting into `counts` as it goes."""
    yield _line({"kind": HEADER_KIND, "format": FORMAT, "registry": registry.location,
                 "exported_at": (now or datetime.now(UTC)).isoformat()})
    for deployment, events in _deployments(registry):
        counts.deployments += 1
        counts.active += deployment["status"] not in TERMINAL_STATUSES
        counts.events += len(events)
        yield encode_record(deployment, events)
    for name, doc in sorted(registry.environment_docs().items()):
        counts.environments += 1
        yield _line({"kind": "environment", "name": name, "environment": doc})
    for table in RECORD_TABLES:
        for key, record in sorted(registry.records(table).items()):
            counts.records += 1
            yield _line({"kind": "record", "table": table, "key": key, "record": record})


def write_export(registry: Registry, out: Path | IO[bytes]) -> Exported:
    """Write the export to a file atomically (temp file, fsync, rename), or to an open binary stream."""
    counts = Exported()
    if not isinstance(out, Path):
        for line in export_lines(registry, counts):
            out.write(line)
        out.flush()
        return counts
    fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            for line in export_lines(registry, counts):
                file.write(line)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_directory(out.parent)
    return counts


def _deployments(registry: Registry) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    if registry.shared:  # PostgreSQL: a page of deployments with their events per round trip
        from core.registry.pg.registry import PostgresRegistry
        from core.registry.pg.transfer import deployments_with_events

        if isinstance(registry, PostgresRegistry):
            yield from deployments_with_events(registry)
            return
    for deployment in registry.iter_deployments():
        events = [event.model_dump(mode="json") for event in registry.events(deployment.id)]
        yield deployment.model_dump(mode="json"), events


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"
