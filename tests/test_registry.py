"""The deployment registry's API as the engine and the console use it: the contract both backends keep.

Every test taking `registry` runs against the embedded TinyDB registry and the team's PostgreSQL one (a fresh
database per test, tests/pg_fixtures.py). Tests about TinyDB's files (archives, the hot file, the default
location) take `tiny` instead and run on the embedded registry alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.errors import BadInput, OperationFailed, Refused
from core.registry import (
    DeploymentFinished,
    DeploymentRegistry,
    DeploymentStatus,
    Registry,
    StageRecord,
    UnknownDeployment,
    default_registry_path,
    is_deployment_id,
    open_registry,
    started_at_of,
)
from core.registry.errors import EnvironmentOccupied


def draft(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "environment": "production",
        "versions": {"websocket-server": "1.4.0"},
        "strategy": "canary",
        "actor": "alice",
    }
    data.update(overrides)
    return data


def finished(when: datetime, **overrides: Any) -> dict[str, Any]:
    return draft(**{"status": "succeeded", "started_at": when, "ended_at": when + timedelta(minutes=5), **overrides})


@pytest.fixture(params=["tinydb", "postgres"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    """Each backend in turn; the PostgreSQL one on a database of the test's own (asked for only then)."""
    if request.param == "tinydb":
        yield DeploymentRegistry(tmp_path / "registry.json")
        return
    opened = open_registry(request.getfixturevalue("pg_url"))
    yield opened
    opened.close()


@pytest.fixture
def tiny(tmp_path: Path) -> DeploymentRegistry:
    """The embedded registry alone, for what is about its files."""
    return DeploymentRegistry(tmp_path / "registry.json")


@pytest.fixture
def postgres(pg_url: str) -> Iterator[Registry]:
    """The PostgreSQL registry alone, for where it deliberately differs from the embedded one."""
    opened = open_registry(pg_url)
    yield opened
    opened.close()


# -- register / get --------------------------------------------------------------------------------------


def test_register_assigns_a_readable_time_sortable_id_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "data" / "registry.json"
    registry = DeploymentRegistry(path)
    started = datetime(2026, 11, 26, 5, 30, 12, 123456, tzinfo=UTC)
    ident = registry.register_deployment(draft(started_at=started))

    assert ident.startswith("d-20261126-053012-123-") and is_deployment_id(ident)
    assert started_at_of(ident) == started.replace(microsecond=123000)
    again = DeploymentRegistry(path).get_deployment(ident)
    assert again is not None
    assert again.status == DeploymentStatus.PENDING
    assert again.versions == {"websocket-server": "1.4.0"}
    assert again.started_at == started and again.ended_at is None
    assert again.created_at == again.updated_at


def test_ids_sort_by_start_time(registry: Registry) -> None:
    base = datetime(2026, 5, 1, tzinfo=UTC)
    # One environment each: the PostgreSQL registry holds one active deployment per environment.
    ids = [registry.register_deployment(draft(environment=f"env-{n}", started_at=base + timedelta(milliseconds=n)))
           for n in (5, 1, 3)]
    assert sorted(ids) == [ids[1], ids[2], ids[0]]


