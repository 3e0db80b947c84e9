"""The report's read path: cold, warm and read-only reports agree, match the registry's own listing, and a
read-only report writes nothing beside the registry."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.errors import OperationFailed
from core.registry import DeploymentRegistry
from core.registry.repair import repair_registry
from core.reports import DeploymentReport, generate_report
from core.reports.compute import build_report
from core.reports.history_gen import END, fill_registry, generate_history
from core.reports.incidents import read_incidents
from core.reports.lines import parse_columns, rows_of
from core.reports.row import row_of
from core.reports.source import MonthCache, read_rows

YEAR = (END - timedelta(days=365), END)
RANGES = [YEAR, (datetime(2026, 3, 14, 13, 30, tzinfo=UTC), datetime(2026, 5, 2, 7, tzinfo=UTC)),
          (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC))]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def odd_but_valid(registry: DeploymentRegistry) -> None:
    """Records the generator never writes: the engine's metadata layout with a naive commit time (April), a
    commit time that is a number and a cause that needs JSON escapes (May: apart, so that the number's
    month-wide fallback cannot hide how the fast path treats the naive time), no commit times, an active
    deployment, a line appended in another key order and spacing, and a deployment archived twice (June)."""
    registry.import_history([
        {"environment": "production", "versions": {"websocket-server": "9.0.1", "frontend": "9.0.2"},
         "status": "succeeded", "strategy": "canary", "actor": "zoë", "started_at": at("2026-04-07T10:00:00"),
         "ended_at": at("2026-04-07T11:30:00"),
         "metadata": {"rollout": {"commit_times": {"frontend": "not a time"}}, "note": "",
                      "commit_times": {"websocket-server": "2026-04-06T09:00:00+02:00",
                                       "frontend": "2026-04-06T09:00:00"}}},
        {"environment": "production", "versions": {"frontend": "9.0.3"}, "status": "rolled_back",
         "strategy": "canary", "actor": "bob", "started_at": at("2026-05-08T10:00:00"),
         "ended_at": at("2026-05-08T10:40:00"), "rollback_cause": 'rolled back by zoë: "p99" \\ too high\n',
         "stages": [{"name": "canary 10%", "status": "failed", "started_at": at("2026-05-08T10:20:00")}],
         "metadata": {"commit_times": {"frontend": 1712563200}}},
        {"environment": "staging", "versions": {"frontend": "9.0.4"}, "status": "succeeded",
         "strategy": "blue-green", "actor": "ci", "started_at": at("2026-04-09T10:00:00"),
         "ended_at": at("2026-04-09T10:05:00"), "metadata": {"ticket": "OPS-1"}},
    ])
    registry.register_deployment({"environment": "staging", "versions": {"frontend": "9.9.9"},
                                  "strategy": "blue-green", "actor": "alice", "started_at": at("2026-04-10T12:00:00")})
    april = registry.archive_dir / "2026-04.jsonl"
    line = json.loads(april.read_bytes().splitlines()[0])
    line["deployment"]["id"] = line["id"] = line["id"][:-6] + "abcdef"
    reordered = {key: line[key] for key in reversed(list(line))}
    reordered["deployment"] = {key: line["deployment"][key] for key in reversed(list(line["deployment"]))}
    with april.open("ab") as handle:  # another writer's layout: keys reversed, spaces after separators
        handle.write(json.dumps(reordered, ensure_ascii=False).encode() + b"\n")
    june = registry.archive_dir / "2026-06.jsonl"
    again = json.loads(june.read_bytes().splitlines()[0])
    again["status"] = again["deployment"]["status"] = "failed" if again["status"] != "failed" else "succeeded"
    with june.open("ab") as handle:  # the same id archived twice: the registry's index keeps the later line
        handle.write(json.dumps(again, separators=(",", ":")).encode() + b"\n")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> DeploymentRegistry:
    filled = DeploymentRegistry(tmp_path_factory.mktemp("cold") / "registry.json")
    fill_registry(filled, generate_history(1500, seed=11))
    odd_but_valid(filled)
    return filled


def report(registry: DeploymentRegistry, start: datetime, end: datetime, environment: str | None = None,
           **options: Any) -> DeploymentReport:
    return generate_report(registry, start, end, environment, now=lambda: END, **options)


def assert_same(actual: DeploymentReport, expected: DeploymentReport) -> None:
    for field in DeploymentReport.model_fields:
        assert getattr(actual, field) == getattr(expected, field), f"the reports differ in {field}"


def test_a_cold_a_warm_and_a_read_only_report_agree_field_by_field(registry: DeploymentRegistry) -> None:
    cache = MonthCache(registry.path).directory
    shutil.rmtree(cache, ignore_errors=True)

    read_only_cold = report(registry, *YEAR, read_only=True)
    assert not cache.exists()
    cold = report(registry, *YEAR)
    assert cache.is_dir()
    warm = report(registry, *YEAR)
    read_only_warm = report(registry, *YEAR, read_only=True)

    assert cold.outcomes.total > 1400 and cold.outcomes.unfinished == 1
    for other in (warm, read_only_cold, read_only_warm):
        assert_same(other, cold)


def test_every_report_matches_one_built_from_the_registrys_validated_listing(registry: DeploymentRegistry) -> None:
    for start, end in RANGES:
        for environment in (None, "staging", "production"):
            listed = registry.iter_deployments(environment=environment, since=start, until=end)
            rows = sorted((row_of(d.model_dump(mode="json")) for d in listed), key=lambda r: r.id)
            incidents, warnings = read_incidents(registry, start, end, environment)
            expected = build_report(rows, incidents, start, end, environment, warnings=warnings,
                                    timeline_limit=200, generated_at=END)

            assert_same(report(registry, start, end, environment), expected)
    april = report(registry, at("2026-04-07T00:00:00"), at("2026-04-08T00:00:00"), "production")
    assert april.dora.lead_time.samples >= 1 and any("not an ISO-8601 time" in w for w in april.warnings)


def test_rows_read_fast_equal_the_registrys_rows_field_by_field(registry: DeploymentRegistry) -> None:
    fast = read_rows(registry, *YEAR, None)
    slow = sorted((row_of(d.model_dump(mode="json")) for d in registry.iter_deployments(since=YEAR[0],
                                                                                       until=YEAR[1])),
                  key=lambda r: r.id)

    assert [r.id for r in fast] == [r.id for r in slow]
    for mine, theirs in zip(fast, slow, strict=True):
        assert mine._replace(versions_json="") == theirs._replace(versions_json=""), mine.id
        assert mine.versions == theirs.versions


def test_a_read_only_report_writes_nothing_beside_the_registry(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    history = generate_history(300, seed=4)
    fill_registry(registry, history)

    def tree() -> dict[str, tuple[int, int]]:
        return {str(p.relative_to(tmp_path)): (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")}

    before = tree()
    first = report(registry, *YEAR, read_only=True)
    assert tree() == before, "a read-only report wrote beside the registry"

    assert_same(report(registry, *YEAR), first)  # a writable one does write the cache
    with_cache = tree()
    assert set(with_cache) - set(before) and all("report-cache" in name for name in set(with_cache) - set(before))

    registry.import_history([{**history.deployments[0], "started_at": at("2026-10-30T10:00:00"),
                              "ended_at": at("2026-10-30T10:10:00")}])
    after_import = tree()
    again = report(registry, *YEAR, read_only=True)
    assert again.outcomes.total == first.outcomes.total + 1, "the appended month is read, from cache and file"
    assert tree() == after_import


def test_a_month_file_cut_in_place_is_refused_and_after_a_repair_read_again(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    fill_registry(registry, generate_history(40, seed=1, end=datetime(2026, 2, 1, tzinfo=UTC), days=20))
    january = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    assert len(read_rows(registry, *january, None)) == 40

    month = registry.archive_dir / "2026-01.jsonl"
    kept = b"".join(month.read_bytes().splitlines(keepends=True)[:15])
    with month.open("r+b") as handle:  # the same file (inode), shorter than what the cache covers
        handle.truncate(len(kept))
    hot = registry.path.read_bytes()

    with pytest.raises(OperationFailed, match=r"2026-01\.jsonl is damaged \(it is \d+ bytes, but registry\.json "
                                              r"records \d+: it was cut short or replaced\)"):
        read_rows(registry, *january, None)
    assert (registry.path.read_bytes(), month.read_bytes()) == (hot, kept)  # refused, never adopted

    repair_registry(registry.path)
    assert len(read_rows(DeploymentRegistry(registry.path), *january, None)) == 15  # not the cache's 40


def test_lines_in_unusual_shapes_give_what_row_of_gives(tmp_path: Path) -> None:
    usual = {"id": "d-20260105-100000-000-aaaaaa", "environment": "dev", "status": "rolled_back",
             "versions": {"frontend": "1.0"}, "strategy": "blue-green", "actor": "ci",
             "started_at": "2026-01-05T10:00:00Z", "ended_at": "2026-01-05T10:09:00.5Z",
             "stages": [{"status": "failed", "started_at": "2026-01-05T10:03:00+00:00"}],
             "rollback_cause": "5xx", "metadata": {"commit_times": {"frontend": "2026-01-04T10:00:00Z"}}}
    shapes = [usual, {**usual, "versions": None, "metadata": None}, {**usual, "rollback_cause": 7},
              {key: value for key, value in usual.items() if key not in ("strategy", "ended_at", "stages")}]
    lines = [json.dumps({"id": d["id"], "deployment": d, "events": []}).encode() + b"\n" for d in shapes]

    for data in (lines[0], b"".join(lines)):
        expected = [row_of(json.loads(line)["deployment"]) for line in data.splitlines()]
        assert rows_of(parse_columns(data, tmp_path / "2026-01.jsonl")) == expected


def test_a_line_that_is_not_json_is_named_not_a_traceback(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    fill_registry(registry, generate_history(10, seed=1, end=datetime(2026, 2, 1, tzinfo=UTC), days=20))
    month = registry.archive_dir / "2026-01.jsonl"
    with month.open("ab") as handle:
        handle.write(b'{"id": "d-20260120-000000-000-abcdef", oops}\n')

    with pytest.raises(OperationFailed, match=r"2026-01\.jsonl.*line at byte \d+ is not valid JSON"):
        read_rows(registry, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), None)
