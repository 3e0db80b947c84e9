"""TinyDB storage for the hot registry file: atomic replace, a backup, a schema header and a process lock.

TinyDB's own JSONStorage rewrites the file in place, so a kill at the wrong moment leaves half a file,
and two processes overwrite each other's writes. This storage instead:

- writes a temp file in the same directory, fsyncs it, hard-links the current file to ``<file>.bak``
  (through a temp name and ``os.replace``, so the main file never disappears), replaces the main file
  with the temp file and fsyncs the directory;
- carries ``{"_meta": {"schema": 1, "serial": N}, ...tables}``, ``serial`` growing by one per write;
- caches the parsed file keyed by (inode, mtime, size) plus the serial from the file's first bytes, so
  reads re-parse only when another process wrote;
- only writes inside ``transaction()``, which holds a thread lock and ``filelock.FileLock(<file>.lock)``,
  re-reads the file if it changed, and writes once at the end (all of the transaction or nothing).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from tinydb.storages import Storage

from core.registry.errors import RegistryCorrupt, RegistryLocked, RegistrySchemaTooNew, RegistryUnavailable

SCHEMA_VERSION = 1
META_KEY = "_meta"
_HEAD_RE = re.compile(rb'^\{"_meta":\{"schema":(\d+),"serial":(\d+)\}')
_HEAD_BYTES = 64

Tables = dict[str, dict[str, Any]]
# Checks the parsed tables' documents; returns one phrase per problem ([] when sound).
TableCheck = Callable[[Tables], list[str]]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """One parsed version of the hot file; never mutated once built (transactions parse a fresh copy)."""

    key: tuple[int, int, int] | None
    serial: int
    raw: bytes
    tables: Tables


_EMPTY = _Snapshot(key=None, serial=0, raw=b"", tables={})


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (a single write may be short)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class AtomicJSONStorage(Storage):
    """A TinyDB Storage over one JSON file, crash-safe and shared safely between processes."""

    def __init__(self, path: str | os.PathLike[str], lock_timeout: float = 30.0,
                 check: TableCheck | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self._check = check
        self.backup_path = self.path.with_name(self.path.name + ".bak")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._temp_prefix = f".{self.path.name}.tmp-"
        self._lock_timeout = lock_timeout
        self._thread_lock = threading.RLock()
        self._file_lock = FileLock(self.lock_path, timeout=lock_timeout)
        self._snapshot = _EMPTY
        self._working: Tables | None = None
        self._pinned: Tables | None = None
        self._dirty = False
        self._created_dir = False
        if not self.path.parent.is_dir():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise RegistryUnavailable(self.path, error) from error
            self._created_dir = True
        with self.transaction():
            self._remove_temp_files()

    # -- TinyDB Storage API -------------------------------------------------------------------------

    def read(self) -> Tables | None:
        """The current tables: the transaction's working copy, or the file as last written by anyone."""
        with self._thread_lock:
            if self._working is not None:
                return self._working
            if self._pinned is not None:
                return self._pinned
            self._refresh_or_explain()
            return self._snapshot.tables

    def write(self, data: Tables) -> None:
        """Stage ``data`` for the end of the current transaction (writes outside one would race)."""
        with self._thread_lock:
            if self._working is None:
                raise RuntimeError("AtomicJSONStorage writes only inside transaction()")
            self._working = data
            self._dirty = True

    def close(self) -> None:
        """Nothing stays open between operations."""

    # -- transactions -------------------------------------------------------------------------------

    @property
    def serial(self) -> int:
        """The serial of the version this process last read or wrote (0 before the first write)."""
        return self._snapshot.serial

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Reads in the block (this thread) all see one version of the file, whatever other processes do."""
        with self._thread_lock:
            if self._working is not None or self._pinned is not None:
                yield
                return
            self._refresh_or_explain()
            self._pinned = self._snapshot.tables
            try:
                yield
            finally:
                self._pinned = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold both locks, work on a fresh copy of the file, write it once at the end if changed.

        Nested use (same thread) joins the outer transaction. An exception discards every change.
        """
        with self._thread_lock:
            if self._working is not None:
                yield
                return
            try:
                self._file_lock.acquire()
            except Timeout:
                raise RegistryLocked(self.lock_path, self._lock_timeout) from None
            except OSError as error:
                raise RegistryUnavailable(self.lock_path, error) from error
            try:
                self._refresh()
                self._working = json.loads(self._snapshot.raw) if self._snapshot.raw else {}
                self._working.pop(META_KEY, None)
                self._dirty = False
                yield
                if self._dirty:
                    self._commit(self._working)
            except OSError as error:
                # Also covers the archive appends made inside the transaction.
                raise RegistryUnavailable(self.path, error) from error
            finally:
                self._working = None
                self._dirty = False
                self._file_lock.release()

    # -- reading ------------------------------------------------------------------------------------

    def _refresh_or_explain(self) -> None:
        try:
            self._refresh()
        except OSError as error:
            raise RegistryUnavailable(self.path, error) from error

    def _refresh(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            if self.backup_path.exists():
                # Never start afresh over a backup: the operator moved the file aside and meant to restore.
                raise self._corrupt("the file is missing but its backup exists") from None
            self._snapshot = _EMPTY
            return
        try:
            # Stat and read through one descriptor, so the key always describes the bytes we parse.
            st = os.fstat(fd)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            if key == self._snapshot.key:
                # Inodes are reused and mtimes are coarse; the serial in the header settles it cheaply.
                head = _HEAD_RE.match(os.pread(fd, _HEAD_BYTES, 0))
                if head is not None and int(head.group(2)) == self._snapshot.serial:
                    return
            raw = _read_fd(fd, st.st_size)
        finally:
            os.close(fd)
        serial, tables = self._parse(raw)
        self._snapshot = _Snapshot(key=key, serial=serial, raw=raw, tables=tables)

    def _parse(self, raw: bytes) -> tuple[int, Tables]:
        try:
            serial, tables = parse_hot(self.path, raw)
        except HotFileDamage as damage:
            raise self._corrupt(str(damage)) from None
        problems = self._check(tables) if self._check is not None else []
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise self._corrupt(problems[0] + more)
        return serial, tables

    def _corrupt(self, reason: str) -> RegistryCorrupt:
        return RegistryCorrupt(self.path, reason, backup=self.backup_path)

    # -- writing ------------------------------------------------------------------------------------

    def _commit(self, tables: Tables) -> None:
        serial = self._snapshot.serial + 1
        document = {META_KEY: {"schema": SCHEMA_VERSION, "serial": serial}, **tables}
        raw = json.dumps(document, separators=(",", ":")).encode()
        temp = self._temp_path()
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                write_all(fd, raw)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._keep_backup()
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_directory(self.path.parent)
        st = os.stat(self.path)
        self._snapshot = _Snapshot(
            key=(st.st_ino, st.st_mtime_ns, st.st_size), serial=serial, raw=raw, tables=tables
        )

    def _keep_backup(self) -> None:
        """Make ``<file>.bak`` the current version before it is replaced; the main file stays in place."""
        if not self.path.exists():
            return
        link = self._temp_path()
        try:
            os.link(self.path, link)
        except OSError:
            # A file system without hard links: a copy is slower but keeps the same guarantee.
            fd = os.open(link, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                write_all(fd, self.path.read_bytes())
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(link, self.backup_path)
        # When the backup already is this very file (a writer was killed between making the backup and
        # replacing the main file), rename() does nothing and leaves the link behind.
        link.unlink(missing_ok=True)

    def _temp_path(self) -> Path:
        return self.path.with_name(f"{self._temp_prefix}{os.getpid()}-{secrets.token_hex(4)}")

    def _remove_temp_files(self) -> None:
        # Only called under the file lock: no live writer can own a temp file at this moment.
        removed = False
        for entry in os.scandir(self.path.parent):
            if entry.name.startswith(self._temp_prefix):
                Path(entry.path).unlink(missing_ok=True)
                removed = True
        if removed or self._created_dir:
            fsync_directory(self.path.parent)


class HotFileDamage(Exception):
    """Why the hot file's bytes are not a registry (a phrase; RegistryCorrupt makes the sentence)."""


def parse_hot(path: Path, raw: bytes) -> tuple[int, Tables]:
    """(serial, tables) of the hot file's bytes; HotFileDamage saying why not, RegistrySchemaTooNew if newer."""
    if not raw:
        raise HotFileDamage("the file is empty")
    try:
        data = json.loads(raw.decode("utf-8"))  # strictly: json.loads(bytes) would let encoded surrogates through
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HotFileDamage(f"not valid JSON: {error}") from None
    except RecursionError:
        raise HotFileDamage("not valid JSON: it nests deeper than any registry does") from None
    if not isinstance(data, dict):
        raise HotFileDamage("the top level is not a JSON object")
    meta = data.pop(META_KEY, None)
    if not isinstance(meta, dict) or type(meta.get("schema")) is not int or type(meta.get("serial")) is not int:
        raise HotFileDamage('the "_meta" header with schema and serial is missing')
    if meta["schema"] > SCHEMA_VERSION:
        raise RegistrySchemaTooNew(path, meta["schema"], SCHEMA_VERSION)
    for name, table in data.items():
        if not isinstance(table, dict) or not all(isinstance(doc, dict) for doc in table.values()):
            raise HotFileDamage(f"table {name!r} is not a JSON object of documents")
    return meta["serial"], data


def _read_fd(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, max(size - offset, 1 << 16), offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)