def test_start_time_in_another_zone_is_stored_in_utc(registry: Registry) -> None:
    started = datetime(2026, 7, 1, 12, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    ident = registry.register_deployment(draft(started_at=started))
    found = registry.get_deployment(ident)
    assert ident.startswith("d-20260701-120000-000-")
    assert found is not None and found.started_at.utcoffset() == timedelta(0)


def test_get_returns_none_for_unknown_or_malformed_ids(registry: Registry) -> None:
    registry.register_deployment(draft())
    assert registry.get_deployment("d-20260101-000000-000-abcdef") is None
    assert registry.get_deployment("not-an-id") is None
    assert registry.get_deployment("d-20261399-000000-000-abcdef") is None
    assert registry.events("not-an-id") == []


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (draft(environment="Prod"), "'environment'"),
        (draft(versions={}), "'versions'"),
        (draft(strategy=""), "'strategy'"),
        (draft(colour="blue"), "unknown field 'colour'"),
        (draft(status="exploded"), "'status'"),
        (draft(started_at=datetime(2026, 1, 1)), "'started_at'"),
        (draft(metadata={"when": datetime(2026, 1, 1, tzinfo=UTC)}), "'metadata.when'"),
        ({"environment": "dev", "versions": {"frontend": "1"}, "strategy": "blue-green"}, "missing the field 'actor'"),
        (draft(status="pending", ended_at=datetime(2026, 1, 1, tzinfo=UTC)), "ended_at"),
        (finished(datetime(2026, 1, 2, tzinfo=UTC)) | {"ended_at": datetime(2026, 1, 1, tzinfo=UTC)}, "before"),
    ],
)
def test_bad_deployment_data_is_refused_naming_the_field(
    registry: Registry, data: dict[str, Any], named: str
) -> None:
    with pytest.raises(BadInput, match=named) as caught:
        registry.register_deployment(data)
    assert caught.value.exit_code == 2
    assert registry.list_deployments() == []


def test_registering_a_finished_deployment_records_it_as_finished(registry: Registry) -> None:
    ident = registry.register_deployment(finished(datetime(2026, 2, 10, tzinfo=UTC)))
    assert registry.active_deployments() == []
    found = registry.get_deployment(ident)
    assert found is not None and found.status == DeploymentStatus.SUCCEEDED
    state = registry.get_environment_state("production")
    assert state.statistics["total"] == 1 and state.statistics["succeeded"] == 1
    assert state.current_versions == {"websocket-server": "1.4.0"}


def test_registering_a_finished_deployment_archives_it_directly(tiny: DeploymentRegistry) -> None:
    tiny.register_deployment(finished(datetime(2026, 2, 10, tzinfo=UTC)))
    assert (tiny.archive_dir / "2026-02.jsonl").read_text().count("\n") == 1


def test_import_history_refuses_unfinished_records(registry: Registry) -> None:
    with pytest.raises(BadInput, match="history record 1 has status in_progress"):
        registry.import_history([finished(datetime(2026, 1, 1, tzinfo=UTC)), draft(status="in_progress")])
    assert registry.list_deployments() == []


def test_import_history_keeps_events(registry: Registry) -> None:
    when = datetime(2025, 12, 24, tzinfo=UTC)
    events = [{"kind": "intent", "action": "apply plan", "actor": "ci"}, {"kind": "done", "action": "apply plan",
                                                                            "actor": "ci", "detail": {"rc": 0}}]
    [ident] = registry.import_history([finished(when, events=events)])
    got = registry.events(ident)
    assert [(e.seq, e.kind, e.at) for e in got] == [(1, "intent", when), (2, "done", when)]
    assert got[1].detail == {"rc": 0}


def test_embedded_registry_allows_two_active_deployments_in_one_environment(tiny: DeploymentRegistry) -> None:
    # The one difference between the backends the contract tests steer around (one environment each).
    first, second = tiny.register_deployment(draft()), tiny.register_deployment(draft())
    assert {d.id for d in tiny.active_deployments()} == {first, second}


def test_postgres_registry_refuses_a_second_active_deployment_in_one_environment(postgres: Registry) -> None:
    first = postgres.register_deployment(draft(actor="alice"))
    with pytest.raises(EnvironmentOccupied, match=f"production already has deployment {first} in progress, "
                                                  "started by alice") as caught:
        postgres.register_deployment(draft(actor="bob"))
    assert isinstance(caught.value, Refused) and caught.value.exit_code == 4  # refused: the state does not allow it
    assert [d.id for d in postgres.active_deployments()] == [first]
    assert postgres.get_environment_state("production").statistics["total"] == 1
    postgres.update_deployment(first, status="succeeded")
    assert postgres.register_deployment(draft(actor="bob")) != first  # free again once the first finished


# -- update ------------------------------------------------------------------------------------------------


