"""One clock: with the sandbox's clock standing still (speed 0, moved only when a console waits), the
registry's events, the stages and the report's default window are all on the sandbox's clock.

Before, events carried the wall clock while stages carried the sandbox's, so a deployment's log was out of
order with its stages, and `opsconsole report` (its window ending at the wall clock's now) left out every
deployment made on a sandbox clock that had run ahead.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.wiring import Wiring, seed_from_config
from core.engine import Engine, EventBus, approve
from core.errors import BadInput
from core.registry import DeploymentRegistry, DeploymentStatus, Registry
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from tests.cli_rig import Ran, opsconsole
from tests.engine_rig import IMAGE, OPERATOR, START, rig, rig_config

T0 = datetime(2031, 5, 17, 3, 0, tzinfo=UTC)  # far from the wall clock, as a sandbox clock may be


def _writes_at_the_given_time(registry: Registry) -> None:
    ident = registry.register_deployment({"environment": "staging", "versions": {"frontend": "abc"},
                                          "strategy": "rolling", "actor": "alice", "started_at": T0}, at=T0)
    event = registry.append_event(ident, "note", "planned", actor="alice", at=T0 + timedelta(seconds=5))
    assert event.at == T0 + timedelta(seconds=5)
    moved = registry.update_deployment(ident, status=DeploymentStatus.IN_PROGRESS, at=T0 + timedelta(seconds=9))
    assert moved.created_at == T0 and moved.updated_at == T0 + timedelta(seconds=9)
    done = registry.update_deployment(ident, status=DeploymentStatus.SUCCEEDED, at=T0 + timedelta(minutes=3))
    assert done.ended_at == done.updated_at == T0 + timedelta(minutes=3), "a terminal status ends at `at`"
    assert [e.at for e in registry.events(ident)] == [T0 + timedelta(seconds=5)]
    with pytest.raises(BadInput, match="aware datetime"):
        registry.register_deployment({"environment": "staging", "versions": {"frontend": "abc"},
                                      "strategy": "rolling", "actor": "alice"}, at=datetime(2031, 5, 17))
    # Without `at` a write is stamped with the wall clock, as before.
    other = registry.register_deployment({"environment": "dev", "versions": {"frontend": "abc"},
                                          "strategy": "rolling", "actor": "alice"})
    found = registry.get_deployment(other)
    assert found is not None and abs(found.created_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_the_file_registry_records_at_the_writers_time(tmp_path: Path) -> None:
    _writes_at_the_given_time(DeploymentRegistry(tmp_path / "registry.json"))


def test_the_postgresql_registry_records_at_the_writers_time(pg_url: str) -> None:
    from core.config.registry_location import parse_postgres_url
    from core.registry.pg.registry import PostgresRegistry

    registry = PostgresRegistry(parse_postgres_url(pg_url), operator="opsconsole")
    try:
        _writes_at_the_given_time(registry)
    finally:
        registry.close()


def test_with_a_frozen_clock_the_log_is_in_order_with_the_stages(tmp_path: Path) -> None:
    with rig(tmp_path, config=rig_config(mode="auto")) as r:  # clock at START (2026-09), speed 0
        ids = []
        for n in range(2):
            deployment = r.engine.deploy_to_environment("production", {"websocket-server": f"{IMAGE[:-6]}v2.0.{n}"})
            approve(r.engine, "production")
            assert r.drive(deployment.id).state == "finished"
            ids.append(deployment.id)
            r.sleep(3600.0)
        sandbox_start = datetime.fromtimestamp(START, UTC)
        for ident in ids:
            d = r.deployment(ident)
            assert d.status == DeploymentStatus.SUCCEEDED
            events = r.registry.events(ident)
            times = [e.at for e in events]
            assert times == sorted(times), "the log is in order"
            assert d.ended_at is not None and d.started_at <= times[0] and times[-1] <= d.ended_at, \
                (d.started_at, times[0], times[-1], d.ended_at)
            assert d.created_at == d.started_at and d.updated_at == d.ended_at
            assert all(e.at >= sandbox_start for e in events)
            # Every stage's span holds the events written while it ran: one clock for both.
            for stage in d.stages:
                assert stage.started_at is not None and stage.ended_at is not None
                assert d.started_at <= stage.started_at <= stage.ended_at <= d.ended_at
            merged = sorted([(e.at, f"event {e.seq}") for e in events]
                            + [(s.started_at, f"stage {s.name}") for s in d.stages if s.started_at])
            assert merged[0][1] == "event 1", merged[:3]  # "deployment planned" comes first
        assert abs(r.deployment(ids[-1]).ended_at - datetime.now(UTC)) > timedelta(days=30), \
            "the records follow the sandbox's clock, not the wall's"


def test_the_report_over_the_default_window_shows_every_deployment_made(tmp_path: Path) -> None:
    config = rig_config(mode="auto")
    state_file, registry_file = tmp_path / "sandbox.json", tmp_path / "registry.json"
    clock = SandboxClock(speed=0)  # starts at the wall clock's now and moves only when the engine waits
    cloud = SandboxCloud(seed=seed_from_config(config), clock=clock, state_file=state_file).start()
    wiring = Wiring.for_sandbox(config, cloud)
    engine = Engine(config, DeploymentRegistry(registry_file), wiring.ports(), operator=OPERATOR, bus=EventBus(),
                    verify_messages=5)
    made = []
    try:
        for n in range(3):  # a night of deployments: the sandbox clock runs hours ahead of the wall clock
            deployment = engine.deploy_to_environment("production", {"websocket-server": f"{IMAGE[:-6]}v3.0.{n}"})
            approve(engine, "production")
            assert engine.drive(deployment.id, sleep=clock.advance).state == "finished"
            made.append(deployment.id)
            clock.advance(4 * 3600.0)
        assert clock.now() - datetime.now(UTC) > timedelta(hours=8)
        ran = _report(tmp_path, registry_file, state_file)
        assert ran.returncode == 0, ran.stderr
        report = json.loads(ran.stdout)
        assert report["outcomes"]["total"] == len(made), report["outcomes"]
        assert datetime.fromisoformat(report["end"].replace("Z", "+00:00")) >= clock.now() - timedelta(seconds=1)
    finally:
        engine.release_locks()
        wiring.close()
        cloud.stop()
    # Stopped, the sandbox resumes from its saved clock: the default window still reaches its deployments.
    again = json.loads(_report(tmp_path, registry_file, state_file).stdout)
    assert again["outcomes"]["total"] == len(made)


def _report(cwd: Path, registry_file: Path, state_file: Path) -> Ran:
    return opsconsole("--registry", str(registry_file), "report", "--format", "json", cwd=cwd,
                      env={"OPSCONSOLE_SANDBOX": str(state_file)})
