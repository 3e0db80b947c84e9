"""Monthly archive of finished deployments: append-only JSON Lines files beside the hot registry file.

Layout: ``<stem>-archive/YYYY-MM.jsonl``, the month taken from the deployment id (its start time).
Each line is one finished deployment with its step events:
``{"id": ..., "environment": ..., "status": ..., "deployment": {...}, "events": [...]}``.

Why not TinyDB: TinyDB's Storage API only reads and writes the whole database, so archiving one more
deployment would rewrite all history and make every write slower as history grows. An append of one
line costs the same at 100 records as at 100 000.

Durability: an append writes one line, flushes and fsyncs (and fsyncs the directory when it creates the
file). A line without its trailing newline was torn by a crash and never acknowledged: readers ignore it
and the next append (under the registry lock) truncates it first.

Reading is lazy: a month file is indexed (id -> offset, length, environment, status) only when asked,
and later reads parse only the tail that was appended since (from the last offset seen).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.registry.errors import RegistryCorrupt
from core.registry.ids import is_deployment_id, month_of
from core.registry.models import Deployment, StepEvent
from core.registry.storage import fsync_directory, write_all

_MONTH_FILE_RE = re.compile(r"^(\d{4}-\d{2})\.jsonl$")
# Lines are written by encode_record with a fixed key order, so the header is read without parsing
# the whole (much longer) line; any other line falls back to json.loads.
# ASCII only (encode_record escapes everything else): a damaged byte falls back to json.loads, which names it.
_HEADER_RE = re.compile(rb'\{"id":"([ !#-\[\]-~]+)","environment":"([ !#-\[\]-~]*)","status":"([ !#-\[\]-~]*)",')
TAIL_BYTES = 4096  # how much of a month file before the recorded size its fingerprint covers (a line or more)
_CHUNK = 1 << 22
ModelT = TypeVar("ModelT", bound=BaseModel)


def encode_record(deployment: dict[str, Any], events: list[dict[str, Any]]) -> bytes:
    """One archive line for a finished deployment (JSON-ready dicts) and its events."""
    record = {
        "id": deployment["id"],
        "environment": deployment["environment"],
        "status": deployment["status"],
        "deployment": deployment,
        "events": events,
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """Where one archived deployment's line is, and enough of it to filter without parsing."""

    id: str
    environment: str
    status: str
    offset: int
    length: int


@dataclass(slots=True)
class _MonthIndex:
    inode: int
    offset: int = 0
    entries: dict[str, ArchiveEntry] = field(default_factory=dict)
    newest_first: list[ArchiveEntry] | None = None


