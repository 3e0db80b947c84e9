"""`opsconsole registry repair`: the explicit command that accepts damage, keeping every damaged original beside it.

Never a side effect of a read. Under the registry lock it:

1. puts the backup in the hot file's place when the hot file is damaged and the backup is sound (a damaged hot
   file without a sound backup is not repaired: the operator decides what to restore);
2. rewrites each damaged month file with its sound lines only (a torn tail and damaged lines left out);
3. records what every month file now holds, takes deployments archived after the last hot write out of the hot
   file (the archive copy is final), and counts every environment's statistics, versions and last deployment
   again from what is left.

Before a file changes, its damaged original is copied beside it as ``<name>.damaged-<UTC time>``: the registry
reads neither those copies nor anything else but ``YYYY-MM.jsonl`` in the archive directory.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from core.errors import OperationFailed
from core.registry import ledger
from core.registry.archive import MonthlyArchive, end_of_complete_lines
from core.registry.errors import RegistryLocked
from core.registry.hot_schema import Tables, table_problems
from core.registry.integrity import Examination, MonthScan, RecordChecks, examine, examine_hot_bytes, scan_month
from core.registry.registry import archive_dir_for
from core.registry.storage import AtomicJSONStorage, fsync_directory, write_all


@dataclass(slots=True)
class Repair:
    """What a repair did, one sentence per change; ``kept`` lists the originals it copied aside."""

    path: Path
    done: list[str] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def repair_registry(path: Path, *, now: datetime | None = None, lock_timeout: float = 30.0,
                    record_checks: RecordChecks | None = None) -> Repair:
    """Repair the registry at ``path`` if it is damaged (see the module doc); a sound one is left untouched.

    Side-table records that ``record_checks`` refuse are taken out of the hot file (the copy keeps them).
    """
    stamp = f"{(now or datetime.now(UTC)).astimezone(UTC):%Y%m%dT%H%M%SZ}"
    result = Repair(path)
    lock_path = path.with_name(path.name + ".lock")
    try:
        with FileLock(lock_path, timeout=lock_timeout):
            found = examine(path, record_checks)
            if not found.damaged:
                return result
            hot_replaced = not found.hot_sound and _restore_backup(found, stamp, result)
    except Timeout:
        raise RegistryLocked(lock_path, lock_timeout) from None
    storage = AtomicJSONStorage(path, lock_timeout=lock_timeout, check=table_problems)
    with storage.transaction():  # the same lock again, now through the storage that writes the hot file
        found = examine(path, record_checks)
        if not found.hot_sound:
            raise OperationFailed(f"registry {path} changed while it was being repaired; run the repair again")
        archive = MonthlyArchive(archive_dir_for(path))
        for month in found.damaged_months:
            _rewrite_month(archive, month, stamp, result)
        if not hot_replaced:  # what it recorded of the archive, and records set aside, are evidence too
            result.kept.append(_copy_aside(path, f"before-repair-{stamp}"))
        tables = storage.read() or {}
        for table, key in found.damaged_records:
            del tables[table][key]
            result.done.append(f"{path}: set the damaged {table} record {key!r} aside (the copy keeps it)")
        storage.write(_recount(tables, archive, result))
    return result


def _restore_backup(found: Examination, stamp: str, result: Repair) -> bool:
    path = found.path
    backup = path.with_name(path.name + ".bak")
    try:
        raw = backup.read_bytes()
        tables, problems = examine_hot_bytes(backup, raw)
    except OSError as error:
        raw, tables, problems = b"", None, [f"it cannot be read: {error.strerror or error}"]
    if tables is None or problems:
        raise OperationFailed(
            f"registry {path} is damaged and its backup {backup} is not sound either ({problems[0]}); nothing was "
            "changed: restore registry.json from a backup of your own, or move both files aside, after which the "
            "registry is rebuilt from the archive (deployments still running are known only to the damaged file)")
    if path.exists():
        result.kept.append(_copy_aside(path, f"damaged-{stamp}"))
    _write_atomic(path, raw)
    result.done.append(f"{path}: damaged ({_first_hot_problem(found)}); replaced by its backup {backup.name}")
    return True


def _first_hot_problem(found: Examination) -> str:
    return next((f.problem for f in found.findings if f.path == found.path), "unreadable")


def _rewrite_month(archive: MonthlyArchive, month: str, stamp: str, result: Repair) -> None:
    path = archive.path_for(month)
    if not path.exists():
        result.done.append(f"{path}: missing; the registry no longer expects it (restore it from a backup to get "
                           "its deployments back)")
        return
    scan = MonthScan()
    sound = list(scan_month(archive, month, 0, scan))
    result.kept.append(_copy_aside(path, f"damaged-{stamp}"))
    _write_atomic(path, b"".join(line.line for line in sound))
    result.done.append(f"{path}: kept {len(sound)} sound lines, left out {scan.damaged} damaged ones"
                       + (f" and an incomplete last line of {scan.torn} bytes" if scan.torn else ""))


def _recount(tables: Tables, archive: MonthlyArchive, result: Repair) -> Tables:
    """The hot file's tables accounting for exactly what the archive holds now, statistics counted again.

    Streams the archive (a year of 100 000 deployments is never held in memory); an id archived twice, which
    only an edit by hand makes, counts once.
    """
    sizes: dict[str, dict[str, Any]] = {}
    archived: set[str] = set()
    environments: dict[str, dict[str, Any]] = {}
    held = tables.get("environments", {})

    def count(deployment: dict[str, Any]) -> None:
        name = deployment["environment"]
        if name not in environments:
            environments[name] = ledger.empty_environment(name)
            environments[name]["health"] = held.get(name, {}).get("health", "unknown")
        ledger.count_new(environments[name], deployment)

    for month in archive.months():
        fd = os.open(archive.path_for(month), os.O_RDONLY)
        try:
            size = end_of_complete_lines(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        sizes[month] = {"size": size, "tail": archive.fingerprint(month, size)}
        for record in archive.iter_records(month):
            if record["id"] not in archived:
                archived.add(record["id"])
                count(record["deployment"])
    deployments = {k: v for k, v in tables.get("deployments", {}).items() if k not in archived}
    for deployment in deployments.values():
        count(deployment)
    events = {k: v for k, v in tables.get("events", {}).items() if k in deployments}
    result.done.append(f"{result.path}: now records {len(archived)} archived and {len(deployments)} active "
                       "deployments, with every environment's statistics counted again from them")
    return {**tables, "deployments": deployments, "events": events, "environments": environments,
            "archive_sizes": sizes}


def _copy_aside(path: Path, suffix: str) -> Path:
    copy = path.with_name(f"{path.name}.{suffix}")
    shutil.copy2(path, copy)
    with copy.open("rb+") as handle:
        os.fsync(handle.fileno())
    fsync_directory(path.parent)
    return copy


def _write_atomic(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.repair-{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    fsync_directory(path.parent)
