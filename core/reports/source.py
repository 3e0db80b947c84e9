"""The report's read path: finished deployments from the monthly archive files (through a month cache), active
ones from the hot file, as Rows (core.reports.row) sorted by id.

Why not `DeploymentRegistry.iter_deployments`: it validates every record into a pydantic model, which at
100 000 deployments costs seconds; archive lines were validated when they were written, and
core.reports.lines decodes only the fields the report uses.

Parsed rows are cached per month in ``<registry stem>-report-cache/YYYY-MM.rows`` beside the registry
file, with the month file's inode and the byte offset they cover: archive files are append-only, so a
later report parses only what was appended since (a whole month again if the file was replaced or cut).
The cache is derived data: deleting it costs one slower report; failing to write it is ignored. It is
written with `marshal`, a column per Row field (plain lists of strings and numbers, loaded four times
faster than JSON; marshal never runs code, and a damaged or foreign file only fails to load and is parsed
again). A read-only report (`read_only=True`: a read-only console) reads the cache that is there but never
writes one, nor anything else.
"""

from __future__ import annotations

import bisect
import gc
import marshal
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from operator import attrgetter, eq
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.registry import DeploymentRegistry, Registry
from core.registry.archive import MonthlyArchive
from core.registry.ids import month_key, time_key
from core.reports.row import Row, row_of

if TYPE_CHECKING:
    from core.reports.lines import Columns

CACHE_KEY = (2, marshal.version, sys.version_info[:2])  # a new layout or Python parses the archive again
_ID = attrgetter("id")


class MonthCache:
    """Rows of archive months, kept beside the registry (marshal) and extended by what was appended since.

    With `write=False` the cache is only read: a month it lacks (or that grew) is parsed and not stored.
    """

    def __init__(self, registry_path: Path, *, write: bool = True) -> None:
        self.directory = registry_path.with_name(f"{registry_path.stem}-report-cache")
        self.write = write

    def rows(self, archive: MonthlyArchive, month: str) -> list[Row]:
        path = archive.path_for(month)
        try:
            with path.open("rb") as handle:
                status = os.fstat(handle.fileno())
                cached = self._load(month, status.st_ino)
                if cached is not None and cached[0] > status.st_size:
                    cached = None  # cut in place (a torn tail truncated, an edit): what it covered changed
                offset, columns = cached if cached is not None else (0, None)
                handle.seek(offset)
                tail = handle.read()
        except FileNotFoundError:
            return []
        complete = tail[: tail.rfind(b"\n") + 1]  # a torn tail has no newline: never acknowledged
        from core.reports.lines import parse_columns, rows_of  # msgspec: loaded by the first report, not at start

        if complete or columns is None:
            added = parse_columns(complete, path)
            columns = added if columns is None else [held + new for held, new in zip(columns, added, strict=True)]
            if self.write:
                self._store(month, status.st_ino, offset + len(complete), columns)
        return rows_of(columns)

    def _load(self, month: str, inode: int) -> tuple[int, Columns] | None:
        try:
            key, held_inode, offset, columns = marshal.loads((self.directory / f"{month}.rows").read_bytes())
            if key != CACHE_KEY or held_inode != inode or type(offset) is not int or offset < 0 \
                    or type(columns) is not list or len(columns) != len(Row._fields) \
                    or len({len(column) for column in columns}) > 1 or not _typed(columns):
                return None
            return offset, columns
        except (OSError, ValueError, EOFError, TypeError):
            return None  # absent, damaged or from another version: parse the month again

    def _store(self, month: str, inode: int, offset: int, columns: Columns) -> None:
        payload = marshal.dumps((CACHE_KEY, inode, offset, columns))
        target = self.directory / f"{month}.rows"
        temp = target.with_suffix(f".tmp-{os.getpid()}")
        try:
            self.directory.mkdir(exist_ok=True)
            temp.write_bytes(payload)
            os.replace(temp, target)
        except OSError:
            temp.unlink(missing_ok=True)  # a data directory we may not write: report without a cache