def test_update_changes_status_stages_metadata_and_cause(registry: Registry) -> None:
    ident = registry.register_deployment(draft(metadata={"ticket": "OPS-1"}))
    stage = StageRecord(name="canary 10%", status="in_progress", started_at=datetime(2026, 1, 1, tzinfo=UTC))
    updated = registry.update_deployment(
        ident, status="in_progress", stages=[stage, {"name": "canary 25%"}], metadata={"revision": "ws-00042"}
    )
    assert updated.status == DeploymentStatus.IN_PROGRESS
    assert [s.name for s in updated.stages] == ["canary 10%", "canary 25%"]
    assert updated.metadata == {"ticket": "OPS-1", "revision": "ws-00042"}
    assert updated.ended_at is None
    paused = registry.update_deployment(ident, status=DeploymentStatus.PAUSED, rollback_cause="error rate 4%")
    assert paused.rollback_cause == "error rate 4%"
    assert registry.get_deployment(ident) == paused
    assert paused.updated_at >= updated.updated_at


def test_finishing_keeps_the_deployment_with_its_events(registry: Registry) -> None:
    ident = registry.register_deployment(draft())
    registry.append_event(ident, "intent", "shift traffic to 10%", actor="alice", detail={"percent": 10})
    registry.append_event(ident, "done", "shift traffic to 10%", actor="alice")
    done = registry.update_deployment(ident, status="rolled_back", rollback_cause="latency p99 regressed")

    assert done.ended_at is not None
    assert registry.active_deployments() == []
    assert registry.get_deployment(ident) == done
    assert [(e.seq, e.kind) for e in registry.events(ident)] == [(1, "intent"), (2, "done")]
    assert registry.events(ident)[0].detail == {"percent": 10}


def test_finishing_moves_the_deployment_and_its_events_out_of_the_hot_file(tiny: DeploymentRegistry) -> None:
    ident = tiny.register_deployment(draft())
    tiny.append_event(ident, "intent", "shift traffic to 10%", actor="alice")
    tiny.update_deployment(ident, status="rolled_back", rollback_cause="latency p99 regressed")
    hot = json.loads(tiny.path.read_text())
    assert ident not in hot["deployments"] and ident not in hot["events"]
    assert [e.seq for e in tiny.events(ident)] == [1]


def test_finished_deployment_is_final(registry: Registry) -> None:
    ident = registry.register_deployment(draft())
    registry.update_deployment(ident, status="failed")
    with pytest.raises(DeploymentFinished, match=f"{ident} already finished \\(failed\\)") as caught:
        registry.update_deployment(ident, status="succeeded")
    assert isinstance(caught.value, OperationFailed)
    with pytest.raises(DeploymentFinished, match="event log is closed"):
        registry.append_event(ident, "note", "late note", actor="bob")
    found = registry.get_deployment(ident)
    assert found is not None and found.status == DeploymentStatus.FAILED


def test_update_refuses_unknown_ids_and_bad_values(registry: Registry) -> None:
    with pytest.raises(UnknownDeployment, match="no deployment 'd-20260101-000000-000-abcdef'"):
        registry.update_deployment("d-20260101-000000-000-abcdef", status="failed")
    with pytest.raises(BadInput, match="no deployment 'nonsense'"):
        registry.update_deployment("nonsense", status="failed")
    ident = registry.register_deployment(draft())
    with pytest.raises(BadInput, match="'exploded' is not one of"):
        registry.update_deployment(ident, status="exploded")
    with pytest.raises(BadInput, match=r"ended_at .* only be set with a terminal status"):
        registry.update_deployment(ident, ended_at=datetime(2030, 1, 1, tzinfo=UTC))
    with pytest.raises(BadInput, match=r"'stages\.0\.name'"):
        registry.update_deployment(ident, stages=[{"name": ""}])
    with pytest.raises(BadInput, match="before its start"):
        registry.update_deployment(ident, status="failed", ended_at=datetime(2000, 1, 1, tzinfo=UTC))
    found = registry.get_deployment(ident)
    assert found is not None and found.status == DeploymentStatus.PENDING


def test_terminal_update_takes_the_given_end_time(registry: Registry) -> None:
    ident = registry.register_deployment(draft(started_at=datetime(2026, 3, 1, tzinfo=UTC)))
    end = datetime(2026, 3, 1, 0, 7, tzinfo=UTC)
    assert registry.update_deployment(ident, status="aborted", ended_at=end).ended_at == end


