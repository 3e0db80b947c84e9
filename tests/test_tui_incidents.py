"""Incidents in the console, driven with Pilot against the in-process sandbox: x assesses and opens nothing, o asks
(naming the page) before it pages, a healthy environment is advised against paging, a read-only console writes and
sends nothing, a aborts the incident and closes its page (the card's badge goes), and the command palette lists
incidents, shows one and its postmortem."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Markdown, Static

from console.app import OpsConsoleApp
from console.screens.ask import AskScreen
from console.screens.incidents import IncidentScreen, IncidentsScreen
from console.screens.recovery import RecoveryScreen
from core.model.paging import incident_dedup_key
from core.recovery.incident import TABLE
from sandbox.sinks import notifications
from tests.engine_rig import Rig, rig
from tests.test_tui_console import SIZE, until


def _sent(r: Rig) -> list[tuple[str, str]]:
    return [(row["channel"], row["action"]) for row in notifications(r.cloud.sinks.received())]


def _text(screen: RecoveryScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _recovery(app: OpsConsoleApp, pilot) -> RecoveryScreen:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
    await pilot.press("ctrl+r")  # hold the refresh: the recovery screen does its own reads
    await pilot.press("x")
    await until(pilot, lambda: isinstance(app.screen, RecoveryScreen), "the recovery screen")
    screen = app.screen
    assert isinstance(screen, RecoveryScreen)
    await until(pilot, lambda: not screen.busy and (screen.assessment is not None or screen.context.incident
                                                    is not None), "the assessment")
    return screen


async def test_a_healthy_environment_is_advised_against_paging_and_nothing_is_sent_until_confirmed(
        tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep, recovery_ports=r.wiring.recovery_ports)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await _recovery(app, pilot)
            current = _text(screen, "#recovery-current")
            assert "production looks healthy" in current and "better not to page" in current
            assert "[o] open the incident" in current and "no incident open" in _text(screen, "#recovery-title")
            assert r.registry.records(TABLE) == {} and _sent(r) == []
            await pilot.press("o")
            await until(pilot, lambda: screen.question is not None, "opening asks first")
            assert "better not to page" in screen.question  # type: ignore[operator]
            assert "Slack: SEV4 production: no failure is visible right now" in screen.question  # type: ignore[operator]
            await pilot.press("n")
            await until(pilot, lambda: "not opened: nothing was recorded or sent" in _text(screen, "#recovery-current"),
                        "declined")
            assert r.registry.records(TABLE) == {} and _sent(r) == []
            await pilot.press("escape")
            await until(pilot, lambda: not app.busy, "the console's threads end")


async def test_a_read_only_console_records_no_incident_and_sends_nothing(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="instances-zero") as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep, read_only=True, recovery_ports=r.wiring.recovery_ports)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await _recovery(app, pilot)
            await until(pilot, lambda: screen.context.incident is not None, "the dry-run incident")
            assert "dry run: nothing will change" in _text(screen, "#recovery-title")
            await pilot.press("a")
            await until(pilot, lambda: "there is no incident to end" in _text(screen, "#recovery-current"), "refused")
            assert not isinstance(app.screen, AskScreen)
            assert r.registry.records(TABLE) == {}, "the registry holds no incident"
            assert _sent(r) == [], "Slack and PagerDuty received nothing"
            await pilot.press("escape")
            await until(pilot, lambda: not app.busy, "the console's threads end")


async def test_o_and_y_page_the_card_shows_the_incident_then_a_aborts_and_closes_the_page(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="instances-zero") as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep, recovery_ports=r.wiring.recovery_ports)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await _recovery(app, pilot)
            assert "PagerDuty: page at severity critical" in _text(screen, "#recovery-current")
            await pilot.press("o")
            await until(pilot, lambda: screen.question is not None, "opening asks first")
            await pilot.press("y")
            await until(pilot, lambda: screen.context.incident is not None and not screen.busy, "opened")
            incident_id = screen.context.incident.id  # type: ignore[union-attr]
            assert _sent(r) == [("slack", "message"), ("pagerduty", "trigger")]
            await pilot.press("escape")
            await pilot.press("ctrl+r")  # refresh again: the card reads the open incident from the registry
            app.request_refresh()
            await until(pilot, lambda: incident_id in str(app.main.card("production").border_subtitle),
                        "the card carries the open incident")
            await pilot.press("ctrl+r")
            await pilot.press("x")  # the open incident is resumed, not assessed again
            await until(pilot, lambda: isinstance(app.screen, RecoveryScreen) and not app.screen.busy
                        and app.screen.context.incident is not None, "resumed")
            screen = app.screen
            assert isinstance(screen, RecoveryScreen) and screen.context.incident.id == incident_id  # type: ignore[union-attr]
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "the reason is asked")
            assert "PagerDuty: resolve the page" in str(app.screen.query_one("#ask-context", Static).render())
            app.screen.query_one(Input).value = "handled by hand"
            await pilot.press("enter")
            await until(pilot, lambda: "aborted" in _text(screen, "#recovery-current"), "aborted")
            assert _sent(r)[2:] == [("slack", "message"), ("pagerduty", "resolve")]
            assert r.cloud.sinks.alert_status(incident_dedup_key(incident_id)) == "resolved"
            record = r.registry.get_record(TABLE, incident_id)
            assert record is not None and record["status"] == "aborted"
            await pilot.press("escape")
            await pilot.press("ctrl+r")
            app.request_refresh()
            await until(pilot, lambda: not app.main.card("production").border_subtitle, "the badge goes with it")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")


async def test_the_palette_lists_incidents_shows_one_and_its_postmortem(tmp_path: Path) -> None:
    from core.recovery.incident import IncidentStore

    with rig(tmp_path) as r:
        opened = IncidentStore(r.registry).create("staging", r.wiring.now(), severity="SEV2", summary="Redis gone")
        opened.add("opened", "SEV2 storage: Redis gone", at=r.wiring.now(), actor="alice")
        app = OpsConsoleApp(r.engine, sleep=r.sleep, recovery_ports=r.wiring.recovery_ports)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            await pilot.press("ctrl+r")
            commands = {c.title: c for c in app.get_system_commands(app.main)}
            assert {"Incidents", f"Incident {opened.id}: show", f"Incident {opened.id}: postmortem"} <= set(commands)
            commands["Incidents"].callback()
            await until(pilot, lambda: isinstance(app.screen, IncidentsScreen) and app.screen.loaded, "the list")
            table = app.screen.query_one(DataTable)
            assert table.row_count == 1 and str(table.get_cell(opened.id, "summary")) == "Redis gone"
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.record is not None,
                        "the incident")
            shown = app.screen
            assert "SEV2 storage: Redis gone" in str(shown.query_one("#incident-timeline", Static).render())
            await pilot.press("p")
            assert shown.query_one("#incident-postmortem", Markdown).display
            assert f"# Postmortem: {opened.id}" in shown.query_one("#incident-postmortem", Markdown).source
            await pilot.press("escape")
            await pilot.press("escape")
            await until(pilot, lambda: not app.busy, "the console's threads end")
