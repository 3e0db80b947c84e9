"""Live health on the console, driven by Pilot against the in-process sandbox: each card's health line, the header's
worst environment, the change in the log, and an open incident's badge, as an operator sees them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot

from console.app import OpsConsoleApp
from core.access import AccessGate
from core.health.monitor import HealthMonitor
from core.recovery.incident import IncidentStore
from tests.engine_rig import Rig, rig
from tests.test_tui_console import SIZE, START, card, until

CLOCK = [0.0]  # the monitor's interval clock: a test moves it on to make the next refresh observe again


@asynccontextmanager
async def watching(r: Rig) -> AsyncIterator[tuple[OpsConsoleApp, Pilot]]:
    """The console as `opsconsole` starts it, with the health monitor (its interval on CLOCK)."""
    gate = AccessGate(r.engine.config, r.engine.operator)
    monitor = HealthMonitor(r.engine.config, r.registry, r.engine.ports, r.wiring.http, gate, clock=lambda: CLOCK[0])
    app = OpsConsoleApp(r.engine, sleep=r.sleep, health=monitor)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
        yield app, pilot
        await pilot.press("ctrl+r")
        await until(pilot, lambda: not app.busy, "the console's threads end")


def log_text(app: OpsConsoleApp) -> str:
    from widgets.event_log import EventLog

    return "\n".join(app.main.query_one(EventLog).lines_text)


async def test_cards_turn_red_with_the_reason_and_the_header_names_the_worst(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        async with watching(r) as (app, pilot):
            await until(pilot, lambda: all("✓ ok:" in card(app, e) for e in app.environments),
                        "every card says it is healthy")
            assert "all environments healthy" in str(app.sub_title)
            assert not app.main.card("production").failing

            r.cloud.set_scenario("instances-zero", strike_serving=True)
            r.sleep(60)
            CLOCK[0] += 3600  # the interval has passed: the next refresh observes again
            await until(pilot, lambda: "✗ DOWN" in card(app, "production"), "production's card says DOWN")
            assert app.main.card("production").failing, "a down environment's card is red"
            assert "every probe fails" in card(app, "production") or "no instance" in card(app, "production")
            await until(pilot, lambda: "DOWN" in str(app.sub_title), "the header names the worst state")
            await until(pilot, lambda: "health ok → down" in log_text(app), "the change is in the log")
            assert r.registry.get_environment_state("production").health == "down"


async def test_an_open_incident_shows_as_a_badge_on_its_card(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        async with watching(r) as (app, pilot):
            incident = IncidentStore(r.registry).create("staging", datetime(2026, 12, 6, 3, tzinfo=UTC),
                                                        severity="SEV2")
            app.request_refresh()
            await until(pilot, lambda: incident.id in str(app.main.card("staging").border_subtitle),
                        "staging's card carries the incident")
            assert "SEV2" in str(app.main.card("staging").border_subtitle)
            assert not app.main.card("production").border_subtitle
            incident.update(status="resolved")
            app.request_refresh()
            await until(pilot, lambda: not app.main.card("staging").border_subtitle, "the badge goes with it")


async def test_the_detail_screen_lists_the_environments_changes_of_health(tmp_path: Path) -> None:
    from console.screens.detail import DetailScreen
    from core.health.record import record_health
    from core.model.health import Health
    from tests.engine_rig import IMAGE

    with rig(tmp_path, start=START) as r:
        deployment = r.engine.deploy_to_environment("dev", {"websocket-server": IMAGE})
        r.drive(deployment.id)
        at = r.engine.ports.now()
        record_health(r.registry, Health("dev", "ok", "2/2 probes ok", at))
        record_health(r.registry, Health("dev", "down", "every probe fails (503)", at + timedelta(minutes=1)))
        app = OpsConsoleApp(r.engine, sleep=r.sleep, read_only=True)  # no monitor: only the recorded changes
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            await pilot.press("1", "i")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.deployment is not None,
                        "the detail screen loads")
            table = app.screen.query_one("#detail-health")
            await until(pilot, lambda: table.row_count >= 2, "the health changes are listed")
            rows = [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
            assert "down" in rows[0] and "every probe fails" in rows[0], rows
            assert "ok" in rows[-1] and "2/2 probes ok" in rows[-1]
            await pilot.press("escape", "ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")
