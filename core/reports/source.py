"""The report's read path: finished deployments straight from the monthly archive files, active ones from the hot file.

Why not `DeploymentRegistry.iter_deployments`: it validates every record into a pydantic model, which at
100 000 deployments costs seconds. Archive lines were validated when they were written, and
`encode_record` writes them with a fixed key order (`{"id","environment","status","deployment","events"}`,
the deployment's fields in model order), so one regular expression reads a line's header and the
deployment's first fields, and only the rollback cause, the commit times and (for a rollback) the stages
are decoded; the step events, most of a line, are never parsed. A line in another shape is decoded in
full; a torn last line (a crash mid-append) is skipped, as the registry skips it.

Parsed rows are cached per month in ``<registry stem>-report-cache/YYYY-MM.rows`` beside the registry
file, with the month file's inode and the byte offset they cover: archive files are append-only, so a
later report parses only what was appended since (a whole month again if the file was replaced). The
cache is derived data: deleting it costs one slower report; failing to write it is ignored. It is
written with `marshal` (plain tuples of strings and numbers, loaded four times faster than JSON;
marshal never runs code, and a damaged or foreign file only fails to load and is parsed again).

Commit times, for lead time: `metadata["commit_times"]` maps each component to the ISO-8601 time of the
commit that the deployed version was built from (`{"websocket-server": "2026-03-02T09:15:00Z"}`).
"""

from __future__ import annotations

import gc
import json
import marshal
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from core.registry import Deployment, DeploymentRegistry
from core.registry.archive import MonthlyArchive
from core.registry.ids import month_key, time_key

COMMIT_TIMES = "commit_times"  # the metadata key (see the module doc)
CACHE_KEY = (1, marshal.version, sys.version_info[:2])  # a new layout or Python parses the archive again
_LINE = re.compile(
    r'\{"id":"([^"\\]+)","environment":"([^"\\]*)","status":"([^"\\]*)","deployment":'
    r'\{"id":"[^"\\]+","environment":"[^"\\]*","versions":(\{[^{}]*\}),"status":"[^"\\]*",'
    r'"strategy":"([^"\\]*)","actor":"(?:[^"\\]|\\.)*","started_at":"([^"]+)","ended_at":(?:null|"([^"]+)")')
_CAUSE = '],"rollback_cause":'
_COMMIT_TIMES = re.compile(r'"commit_times":\{([^{}]*)\}')
_COMMIT_VALUE = re.compile(r'"(?:[^"\\]|\\.)*":(?:"([^"\\]*)"|([^,]*))')
_DECODER = json.JSONDecoder()


class _Malformed(Exception):
    """A line this fast path does not recognise: it is decoded in full instead."""


class Row(NamedTuple):
    """What the report needs of one deployment; times are POSIX seconds (UTC), cheap to store and subtract."""

    id: str
    environment: str
    status: str
    strategy: str
    started: float
    ended: float | None
    versions_json: str  # decoded on demand (`versions`): most figures never need it
    cause: str | None
    commit_times: tuple[float, ...]
    commit_times_malformed: bool
    failed_stage_start: float | None  # start of the stage recorded as failed, if any

    @property
    def versions(self) -> dict[str, str]:
        return json.loads(self.versions_json)

    @property
    def day(self) -> str:
        """The UTC day it started, "YYYYMMDD" (from the id, which encodes the start)."""
        return self.id[2:10]

    @property
    def week(self) -> str:
        return iso_week(self.id[2:10])


_WEEKS: dict[str, str] = {}


def iso_week(day: str) -> str:
    """ "2026-W05" for a "YYYYMMDD" day, memoised (a year has 366 of them)."""
    found = _WEEKS.get(day)
    if found is None:
        year, week, _ = date(int(day[:4]), int(day[4:6]), int(day[6:8])).isocalendar()
        found = _WEEKS[day] = f"{year}-W{week:02d}"
    return found