# -- events ------------------------------------------------------------------------------------------------


def test_events_are_numbered_in_order(registry: Registry) -> None:
    ident = registry.register_deployment(draft())
    first = registry.append_event(ident, "intent", "create revision", actor="engine")
    second = registry.append_event(ident, "done", "create revision", actor="engine", detail={"rev": "r2"})
    assert (first.seq, second.seq) == (1, 2)
    assert registry.events(ident) == [first, second]
    other = registry.register_deployment(draft(environment="staging"))
    assert registry.append_event(other, "note", "operator looked", actor="bob").seq == 1


def test_events_of_unknown_deployment(registry: Registry) -> None:
    assert registry.events("d-20260101-000000-000-abcdef") == []
    with pytest.raises(UnknownDeployment):
        registry.append_event("d-20260101-000000-000-abcdef", "note", "x", actor="bob")
    ident = registry.register_deployment(draft())
    with pytest.raises(BadInput, match="'kind'"):
        registry.append_event(ident, "", "x", actor="bob")
    assert registry.events(ident) == []


# -- environment state -------------------------------------------------------------------------------------


def test_environment_state_tracks_versions_statistics_health_and_last(registry: Registry) -> None:
    start = datetime(2026, 4, 1, tzinfo=UTC)
    first = registry.register_deployment(
        draft(versions={"websocket-server": "1.0", "frontend": "2.0"}, started_at=start)
    )
    registry.update_deployment(first, status="succeeded", ended_at=start + timedelta(minutes=1))
    failed = registry.register_deployment(draft(versions={"websocket-server": "1.1"}, started_at=start))
    registry.update_deployment(failed, status="failed", ended_at=start + timedelta(minutes=2))
    second = registry.register_deployment(draft(versions={"frontend": "2.1"}, started_at=start))
    registry.update_deployment(second, status="succeeded", ended_at=start + timedelta(minutes=3))
    active = registry.register_deployment(draft(versions={"websocket-server": "1.2"}))
    registry.update_deployment(active, status="in_progress")
    registry.register_deployment(draft(environment="staging"))
    registry.set_health("production", "degraded")

    state = registry.get_environment_state("production")
    assert state.current_versions == {"websocket-server": "1.0", "frontend": "2.1"}
    assert state.health == "degraded"
    assert [d.id for d in state.active] == [active]
    assert state.last is not None and state.last.id == max(first, failed, second)
    assert state.statistics == {
        "total": 4, "pending": 0, "in_progress": 1, "paused": 0, "succeeded": 2, "failed": 1,
        "rolled_back": 0, "aborted": 0, "cancelled": 0,
    }
    assert registry.get_environment_state("staging").statistics["pending"] == 1


def test_a_later_finished_success_wins_current_versions_even_if_imported_out_of_order(
    registry: Registry,
) -> None:
    day = datetime(2026, 6, 1, tzinfo=UTC)
    registry.import_history([finished(day + timedelta(days=2), versions={"frontend": "new"})])
    registry.import_history([finished(day, versions={"frontend": "old"})])
    assert registry.get_environment_state("production").current_versions == {"frontend": "new"}


def test_unknown_environment_has_an_empty_state(registry: Registry) -> None:
    state = registry.get_environment_state("dev")
    assert (state.health, state.active, state.last, state.current_versions) == ("unknown", [], None, {})
    assert state.statistics["total"] == 0 and set(state.statistics.values()) == {0}
    with pytest.raises(BadInput, match="lower-case letters"):
        registry.get_environment_state("Dev!")
    with pytest.raises(BadInput, match="health"):
        registry.set_health("dev", "")



def test_health_changes_are_recorded_once_and_listed_newest_first(registry: Registry) -> None:
    from core.health.record import health_history, record_health
    from core.model.health import Health

    at = datetime(2026, 6, 1, tzinfo=UTC)
    down = Health("production", "down", "no instance is running while 120 requests arrived", at, {"instances": 0})
    assert record_health(registry, Health("production", "ok", "3/3 probes ok", at - timedelta(minutes=1)))
    assert record_health(registry, down)
    assert not record_health(registry, Health("production", "down", "still", at + timedelta(minutes=1)))
    assert registry.get_environment_state("production").health == "down"
    history = health_history(registry, "production")
    assert [(h.state, h.reason) for h in history] == [("down", down.reason), ("ok", "3/3 probes ok")]
    assert history[0] == down and health_history(registry, "dev") == []

