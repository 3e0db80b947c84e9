"""The history generator and the report's fast read path: a seeded year of history, read the same as the registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.registry import DeploymentRegistry, RegistryCorrupt
from core.registry.repair import repair_registry
from core.reports import generate_report
from core.reports.history_gen import END, History, fill_registry, generate_history, main
from core.reports.source import read_rows

YEAR_START = END - timedelta(days=365)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> DeploymentRegistry:
    registry = DeploymentRegistry(tmp_path_factory.mktemp("history") / "registry.json")
    fill_registry(registry, generate_history(1000, seed=3))
    return registry


def test_the_same_seed_gives_the_same_history_and_another_seed_another() -> None:
    assert generate_history(200, seed=5) == generate_history(200, seed=5)
    assert generate_history(200, seed=5).deployments != generate_history(200, seed=6).deployments


def test_a_generated_year_looks_like_real_operations(filled: DeploymentRegistry) -> None:
    report = generate_report(filled, YEAR_START, END, "production")

    dora = report.dora
    assert dora.deployment_frequency.bucket == "daily"
    assert 0.02 < report.outcomes.rollback_rate < 0.12  # type: ignore[operator]
    assert dora.lead_time.without_commit_time == 0 and dora.lead_time.samples > 200
    assert 3600 < dora.lead_time.median_seconds < 3 * 86400  # type: ignore[operator]
    assert dora.time_to_restore.from_incidents > 0 and dora.time_to_restore.from_rollbacks > 0
    assert {c.cause for c in report.rollback_causes} >= {"5xx", "latency"}
    assert any(c.cause.startswith("operator: ") for c in report.rollback_causes)
    canary = [t for t in report.durations if t.strategy == "canary"]
    assert len(canary) >= 50 and all(30 * 60 < t.median_seconds < 3 * 3600 for t in canary if t.deployments >= 5)
    assert len(report.timeline) == 200 and report.timeline_total > 200


def test_the_fast_path_reads_exactly_what_the_registry_lists(filled: DeploymentRegistry) -> None:
    active = filled.register_deployment({"environment": "staging", "versions": {"frontend": "9.9.9"},
                                         "strategy": "blue-green", "actor": "alice",
                                         "started_at": datetime(2026, 6, 3, 12, tzinfo=UTC)})
    since, until = datetime(2026, 5, 17, 13, 30, tzinfo=UTC), datetime(2026, 7, 2, tzinfo=UTC)

    for env in (None, "staging"):
        fast = read_rows(filled, since, until, env)
        slow = list(filled.iter_deployments(environment=env, since=since, until=until))[::-1]
        assert [(r.id, r.status) for r in fast] == [(d.id, d.status.value) for d in slow]
        assert [r.ended or 0.0 for r in fast] == pytest.approx(
            [d.ended_at.timestamp() if d.ended_at else 0.0 for d in slow], abs=1e-6)
        assert fast == read_rows(filled, since, until, env, cache=False), "the cache holds what a parse finds"
    assert active in {r.id for r in read_rows(filled, since, until, "staging")}
    assert generate_report(filled, since, until, "staging").outcomes.unfinished == 1


def test_a_torn_last_archive_line_is_ignored_like_the_registry_ignores_it(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    fill_registry(registry, generate_history(40, seed=1, end=datetime(2026, 2, 1, tzinfo=UTC), days=20))
    [month] = [p for p in registry.archive_dir.iterdir() if p.suffix == ".jsonl"]
    with month.open("ab") as handle:
        handle.write(b'{"id":"d-20260125-000000-000-abcdef","environment":"dev","status":"succ')

    rows = read_rows(registry, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), None)

    assert len(rows) == 40


def test_the_generator_command_fills_a_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "made" / "registry.json"
    main(["--out", str(out), "--deployments", "120", "--seed", "9"])

    assert "120 deployments" in capsys.readouterr().out
    assert len(DeploymentRegistry(out).list_deployments()) == 120


def test_the_month_cache_follows_appends_and_replaced_files(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    end = datetime(2026, 2, 1, tzinfo=UTC)
    history = generate_history(60, seed=2, end=end, days=20)
    fill_registry(registry, History(history.deployments[:30]))
    january = (datetime(2026, 1, 1, tzinfo=UTC), end)
    assert len(read_rows(registry, *january, None)) == 30
    cache = tmp_path / "registry-report-cache" / "2026-01.rows"
    assert cache.exists()

    fill_registry(registry, History(history.deployments[30:]))  # appended after the cache was written
    assert len(read_rows(registry, *january, None)) == 60

    month = registry.archive_dir / "2026-01.jsonl"
    lines = month.read_bytes().splitlines(keepends=True)
    replaced = month.with_suffix(".new")
    replaced.write_bytes(b"".join(lines[:10]))
    replaced.replace(month)  # a restored copy: another file, shorter than what the registry vouches for
    with pytest.raises(RegistryCorrupt, match="cut short or replaced"):
        read_rows(registry, *january, None)
    repair_registry(registry.path)  # accepting the loss is explicit
    registry = DeploymentRegistry(registry.path)
    assert len(read_rows(registry, *january, None)) == 10

    cache.write_bytes(b"\x00damaged")
    assert len(read_rows(registry, *january, None)) == 10, "a damaged cache is parsed again, not trusted"