def _seconds(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _commit_times(times: Any) -> tuple[tuple[float, ...], bool]:
    if times is None:
        return (), False
    if not isinstance(times, dict):
        return (), True
    found = [_seconds(value) for value in times.values()]
    return tuple(s for s in found if s is not None), None in found


def _failed_stage(stages: Any) -> float | None:
    for stage in stages if isinstance(stages, list) else ():
        if isinstance(stage, dict) and stage.get("status") == "failed":
            return _seconds(stage.get("started_at"))
    return None


def row_of(raw: dict[str, Any]) -> Row:
    """A Row from a deployment as stored (JSON-ready dict)."""
    times, malformed = _commit_times((raw.get("metadata") or {}).get(COMMIT_TIMES))
    started = _seconds(raw["started_at"])
    assert started is not None, "the registry stores zoned times"
    return Row(raw["id"], raw["environment"], raw["status"], raw.get("strategy", ""), started,
               _seconds(raw.get("ended_at")), json.dumps(raw.get("versions") or {}), raw.get("rollback_cause"),
               times, malformed, _failed_stage(raw.get("stages")) if raw["status"] == "rolled_back" else None)


def _fast_row(text: str, fields: re.Match[str], end: int) -> Row:
    """A Row from a line that _LINE matched, reading only the fields the report uses."""
    ident, environment, status, versions, strategy, started, ended = fields.groups()
    cause_at = text.find(_CAUSE, fields.end(), end)
    if cause_at < 0:
        raise _Malformed
    cause_at += len(_CAUSE)
    if text.startswith("null", cause_at):
        cause, after = None, cause_at + 4
    else:
        cause, after = _DECODER.raw_decode(text, cause_at)
    if not text.startswith(',"metadata":{', after):
        raise _Malformed
    times: tuple[float, ...] = ()
    malformed = False
    found = _COMMIT_TIMES.search(text, after, end)
    if found is not None:
        collected = []
        for value, other in _COMMIT_VALUE.findall(found[1]):
            seconds = None if other else _seconds(value)
            if seconds is None:
                malformed = True
            else:
                collected.append(seconds)
        times = tuple(collected)
    failed = None
    if status == "rolled_back":
        stages_at = text.find('"stages":', fields.end(), end) + len('"stages":')
        failed = _failed_stage(_DECODER.raw_decode(text, stages_at)[0])
    return Row(ident, sys.intern(environment), sys.intern(status), sys.intern(strategy),
               datetime.fromisoformat(started).timestamp(),
               None if ended is None else datetime.fromisoformat(ended).timestamp(), versions, cause, times,
               malformed, failed)


def parse_lines(text: str) -> list[Row]:
    """Every deployment in complete archive lines (text ends with a newline or is empty), in file order."""
    rows: list[Row] = []
    position = 0
    while position < len(text):
        newline = text.index("\n", position)
        line = _LINE.match(text, position, newline)
        try:
            if line is None:
                raise _Malformed
            rows.append(_fast_row(text, line, newline))
        except (_Malformed, ValueError):
            rows.append(row_of(json.loads(text[position:newline])["deployment"]))
        position = newline + 1
    return rows


class MonthCache:
    """Rows of archive months, kept beside the registry (marshal) and extended by what was appended since."""

    def __init__(self, registry_path: Path) -> None:
        self.directory = registry_path.with_name(f"{registry_path.stem}-report-cache")

    def rows(self, archive: MonthlyArchive, month: str) -> list[Row]:
        path = archive.path_for(month)
        try:
            with path.open("rb") as handle:
                inode = os.fstat(handle.fileno()).st_ino
                cached = self._load(month, inode)
                offset, rows = (cached[0], cached[1]) if cached else (0, [])
                handle.seek(offset)
                tail = handle.read()
        except FileNotFoundError:
            return []
        complete = tail[: tail.rfind(b"\n") + 1]  # a torn tail has no newline: never acknowledged
        if complete or cached is None:
            rows = rows + parse_lines(complete.decode("utf-8"))
            self._store(month, inode, offset + len(complete), rows)
        return rows

    def _load(self, month: str, inode: int) -> tuple[int, list[Row]] | None:
        try:
            key, held_inode, offset, rows = marshal.loads((self.directory / f"{month}.rows").read_bytes())
            if key != CACHE_KEY or held_inode != inode:
                return None
            return offset, list(map(Row._make, rows))
        except (OSError, ValueError, EOFError, TypeError):
            return None  # absent, damaged or from another version: parse the month again

    def _store(self, month: str, inode: int, offset: int, rows: list[Row]) -> None:
        payload = marshal.dumps((CACHE_KEY, inode, offset, [tuple(r) for r in rows]))
        target = self.directory / f"{month}.rows"
        temp = target.with_suffix(f".tmp-{os.getpid()}")
        try:
            self.directory.mkdir(exist_ok=True)
            temp.write_bytes(payload)
            os.replace(temp, target)
        except OSError:
            temp.unlink(missing_ok=True)  # a read-only data directory: report without a cache


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a hundred thousand rows are built.

    Rows are tuples of strings and numbers and cannot form cycles, but allocating that many makes the
    collector walk every row already built, again and again: without this, reading a year of 100 000
    deployments spends most of its time in the collector. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_rows(registry: DeploymentRegistry, start: datetime, end: datetime, environment: str | None, *,
              cache: bool = True) -> list[Row]:
    """Deployments with start <= started_at < end (to the ms, like the registry's listing), oldest first."""
    with _no_cyclic_gc():
        return _read_rows(registry, start, end, environment, cache)


def _read_rows(registry: DeploymentRegistry, start: datetime, end: datetime, environment: str | None,
               cache: bool) -> list[Row]:
    low, high = time_key(start), time_key(end)
    first, last = month_key(start), month_key(end)
    archive = MonthlyArchive(registry.archive_dir)
    months = MonthCache(registry.path)
    rows: dict[str, Row] = {}
    for month in archive.months():
        if first <= month <= last:
            found = months.rows(archive, month) if cache else _uncached(archive, month)
            rows.update((r.id, r) for r in found
                        if low <= r.id < high and (environment is None or r.environment == environment))
    for deployment in registry.active_deployments():
        if deployment.id not in rows and low <= deployment.id < high \
                and environment in (None, deployment.environment):
            rows[deployment.id] = row_of(_raw(deployment))
    return [rows[ident] for ident in sorted(rows)]


def _uncached(archive: MonthlyArchive, month: str) -> list[Row]:
    try:
        data = archive.path_for(month).read_bytes()
    except FileNotFoundError:
        return []
    return parse_lines(data[: data.rfind(b"\n") + 1].decode("utf-8"))


def _raw(deployment: Deployment) -> dict[str, Any]:
    return deployment.model_dump(mode="json")
