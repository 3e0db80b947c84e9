"""Archive lines (a month file's complete lines) into report Rows, decoding only the fields the report uses.

Why not `json.loads` per line or `DeploymentRegistry.iter_deployments`: a line is mostly step events that the
report never reads, and a year holds 100 000 lines. msgspec decodes a whole month in one call into small
structs that name only the report's fields (the events and every other key are skipped in C, whatever their
order or spacing), then each field is converted a column at a time with C-level `map`s, so the per-line
Python work is a few calls. The result is, field for field, what `row.row_of` gives for the same line.

A month whose lines are not in the registry's usual shape (a line msgspec cannot decode into those structs, a
start time without a zone, versions that are not an object) is decoded line by line with `json.loads` and
`row_of`, exactly; a line that is not JSON at all is a RegistryCorrupt naming the file and the byte, as the
registry's own reader says it. Commit times that are not zoned ISO-8601 times are normal data (the report
counts them as malformed): they only send that month's commit-time column through `row_of`'s per-value rule.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from functools import partial
from itertools import chain, islice, repeat
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec

from core.registry.errors import RegistryCorrupt
from core.registry.ids import ID_RE, is_deployment_id, month_of
from core.reports.row import Row, commit_times, failed_stage, row_of, seconds


class _Metadata(msgspec.Struct, gc=False):
    commit_times: Any = None  # checked by row.commit_times' rule, never trusted to be a dict of times


class _Deployment(msgspec.Struct, gc=False):
    id: str
    environment: str
    status: str
    versions: msgspec.Raw  # kept as its JSON text (Row.versions_json)
    started_at: str
    strategy: str = ""
    ended_at: str | None = None
    stages: msgspec.Raw = msgspec.Raw(b"[]")  # decoded only for a rollback (Row.failed_stage_start)
    rollback_cause: str | None = None
    metadata: _Metadata = msgspec.field(default_factory=_Metadata)


class _Line(msgspec.Struct, gc=False):
    deployment: _Deployment


_DECODER = msgspec.json.Decoder(_Line)
_ID_SHAPE = ID_RE
_NEW_ROW = partial(tuple.__new__, Row)  # a Row from a tuple, without a Python-level __new__ per row
_FIELDS = {name: attrgetter(name) for name in ("id", "environment", "status", "strategy", "started_at",
                                                "ended_at", "versions", "rollback_cause")}
_COMMIT_TIMES = attrgetter("metadata.commit_times")
_TZINFO = attrgetter("tzinfo")
_DEPLOYMENT = attrgetter("deployment")
_timestamp = datetime.timestamp

Columns = list[list[Any]]  # one list per Row field, in Row's field order


class _Irregular(Exception):
    """A month not in the usual shape: it is decoded line by line instead."""


def rows_of(columns: Columns) -> list[Row]:
    """The Rows of columns (as parse_columns gives them)."""
    return list(map(_NEW_ROW, zip(*columns, strict=True)))


def parse_columns(data: bytes, path: Path) -> Columns:
    """Every deployment in `data`, complete lines of the archive file `path` (ending with a newline), in order.

    msgspec skips blank lines, which the registry's reader refuses: a report is not the place to refuse them.
    """
    try:
        return _columns(list(map(_DEPLOYMENT, _DECODER.decode_lines(data))), path.stem)
    except (msgspec.DecodeError, RecursionError, _Irregular):
        return [list(column) for column in zip(*_line_by_line(data, path), strict=True)] \
            or [[] for _ in Row._fields]


def _columns(deployments: Sequence[_Deployment], month: str) -> Columns:
    if not deployments:
        return [[] for _ in Row._fields]
    field = _FIELDS
    intern = sys.intern
    ids = list(map(field["id"], deployments))
    if not all(map(_ID_SHAPE.fullmatch, ids)) or not _days_of(ids, month):
        raise _Irregular  # the line-by-line reader names the line whose id is not one of this month's
    started = _stamps(list(map(field["started_at"], deployments)))
    if started is None:
        raise _Irregular  # row_of says what a start without a zone is
    ends = list(map(field["ended_at"], deployments))
    stamped = _stamps(ends) if None not in ends else None
    ended: list[float | None] = list(stamped) if stamped is not None else list(map(seconds, ends))
    # One join and one split convert every versions text at once; no compact JSON value holds a newline.
    versions = b"\n".join(map(field["versions"], deployments)).decode().split("\n")
    if len(versions) != len(deployments) or not all(map(str.startswith, versions, repeat("{"))):
        raise _Irregular  # row_of turns a missing or empty mapping into "{}"
    statuses = list(map(intern, map(field["status"], deployments)))
    times, malformed = _commit_columns(list(map(_COMMIT_TIMES, deployments)))
    failed: list[float | None] = [None] * len(deployments)
    for index in [i for i, status in enumerate(statuses) if status == "rolled_back"]:
        failed[index] = failed_stage(msgspec.json.decode(deployments[index].stages))
    return [ids, list(map(intern, map(field["environment"], deployments))),
            statuses, list(map(intern, map(field["strategy"], deployments))), started, ended, versions,
            list(map(field["rollback_cause"], deployments)), times, malformed, failed]


def _stamps(texts: list[Any]) -> list[float] | None:
    """POSIX seconds of every text, or None unless every one is an ISO-8601 time with a zone."""
    try:
        moments = list(map(datetime.fromisoformat, texts))
    except (TypeError, ValueError):
        return None
    if None in map(_TZINFO, moments):
        return None
    return list(map(_timestamp, moments))


def _commit_columns(values: list[Any]) -> tuple[list[tuple[float, ...]], list[bool]]:
    """Commit times and their malformed flags per row: one flat column when every value is a zoned time."""
    present = [v for v in values if v is not None] if None in values else values
    if set(map(type, present)) <= {dict}:
        flat = _stamps(list(chain.from_iterable(map(dict.values, present))))
        if flat is not None:
            counts = list(map(len, values)) if present is values else [len(v) if v else 0 for v in values]
            return list(map(tuple, map(islice, repeat(iter(flat)), counts))), [False] * len(values)
    pairs = list(map(commit_times, values))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _line_by_line(data: bytes, path: Path) -> list[Row]:
    rows: list[Row] = []
    offset = 0
    for line in data.split(b"\n")[:-1]:
        try:
            record = json.loads(line.decode("utf-8"))  # strictly, as the registry reads it
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RegistryCorrupt(path, f"the line at byte {offset} is not valid JSON: {error}") from None
        except RecursionError:
            raise RegistryCorrupt(path, f"the line at byte {offset} nests deeper than any registry writes") from None
        deployment = record.get("deployment") if isinstance(record, dict) else None
        problem = "no deployment object" if not isinstance(deployment, dict) else _not_a_row(deployment, path.stem)
        if problem or not isinstance(deployment, dict):
            raise RegistryCorrupt(path, f"the line at byte {offset} is not a deployment record ({problem})")
        rows.append(row_of(deployment))
        offset += len(line) + 1
    return rows


def _not_a_row(deployment: dict[str, Any], month: str) -> str | None:
    """What keeps a stored deployment from being a report Row (a phrase), or None: what row_of relies on."""
    ident = deployment.get("id")
    if not is_deployment_id(ident) or month_of(ident) != month:
        return f"its id {ident!r} is not a deployment id of {month}"
    for name in ("environment", "status"):
        if not isinstance(deployment.get(name), str):
            return f"its {name} is not text"
    if seconds(deployment.get("started_at")) is None:
        return "its started_at is not an ISO-8601 time with a zone"
    if not isinstance(deployment.get("strategy", ""), str):
        return "its strategy is not text"
    return None


def _days_of(ids: list[str], month: str) -> bool:
    """Whether every id's day is a real day of ``month`` (a few dozen distinct days, checked once each)."""
    for day in {ident[2:10] for ident in ids}:
        if f"{day[:4]}-{day[4:6]}" != month:
            return False
        try:
            date(int(day[:4]), int(day[4:6]), int(day[6:8]))
        except ValueError:
            return False
    return True
