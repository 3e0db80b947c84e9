"""Examining a registry for damage without changing a byte: what `opsconsole registry check` reports.

Damage is anything the registry refuses to adopt: a hot file that does not parse or whose documents have the
wrong shape, a month file that is missing, shorter than the hot file records or no longer holding the recorded
bytes, and archive lines that are not deployment records. Notes are what a crash leaves and the next write
completes on its own (lines archived after the last hot write, a torn last line never acknowledged).

The examination takes no lock and writes nothing (not even a lock file): a damaged registry is evidence.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.registry.archive import MonthlyArchive, complete_lines, parse_line, validated_record
from core.registry.errors import RegistryCorrupt
from core.registry.hot_schema import MONTH_RE, Tables, table_problems
from core.registry.registry import archive_damage, archive_dir_for
from core.registry.storage import HotFileDamage, parse_hot

LINES_NAMED_PER_FILE = 20  # a month of thousands of damaged lines is named by its first ones and a count
# Side tables' records are shaped by their owners (core/recovery's incidents): the caller passes their checks,
# table -> (record, key) -> a phrase saying what is wrong, or None.
RecordChecks = Mapping[str, Callable[[Any, str], str | None]]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or, when ``damage`` is False, a note) about one file, said in one sentence."""

    path: Path
    problem: str
    damage: bool = True

    def sentence(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(slots=True)
class Examination:
    """Everything found in one registry: findings, and what was read soundly."""

    path: Path
    findings: list[Finding] = field(default_factory=list)
    tables: Tables | None = None  # the hot file's tables when it parses (even with shape problems)
    hot_sound: bool = False
    damaged_records: list[tuple[str, str]] = field(default_factory=list)  # (table, key) of side-table records
    archived: int = 0
    months: int = 0

    @property
    def damaged(self) -> bool:
        return any(finding.damage for finding in self.findings)

    @property
    def damaged_months(self) -> list[str]:
        archive = archive_dir_for(self.path)
        return sorted({f.path.stem for f in self.findings if f.damage and f.path.parent == archive})


@dataclass(frozen=True, slots=True)
class SoundLine:
    offset: int
    line: bytes
    id: str


def examine(path: Path, record_checks: RecordChecks | None = None) -> Examination:
    """Every problem of the registry at ``path`` (its hot file, side-table records, archive); changes nothing."""
    found = Examination(path)
    found.tables = _examine_hot(path, found.findings)
    found.hot_sound = found.tables is not None and not found.findings
    for table, problem_of in (record_checks or {}).items():
        for key, record in ((found.tables or {}).get(table) or {}).items():
            problem = problem_of(record, key)
            if problem is not None:
                found.findings.append(Finding(path, f"the {table} table holds a damaged record: {problem}"))
                found.damaged_records.append((table, key))
    archive = MonthlyArchive(archive_dir_for(path))
    recorded = _recorded_sizes(found.tables)
    for month, held in sorted(recorded.items()):
        problem = archive_damage(archive, month, held, path.name, fingerprint=True)
        if problem is not None:
            found.findings.append(Finding(archive.path_for(month), problem))
    for month in archive.months():
        found.months += 1
        known = recorded[month]["size"] if month in recorded else 0
        scan = MonthScan(found.findings)
        found.archived += sum(1 for _ in scan_month(archive, month, known, scan))
    return found


def examine_hot_bytes(path: Path, raw: bytes) -> tuple[Tables | None, list[str]]:
    """(tables or None, problems) of hot-file bytes: whether a backup could take the damaged file's place."""
    try:
        _, tables = parse_hot(path, raw)
    except HotFileDamage as damage:
        return None, [str(damage)]
    return tables, table_problems(tables)


def _examine_hot(path: Path, findings: list[Finding]) -> Tables | None:
    backup = path.with_name(path.name + ".bak")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if backup.exists():
            findings.append(Finding(path, f"the file is missing but its backup {backup.name} exists"))
        return {} if not backup.exists() else None
    except OSError as error:
        findings.append(Finding(path, f"cannot be read ({error.strerror or error})"))
        return None
    tables, problems = examine_hot_bytes(path, raw)
    findings += [Finding(path, problem) for problem in problems]
    return tables


def _recorded_sizes(tables: Tables | None) -> dict[str, dict[str, Any]]:
    """The archive sizes the hot file records, those of a sound shape only (the rest are named as damage)."""
    sizes = (tables or {}).get("archive_sizes", {})
    return {month: doc for month, doc in sizes.items()
            if MONTH_RE.match(month) and type(doc.get("size")) is int and doc["size"] >= 0
            and isinstance(doc.get("tail"), str | None)}


@dataclass(slots=True)
class MonthScan:
    """What scanning one month file found: findings, how many lines were damaged, the torn tail's length."""

    findings: list[Finding] = field(default_factory=list)
    damaged: int = 0
    torn: int = 0


def scan_month(archive: MonthlyArchive, month: str, known: int, scan: MonthScan) -> Iterator[SoundLine]:
    """The month's sound complete lines, in order; into ``scan`` findings (the first damaged lines) and notes."""
    path = archive.path_for(month)
    findings = scan.findings
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as error:
        findings.append(Finding(path, f"cannot be read ({error.strerror or error})"))
        return
    end = 0
    try:
        size = os.fstat(fd).st_size
        for offset, line in complete_lines(fd, 0):
            end = offset + len(line)
            try:
                record = sound_record(path, offset, line)
            except RegistryCorrupt as error:
                scan.damaged += 1
                if scan.damaged <= LINES_NAMED_PER_FILE:
                    findings.append(Finding(path, error.reason))
                continue
            yield SoundLine(offset, line, record["id"])
    finally:
        os.close(fd)
    if scan.damaged > LINES_NAMED_PER_FILE:
        findings.append(Finding(path, f"and {scan.damaged - LINES_NAMED_PER_FILE} more damaged lines"))
    if end > known:
        findings.append(Finding(path, f"{end - known} bytes were archived after the last write of the hot file "
                                      "(a write was interrupted); the next write accounts for them", damage=False))
    scan.torn = size - end
    if scan.torn and size >= known:  # in a file cut short, the last line was cut, not torn by a crash
        findings.append(Finding(path, f"its last {scan.torn} bytes are a torn line that was never acknowledged; "
                                      "the next write removes it", damage=False))


def sound_record(path: Path, offset: int, line: bytes) -> dict[str, Any]:
    """One complete archive line as a sound deployment record of this month; RegistryCorrupt saying why not."""
    record = parse_line(path, offset, line)
    validated_record(path, offset, record)  # which also checks the deployment belongs to this month's file
    return record
