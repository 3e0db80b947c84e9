"""The recovery screen driven with Pilot: evidence, the plan as a checklist, each step run with r and confirmed
with y, live health, and the timeline; and a snapshot of it once the incident is open."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from console.screens.recovery import RecoveryScreen
from core.recovery.incident import TABLE
from tests.recovery_rig import RecoveryRig, recovery_rig


class RecoveryApp(App[None]):
    """A bare app that opens the recovery screen (the console's app wires it the same way)."""

    def __init__(self, screen: RecoveryScreen) -> None:
        super().__init__()
        self.recovery = screen

    def on_mount(self) -> None:
        self.push_screen(self.recovery)


async def until(pilot: Pilot, condition: Callable[[], bool], what: str) -> None:
    for _ in range(800):
        if condition():
            return
        await pilot.pause(0.025)
    raise AssertionError(f"never happened: {what}")


def _screen(rr: RecoveryRig) -> RecoveryScreen:
    r = rr.rig
    return RecoveryScreen(r.engine, "production", r.wiring.recovery_ports(), rr.store, sleep=r.sleep,
                          live_every_s=None)


def _text(screen: RecoveryScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def _statuses(screen: RecoveryScreen) -> list[str]:
    plan = screen.query_one("#recovery-plan", DataTable)
    return [str(plan.get_cell(row, "status")) for row in plan.rows]


async def _settled(pilot: Pilot, screen: RecoveryScreen) -> None:
    """Until the screen has mounted (its on_mount starts opening the incident) and no worker runs any more, and
    the screen has processed what they posted. Opening the incident starts the health probe from its own worker,
    so one wait for the workers is not always enough. No clock: under load this takes longer, not differently."""
    while not screen.is_mounted or pilot.app.workers:
        if pilot.app.workers:
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def _opened(pilot: Pilot, screen: RecoveryScreen) -> None:
    """Assessed, then opened with o and confirmed with y (the confirmation names what is paged); then the state
    the snapshot depicts: the incident open with its plan, live health measured once."""
    await _settled(pilot, screen)
    assert screen.assessment is not None and not screen.busy, screen.last_error
    await pilot.press("o")
    await until(pilot, lambda: screen.question is not None, "opening asks first")
    assert "PagerDuty: page at severity" in screen.question  # type: ignore[operator]
    await pilot.press("y")
    await _settled(pilot, screen)
    assert screen.context.incident is not None and not screen.busy, screen.last_error
    assert screen.query_one("#recovery-plan", DataTable).row_count > 0
    assert "live health: 0/6" in _text(screen, "#recovery-health"), _text(screen, "#recovery-health")


async def test_the_operator_walks_instances_at_zero_to_recovery_with_r_and_y(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "instances-zero") as rr:
        screen = _screen(rr)
        app = RecoveryApp(screen)
        async with app.run_test(size=(120, 36)) as pilot:
            await _opened(pilot, screen)
            assert "SEV1 compute" in _text(screen, "#recovery-title")
            assert "no instance serves websocket-server" in _text(screen, "#recovery-evidence")
            assert _statuses(screen) == ["pending"] * 4
            for step in range(4):
                await pilot.press("r")
                await until(pilot, lambda: screen.question is not None or not screen.busy, "a question or a result")
                if screen.question is not None:
                    assert step < 2  # only the approval and the change ask
                    await pilot.press("y")
                await until(pilot, lambda: not screen.busy and screen.question is None, "the step ends")
            await until(pilot, lambda: "recovered and validated" in _text(screen, "#recovery-current"), "validation")
            assert _statuses(screen) == ["✓ done"] * 4
            await until(pilot, lambda: "live health: 6/6" in _text(screen, "#recovery-health"), "health is back")
            timeline = screen.query_one("#recovery-timeline", DataTable)
            kinds = [str(timeline.get_cell(row, "event")) for row in timeline.rows]
            assert "confirmed" in kinds and kinds[-2:] == ["resolved", "notified"]
            record = rr.rig.registry.get_record(TABLE, screen.context.incident.id)  # type: ignore[union-attr]
            assert record is not None and record["status"] == "resolved"


async def test_n_declines_a_change_and_nothing_is_sent(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "instances-zero") as rr:
        screen = _screen(rr)
        async with RecoveryApp(screen).run_test(size=(120, 36)) as pilot:
            await _opened(pilot, screen)
            await pilot.press("r")
            await until(pilot, lambda: screen.question is not None, "the approval question")
            await pilot.press("y")
            await until(pilot, lambda: not screen.busy, "approved")
            await pilot.press("r")
            await until(pilot, lambda: screen.question is not None, "the change asks")
            assert "would set min instances of websocket-server from 0 to 2" in screen.question  # type: ignore[operator]
            await pilot.press("n")
            await until(pilot, lambda: not screen.busy, "declined")
            assert _statuses(screen)[1] == "✗ declined"
            assert [r for r in rr.rig.cloud.cloudrun_requests.since(0) if r.rpc == "UpdateService"] == []


def test_snapshot_of_the_recovery_screen_with_the_incident_open(tmp_path: Path, snap_compare: Any) -> None:
    with recovery_rig(tmp_path, "instances-zero") as rr:
        screen = _screen(rr)

        async def opened(pilot: Pilot) -> None:
            await _opened(pilot, screen)
            # The table measures a new row's cells when it next goes idle: until then a longer event is drawn in
            # the narrower column (CI once caught "notifie"). Wait for every event to be drawn whole.
            timeline = screen.query_one("#recovery-timeline", DataTable)
            kinds = [str(timeline.get_cell(row, "event")) for row in timeline.rows]

            def drawn_whole() -> bool:
                lines = [strip.text for strip in pilot.app.screen._compositor.render_strips()]
                return all(any(f" {kind} " in line for line in lines) for kind in kinds)

            await until(pilot, drawn_whole, "every event of the timeline drawn whole")

        assert snap_compare(RecoveryApp(screen), terminal_size=(120, 36), run_before=opened)
