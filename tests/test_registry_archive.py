"""The monthly archive: torn lines, a crash between archive append and hot removal, lazy tail reading."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.registry import DeploymentFinished, DeploymentRegistry, DeploymentStatus, month_of
from core.registry.archive import MonthlyArchive, encode_record

MARCH = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def draft(**overrides: Any) -> dict[str, Any]:
    return {"environment": "production", "versions": {"websocket-server": "2.0.0"}, "strategy": "canary",
            "actor": "alice", "started_at": MARCH} | overrides


@pytest.fixture
def registry(tmp_path: Path) -> DeploymentRegistry:
    return DeploymentRegistry(tmp_path / "registry.json")


def _archive_without_hot_write(registry: DeploymentRegistry, ident: str, status: str) -> None:
    """Leave the disk exactly as a crash after the archive append, before the hot removal, leaves it."""
    current = registry.get_deployment(ident)
    assert current is not None
    final = current.model_copy(update={"status": DeploymentStatus(status), "ended_at": MARCH + timedelta(hours=1)})
    events = [event.model_dump(mode="json") for event in registry.events(ident)]
    MonthlyArchive(registry.archive_dir).append(month_of(ident), [encode_record(final.model_dump(mode="json"),
                                                                                 events)])


def _hot(registry: DeploymentRegistry) -> dict[str, Any]:
    return json.loads(registry.path.read_text())


def test_crash_between_archive_and_hot_removal_reads_the_archive_copy(registry: DeploymentRegistry) -> None:
    ident = registry.register_deployment(draft())
    registry.update_deployment(ident, status="in_progress")
    registry.append_event(ident, "intent", "promote to 100%", actor="alice")
    _archive_without_hot_write(registry, ident, "succeeded")
    assert ident in _hot(registry)["deployments"]  # the record is in both places now

    found = registry.get_deployment(ident)
    assert found is not None and found.status == DeploymentStatus.SUCCEEDED
    assert [d.id for d in registry.list_deployments()] == [ident]
    assert registry.active_deployments() == []
    assert registry.get_environment_state("production").active == []
    assert [e.action for e in registry.events(ident)] == ["promote to 100%"]


def test_next_write_completes_the_interrupted_move(registry: DeploymentRegistry) -> None:
    ident = registry.register_deployment(draft())
    registry.update_deployment(ident, status="in_progress")
    _archive_without_hot_write(registry, ident, "succeeded")

    other = registry.register_deployment(draft(environment="staging"))

    hot = _hot(registry)
    assert list(hot["deployments"]) == [other]
    state = registry.get_environment_state("production")
    assert state.statistics["in_progress"] == 0 and state.statistics["succeeded"] == 1
    assert state.statistics["total"] == 1
    assert state.current_versions == {"websocket-server": "2.0.0"}
    assert state.last is not None and state.last.id == ident
    with pytest.raises(DeploymentFinished, match="already finished"):
        registry.update_deployment(ident, status="failed")
    # Replayed once only: more writes do not count it again.
    registry.set_health("production", "healthy")
    assert registry.get_environment_state("production").statistics["total"] == 1


def test_opening_the_registry_completes_the_interrupted_move(registry: DeploymentRegistry) -> None:
    ident = registry.register_deployment(draft())
    _archive_without_hot_write(registry, ident, "aborted")
    reopened = DeploymentRegistry(registry.path)
    assert _hot(reopened).get("deployments", {}) == {}
    assert reopened.get_environment_state("production").statistics["aborted"] == 1


def test_crash_after_archiving_an_imported_deployment_is_counted_by_the_next_write(
    registry: DeploymentRegistry,
) -> None:
    ghost = {"id": "d-20260302-093000-000-00beef", "environment": "production", "status": "failed",
             "versions": {"frontend": "1.0"}, "strategy": "canary", "actor": "import",
             "started_at": "2026-03-02T09:30:00Z", "ended_at": "2026-03-02T09:40:00Z",
             "created_at": "2026-03-02T09:30:00Z", "updated_at": "2026-03-02T09:40:00Z",
             "stages": [], "rollback_cause": None, "metadata": {}}
    MonthlyArchive(registry.archive_dir).append("2026-03", [encode_record(ghost, [])])
    registry.set_health("production", "healthy")
    state = registry.get_environment_state("production")
    assert state.statistics["total"] == 1 and state.statistics["failed"] == 1
    found = registry.get_deployment(ghost["id"])
    assert found is not None and found.status == DeploymentStatus.FAILED


def test_restoring_the_backup_never_resurrects_a_finished_deployment(registry: DeploymentRegistry) -> None:
    ident = registry.register_deployment(draft())
    registry.update_deployment(ident, status="in_progress")
    registry.update_deployment(ident, status="succeeded")
    # The operator follows the corruption advice: the backup is the version before the deployment finished.
    registry.backup_path.replace(registry.path)
    restored = DeploymentRegistry(registry.path)
    found = restored.get_deployment(ident)
    assert found is not None and found.status == DeploymentStatus.SUCCEEDED
    assert restored.active_deployments() == []
    assert restored.get_environment_state("production").statistics["succeeded"] == 1


def test_torn_last_line_is_ignored_and_repaired_before_the_next_append(registry: DeploymentRegistry) -> None:
    first = registry.register_deployment(draft(status="succeeded", ended_at=MARCH + timedelta(minutes=9)))
    month_file = registry.archive_dir / "2026-03.jsonl"
    intact = month_file.read_bytes()
    with month_file.open("ab") as handle:
        handle.write(b'{"id":"d-20260302-100000-000-123456","environment":"produc')

    reopened = DeploymentRegistry(registry.path)
    assert [d.id for d in reopened.list_deployments()] == [first]
    assert reopened.get_environment_state("production").statistics["total"] == 1

    second = reopened.register_deployment(draft(started_at=MARCH + timedelta(hours=2)))
    reopened.update_deployment(second, status="failed")
    content = month_file.read_bytes()
    assert content.startswith(intact) and content.endswith(b"\n")
    assert [json.loads(line)["id"] for line in content.splitlines()] == [first, second]
    assert [d.id for d in reopened.list_deployments()] == [second, first]
    assert reopened.get_environment_state("production").statistics["total"] == 2


def test_a_reader_picks_up_lines_appended_by_another_writer(tmp_path: Path) -> None:
    reader = DeploymentRegistry(tmp_path / "registry.json")
    writer = DeploymentRegistry(tmp_path / "registry.json")
    first = writer.register_deployment(draft(status="succeeded", ended_at=MARCH + timedelta(minutes=3)))
    assert [d.id for d in reader.list_deployments()] == [first]
    second = writer.register_deployment(draft(started_at=MARCH + timedelta(days=1), status="failed",
                                              ended_at=MARCH + timedelta(days=1, minutes=3)))
    # A third line still being written (no newline yet) is not visible until complete.
    with (tmp_path / "registry-archive" / "2026-03.jsonl").open("ab") as handle:
        handle.write(b'{"id":"d-20260304-000000-000-aaaaaa",')
    assert [d.id for d in reader.list_deployments()] == [second, first]
    assert reader.get_deployment(second) is not None


def test_bulk_import_writes_one_line_per_deployment_into_its_month(registry: DeploymentRegistry) -> None:
    records = [
        draft(started_at=datetime(2025, month, 1, tzinfo=UTC), status="succeeded",
              ended_at=datetime(2025, month, 1, 1, tzinfo=UTC))
        for month in (1, 1, 2, 12)
    ]
    ids = registry.import_history(records)
    lines = {path.name: path.read_text().splitlines() for path in sorted(registry.archive_dir.iterdir())}
    assert {name: len(found) for name, found in lines.items()} == {"2025-01.jsonl": 2, "2025-02.jsonl": 1,
                                                                    "2025-12.jsonl": 1}
    assert [json.loads(line)["id"] for line in lines["2025-01.jsonl"]] == ids[:2]
    assert registry.get_environment_state("production").statistics["total"] == 4
    assert _hot(registry).get("deployments", {}) == {}