# -- listing -----------------------------------------------------------------------------------------------


def _history(registry: Registry) -> list[str]:
    """Six finished deployments over three months and two environments, plus one active one."""
    records = [
        finished(datetime(2026, month, day, tzinfo=UTC), environment=env, status=status)
        for month, day, env, status in [
            (1, 5, "staging", "succeeded"), (1, 20, "production", "failed"), (2, 3, "production", "succeeded"),
            (2, 14, "staging", "rolled_back"), (3, 1, "production", "succeeded"), (3, 9, "staging", "aborted"),
        ]
    ]
    ids = registry.import_history(records)
    ids.append(registry.register_deployment(draft(started_at=datetime(2026, 3, 20, tzinfo=UTC))))
    return ids


def test_listing_is_newest_first_across_archive_and_active(registry: Registry) -> None:
    ids = _history(registry)
    assert [d.id for d in registry.list_deployments()] == ids[::-1]
    assert [d.id for d in registry.list_deployments(limit=3)] == ids[::-1][:3]
    assert registry.list_deployments(limit=0) == []
    assert [d.id for d in registry.iter_deployments()] == ids[::-1]
    assert [d.id for d in registry.active_deployments()] == [ids[-1]]


def test_listing_filters(registry: Registry) -> None:
    ids = _history(registry)
    assert [d.id for d in registry.list_deployments(environment="staging")] == [ids[5], ids[3], ids[0]]
    assert [d.id for d in registry.list_deployments(status="succeeded")] == [ids[4], ids[2], ids[0]]
    assert [d.id for d in registry.list_deployments(status=DeploymentStatus.PENDING)] == [ids[6]]
    window = registry.list_deployments(since=datetime(2026, 1, 20, tzinfo=UTC), until=datetime(2026, 3, 1, tzinfo=UTC))
    assert [d.id for d in window] == [ids[3], ids[2], ids[1]]
    newest_production = registry.list_deployments(environment="production", status="succeeded", limit=1)
    assert [d.id for d in newest_production] == [ids[4]]


def test_listing_refuses_bad_filters(registry: Registry) -> None:
    with pytest.raises(BadInput, match="limit"):
        registry.list_deployments(limit=-1)
    with pytest.raises(BadInput, match="status filter 'done'"):
        registry.list_deployments(status="done")
    with pytest.raises(BadInput, match="since"):
        registry.list_deployments(since=datetime(2026, 1, 1))


def test_listing_with_a_limit_reads_only_the_months_it_needs(tiny: DeploymentRegistry) -> None:
    ids = _history(tiny)
    # Damage January: a listing satisfied by March and February never opens it; a full listing does.
    january = tiny.archive_dir / "2026-01.jsonl"
    january.write_bytes(b"{not json}\n" + january.read_bytes())
    assert [d.id for d in tiny.list_deployments(limit=4)] == ids[::-1][:4]
    with pytest.raises(OperationFailed, match=r"2026-01\.jsonl is damaged"):
        tiny.list_deployments()


def test_hot_file_size_does_not_grow_with_history(tmp_path: Path) -> None:
    small, large = DeploymentRegistry(tmp_path / "a.json"), DeploymentRegistry(tmp_path / "b.json")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    small.import_history([finished(start)])
    large.import_history([finished(start + timedelta(hours=n)) for n in range(2000)])
    for registry in (small, large):
        registry.update_deployment(registry.register_deployment(draft()), status="in_progress")
    assert abs(small.path.stat().st_size - large.path.stat().st_size) < 400
    assert len(large.list_deployments()) == 2001


def test_default_location_is_the_user_data_directory() -> None:
    path = default_registry_path()
    assert path.name == "registry.json" and path.parent.name == "opsconsole"