class MonthlyArchive:
    """The archive directory of one registry; appends need the registry's lock, reads do not."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._indexes: dict[str, _MonthIndex] = {}
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()

    def path_for(self, month: str) -> Path:
        """The file of one month (YYYY-MM)."""
        path = self._paths.get(month)
        if path is None:  # every read checks every month's size: building the path each time would dominate
            path = self._paths[month] = self.directory / f"{month}.jsonl"
        return path

    def months(self) -> list[str]:
        """Months that have a file, oldest first."""
        try:
            names = [entry.name for entry in os.scandir(self.directory)]
        except FileNotFoundError:
            return []
        return sorted(m.group(1) for name in names if (m := _MONTH_FILE_RE.match(name)))

    def size(self, month: str) -> int:
        """The month file's size in bytes (0 when it does not exist)."""
        found = self.size_or_none(month)
        return 0 if found is None else found

    def size_or_none(self, month: str) -> int | None:
        """The month file's size in bytes, or None when it does not exist."""
        try:
            return os.stat(self.path_for(month)).st_size
        except FileNotFoundError:
            return None

    def fingerprint(self, month: str, size: int) -> str | None:
        """sha256 of the TAIL_BYTES before ``size`` (what the hot file vouches for); None if the file is shorter."""
        try:
            fd = os.open(self.path_for(month), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            start = max(0, size - TAIL_BYTES)
            tail = os.pread(fd, size - start, start)
        finally:
            os.close(fd)
        return hashlib.sha256(tail).hexdigest() if len(tail) == size - start else None

    # -- appending (caller holds the registry lock) ----------------------------------------------------

    def append(self, month: str, lines: Sequence[bytes]) -> int:
        """Append complete lines durably in one write; returns the file's new size.

        Many lines at once is the bulk path (importing history): one write and one fsync per month.
        """
        path = self.path_for(month)
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            fsync_directory(self.directory.parent)
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            end = end_of_complete_lines(fd, size)
            if end != size:
                os.ftruncate(fd, end)
            data = b"".join(lines)
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_directory(self.directory)
        return end + len(data)

    # -- reading --------------------------------------------------------------------------------------

    def read_records(self, month: str, start: int) -> tuple[list[dict[str, Any]], int]:
        """Parse the complete lines from byte ``start`` on; returns them and the offset after the last one."""
        records: list[dict[str, Any]] = []
        end = start
        path = self.path_for(month)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return records, start
        try:
            for offset, line in complete_lines(fd, start):
                record = self._parse_line(path, offset, line)
                validated_record(path, offset, record)  # replayed into the hot file's ledger: it must be sound
                records.append(record)
                end = offset + len(line)
        finally:
            os.close(fd)
        return records, end

    def first_damaged_line(self, month: str, end: int) -> str | None:
        """Why the first damaged complete line before byte ``end`` is damaged (a phrase), or None if none is."""
        path = self.path_for(month)
        fd = os.open(path, os.O_RDONLY)
        try:
            for offset, line in complete_lines(fd, 0):
                if offset >= end:
                    break
                try:
                    validated_record(path, offset, parse_line(path, offset, line))
                except RegistryCorrupt as error:
                    return error.reason
        finally:
            os.close(fd)
        return None

    def entries(self, month: str) -> dict[str, ArchiveEntry]:
        """The month's index, brought up to date with anything appended since the last call."""
        with self._lock:
            return self._refresh(month).entries

    def newest_first(self, month: str) -> list[ArchiveEntry]:
        """The month's entries sorted by id, newest first."""
        with self._lock:
            index = self._refresh(month)
            if index.newest_first is None:
                index.newest_first = sorted(index.entries.values(), key=lambda e: e.id, reverse=True)
            return index.newest_first

    def load(self, month: str, entry: ArchiveEntry) -> dict[str, Any]:
        """The full record (deployment and events) of one entry."""
        path = self.path_for(month)
        fd = os.open(path, os.O_RDONLY)
        try:
            line = os.pread(fd, entry.length, entry.offset)
        finally:
            os.close(fd)
        return self._parse_line(path, entry.offset, line)

    def get(self, month: str, deployment_id: str) -> dict[str, Any] | None:
        """The archived record of one deployment, or None."""
        entry = self.entries(month).get(deployment_id)
        return None if entry is None else self.load(month, entry)

    def deployment(self, month: str, entry: ArchiveEntry) -> Deployment:
        """The validated deployment of one entry; a line that does not hold one is a RegistryCorrupt."""
        record = self.load(month, entry)
        return _validated(Deployment, record["deployment"], self.path_for(month), entry.offset, "deployment")

    def events(self, month: str, entry: ArchiveEntry) -> list[StepEvent]:
        """The validated step events of one entry."""
        return validated_record(self.path_for(month), entry.offset, self.load(month, entry))[1]

    def iter_records(self, month: str) -> Iterator[dict[str, Any]]:
        """Every record of a month in file order, read in chunks and not cached (for bulk readers)."""
        path = self.path_for(month)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            for offset, line in complete_lines(fd, 0):
                yield self._parse_line(path, offset, line)
        finally:
            os.close(fd)

    def _refresh(self, month: str) -> _MonthIndex:
        path = self.path_for(month)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            self._indexes.pop(month, None)
            return _MonthIndex(inode=-1)
        try:
            st = os.fstat(fd)
            index = self._indexes.get(month)
            if index is None or index.inode != st.st_ino or st.st_size < index.offset:
                index = _MonthIndex(inode=st.st_ino)
                self._indexes[month] = index
            if st.st_size > index.offset:
                self._index_tail(path, fd, index)
        finally:
            os.close(fd)
        return index

    def _index_tail(self, path: Path, fd: int, index: _MonthIndex) -> None:
        # The first touch of a month indexes the whole file: find newlines and match headers in place
        # rather than copying every line, which keeps a month of 8 000 deployments in the tens of ms.
        offset, carry = index.offset, b""
        while chunk := os.pread(fd, _CHUNK, offset + len(carry)):
            buffer = carry + chunk if carry else chunk
            position = 0
            while (newline := buffer.find(b"\n", position)) >= 0:
                header = _HEADER_RE.match(buffer, position, newline)
                if header is not None:
                    ident, environment, status = (part.decode() for part in header.groups())
                else:
                    record = self._parse_line(path, offset + position, buffer[position:newline + 1])
                    ident, environment, status = record["id"], record["environment"], record["status"]
                length = newline + 1 - position
                index.entries[ident] = ArchiveEntry(ident, environment, status, offset + position, length)
                position = newline + 1
            offset += position
            carry = buffer[position:]
            index.newest_first = None
        index.offset = offset

    @staticmethod
    def _parse_line(path: Path, offset: int, line: bytes) -> dict[str, Any]:
        return parse_line(path, offset, line)


def parse_line(path: Path, offset: int, line: bytes) -> dict[str, Any]:
    """One archive line as a record with a deployment id, environment, status and deployment; else RegistryCorrupt."""
    try:
        record = json.loads(line.decode("utf-8"))  # strictly: json.loads(bytes) lets encoded surrogates through
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RegistryCorrupt(path, f"the line at byte {offset} is not valid JSON: {error}") from None
    except RecursionError:
        raise RegistryCorrupt(path, f"the line at byte {offset} nests deeper than any registry writes") from None
    if not isinstance(record, dict) or not isinstance(record.get("deployment"), dict) \
            or not is_deployment_id(record.get("id")) or not isinstance(record.get("environment"), str) \
            or not isinstance(record.get("status"), str):
        raise RegistryCorrupt(path, f"the line at byte {offset} is not a deployment record")
    return record


def validated_record(path: Path, offset: int, record: dict[str, Any]) -> tuple[Deployment, list[StepEvent]]:
    """The deployment and events of a parsed line of ``path``'s month, validated; RegistryCorrupt naming the byte
    and the field if not."""
    deployment = _validated(Deployment, record["deployment"], path, offset, "deployment")
    if deployment.id != record["id"]:
        raise RegistryCorrupt(path, f"the line at byte {offset} is headed {record['id']} but holds {deployment.id}")
    if _MONTH_FILE_RE.match(path.name) and month_of(deployment.id) != path.stem:
        raise RegistryCorrupt(path, f"the line at byte {offset} holds deployment {deployment.id}, which belongs "
                                    "in another month's file")
    items = record.get("events", [])
    if not isinstance(items, list):
        raise RegistryCorrupt(path, f"the line at byte {offset} has events that are not a list")
    return deployment, [_validated(StepEvent, item, path, offset, "event") for item in items]


def _validated(model: type[ModelT], data: Any, path: Path, offset: int, what: str) -> ModelT:
    """``model`` validated from an archived value; a damaged one names the file, the line's byte and the field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(the whole value)"
        raise RegistryCorrupt(path, f"the line at byte {offset} holds an invalid {what}: field {field}: "
                                    f"{first['msg']}") from None
    except (OverflowError, RecursionError) as error:
        raise RegistryCorrupt(path, f"the line at byte {offset} holds an invalid {what} ({type(error).__name__})") \
            from None


def complete_lines(fd: int, start: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line including its newline) for every complete line from ``start``; a torn tail is skipped."""
    offset = start
    pending = b""
    while True:
        chunk = os.pread(fd, _CHUNK, offset + len(pending))
        if not chunk:
            return
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        for body in lines:
            line = body + b"\n"
            yield offset, line
            offset += len(line)


def end_of_complete_lines(fd: int, size: int) -> int:
    """The offset just after the last newline (``size`` when the file ends cleanly)."""
    position = size
    while position > 0:
        start = max(0, position - (1 << 16))
        block = os.pread(fd, position - start, start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        position = start
    return 0
