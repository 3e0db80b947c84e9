"""The console on the team's shared registry (a real PostgreSQL server), through Textual's Pilot.

What an on-call engineer notices: the header says who they are to the database and who else is connected; a
change made anywhere else (another console, the CLI, a pipeline) shows without waiting for the refresh timer;
and a deployment whose driving console died is taken over and carried to its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from console.app import OpsConsoleApp
from core.config import ConsoleConfig
from core.engine import Engine, approve
from core.registry import DeploymentStatus, open_registry
from tests.engine_rig import IMAGE, rig, rig_config
from tests.test_tui_console import until

if TYPE_CHECKING:
    from tests.pg_rig import PgCluster

SIZE = (160, 48)


@pytest.fixture
def team(pg_cluster: PgCluster, pg_url: str) -> Iterator[dict[str, str]]:
    """alice and bob, database users in every environment's group role, on a registry the owner created."""
    open_registry(pg_url).close()
    dbname = pg_url.rsplit("/", 1)[1]
    roles = ("opsconsole_dev", "opsconsole_staging", "opsconsole_production")
    urls = {}
    for person in ("alice", "bob"):
        pg_cluster.create_role(person, f"{person}-pw", in_roles=roles)
        urls[person] = pg_cluster.url(user=person, password=f"{person}-pw", dbname=dbname)
    yield urls


def screen_text(app: OpsConsoleApp) -> str:
    """Everything the main screen shows, as text."""
    return "\n".join(str(widget.render()) for widget in app.main.query("*") if hasattr(widget, "render"))


def slow_refresh(**production: object) -> ConsoleConfig:
    """The refresh timer at its slowest (10 s): whatever shows sooner was heard from the database."""
    data = rig_config(**production).model_dump()
    data["console"]["refresh_seconds"] = 10
    return ConsoleConfig.model_validate(data)


async def test_the_header_names_the_database_user_and_who_else_is_connected_and_changes_show_at_once(
        tmp_path: Path, team: dict[str, str]) -> None:
    alice = open_registry(team["alice"], operator="alice")
    bob = open_registry(team["bob"], operator="bob")
    with rig(tmp_path, config=slow_refresh(), registry=alice) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "1 other connected (bob)" in app.sub_title, "bob in the header")
            assert "alice (database user)" in app.sub_title
            await until(pilot, lambda: app.snapshots and app.snapshots["production"].rollout is not None,
                        "the first refresh")
            # Stop the periodic refresh (not the operator's pause: that freezes the screen on purpose), so what
            # shows next can only have come from the database's announcement.
            assert app._timer is not None
            app._timer.pause()
            # bob approves from his own console (another registry connection, as another machine would).
            approve(Engine(r.engine.config, bob, r.engine.ports, operator="bob"), "production")
            # Well inside the 10 s timer: the card shows bob's approval as soon as the database announces it.
            await until(pilot, lambda: "approved by bob" in screen_text(app), "bob's approval on alice's screen")
            approval = app.snapshots["production"].rollout.approval  # type: ignore[union-attr]
            assert approval is not None and approval["actor"] == "bob"
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")
        assert r.deployment(deployment.id).metadata["rollout"]["approval"]["actor"] == "bob"
    bob.close()
    alice.close()


async def test_a_deployment_whose_driver_died_is_taken_over_and_finished(
        tmp_path: Path, team: dict[str, str], pg_cluster: PgCluster, pg_url: str) -> None:
    alice = open_registry(team["alice"], operator="alice")
    bob = open_registry(team["bob"], operator="bob")
    config = rig_config()
    with rig(tmp_path, config=config, registry=alice) as r:
        # bob's console starts a staging deployment and holds its lease, then dies (its session ends).
        bobs = Engine(config, bob, r.engine.ports, operator="bob")
        deployment = bobs.deploy_to_environment("staging", {"websocket-server": IMAGE})
        assert bobs.lock("staging").try_acquire()
        app = OpsConsoleApp(r.engine, sleep=r.sleep, environments=["staging"])
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "staging driven by bob" in app.sub_title, "bob driving staging")
            pg_cluster.execute("SELECT pg_terminate_backend(backend_pid) FROM opsconsole.leases "
                               "WHERE environment = 'staging'", dbname=pg_url.rsplit("/", 1)[1])
            await until(pilot, lambda: r.deployment(deployment.id).is_terminal, "alice's console finishing it")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.SUCCEEDED, final.rollback_cause
        assert any("takes it over" in e.describe() for e in r.events)
        events = alice.events(deployment.id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
    bob.close()
    alice.close()


async def test_the_registry_down_at_start_is_said_in_the_header_and_the_console_opens_when_it_answers(
        pg_restartable: PgCluster) -> None:
    from console.screens.waiting import WaitingForRegistry
    from core.registry.errors import RegistryUnreachable

    url = pg_restartable.url(dbname=pg_restartable.create_database())
    pg_restartable.stop()
    with pytest.raises(RegistryUnreachable) as down:
        open_registry(url)
    opened: list[object] = []
    app = WaitingForRegistry(down.value.location, str(down.value), lambda: opened.append(open_registry(url)))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "registry unreachable" in app.sub_title, "the header saying so")
        assert "cannot be reached" in str(app.query_one("#why").render())
        await until(pilot, lambda: "attempt 2" in app.sub_title, "a second attempt")
        pg_restartable.start()
        await until(pilot, lambda: bool(opened), "the registry answering")
    assert app.return_value is True
    opened[0].close()  # type: ignore[attr-defined]