_NUMBER: frozenset[type] = frozenset({float})
_TEXT: frozenset[type] = frozenset({str})
_NONE: frozenset[type] = frozenset({type(None)})
# What each Row column may hold, as parse_columns makes it (a cause is whatever JSON value a line recorded).
_COLUMN_TYPES: tuple[frozenset[type], ...] = (
    _TEXT, _TEXT, _TEXT, _TEXT, _NUMBER, _NUMBER | _NONE, _TEXT, _TEXT | _NONE | {int, float, bool, list, dict},
    frozenset({tuple}), frozenset({bool}), _NUMBER | _NONE)


def _typed(columns: list[Any]) -> bool:
    """Whether every cached column is a list of what that Row field holds (a damaged cache is parsed again)."""
    if not all(type(column) is list for column in columns):
        return False
    if not all(set(map(type, column)) <= allowed for column, allowed in zip(columns, _COLUMN_TYPES, strict=True)):
        return False
    return all(type(stamp) is float for times in columns[8] for stamp in times)


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a hundred thousand rows are built (and, in generate_report, used).

    Rows are tuples of strings and numbers and cannot form cycles, but allocating that many makes the
    collector walk every row already built, again and again: without this, reading a year of 100 000
    deployments spends most of its time in the collector. Reference counting still frees everything. The
    pause is process-wide, so it lasts one report (under a second at 100 000 deployments), never longer.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_rows(registry: Registry, start: datetime, end: datetime, environment: str | None, *,
              cache: bool = True, read_only: bool = False) -> list[Row]:
    """Deployments with start <= started_at < end (to the ms, like the registry's listing), oldest first.

    `cache=False` neither reads nor writes the month cache; `read_only=True` reads it and writes nothing.
    """
    if not isinstance(registry, DeploymentRegistry):
        from core.reports.pg_rows import rows_of_registry  # the shared registry: the database selects the fields

        with no_cyclic_gc():  # 100 000 decoded rows would set the collector off again and again
            return rows_of_registry(registry, start, end, environment)
    with no_cyclic_gc():
        return _read_rows(registry, start, end, environment, cache, read_only)


def _read_rows(registry: DeploymentRegistry, start: datetime, end: datetime, environment: str | None,
               cache: bool, read_only: bool) -> list[Row]:
    low, high = time_key(start), time_key(end)
    first, last = month_key(start), month_key(end)
    # First, so that a damaged registry is refused before any month is read or a cache written beside it.
    running = registry.active_deployments()
    archive = MonthlyArchive(registry.archive_dir)
    months = MonthCache(registry.path, write=not read_only)
    rows: list[Row] = []
    for month in archive.months():
        if first <= month <= last:
            found = months.rows(archive, month) if cache else _uncached(archive, month)
            if environment is not None:
                found = [r for r in found if r.environment == environment]
            if found and not (low <= min(map(_ID, found)) and max(map(_ID, found)) < high):
                found = [r for r in found if low <= r.id < high]  # a month the range only partly covers
            rows += found
    rows.sort(key=_ID)  # each month file is in finishing order, nearly sorted already
    ids = list(map(_ID, rows))
    if any(map(eq, ids, islice(ids, 1, None))):  # an id archived twice: the line read last wins
        rows = list({r.id: r for r in rows}.values())
        ids = list(map(_ID, rows))
    active = [row_of(d.model_dump(mode="json")) for d in running
              if low <= d.id < high and environment in (None, d.environment) and not _holds(ids, d.id)]
    return sorted(rows + active, key=_ID) if active else rows


def _holds(ids: list[str], ident: str) -> bool:
    """Whether sorted `ids` holds `ident` (an archived copy is final: it wins over the hot file's)."""
    at = bisect.bisect_left(ids, ident)
    return at < len(ids) and ids[at] == ident


def _uncached(archive: MonthlyArchive, month: str) -> list[Row]:
    path = archive.path_for(month)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    from core.reports.lines import parse_columns, rows_of  # msgspec: loaded by the first report, not at start

    return rows_of(parse_columns(data[: data.rfind(b"\n") + 1], path))
