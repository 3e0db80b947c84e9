"""What the operator reads before a production change in the console: the effect in core's words, and a typed
name only when the change moves production forward (Pilot against the in-process sandbox)."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from console.app import OpsConsoleApp
from console.screens.ask import AskScreen
from console.screens.confirm import ConfirmScreen
from core.engine import set_weight
from core.registry import DeploymentStatus
from tests.engine_rig import START, rig
from tests.test_tui_console import canary_waiting_at_10, card, console, toasts, type_text, until
from widgets.event_log import EventLog


def shown(app: OpsConsoleApp, selector: str) -> str:
    return str(app.screen.query_one(selector).content)  # type: ignore[attr-defined]


def asks_for_the_name(app: OpsConsoleApp) -> bool:
    return bool(app.screen.query(Input))


async def confirmation(pilot: Pilot, app: OpsConsoleApp) -> str:
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
    return shown(app, "#confirm-effect")


async def test_promote_says_both_weights_and_what_stable_keeps_then_wants_the_name(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        canary_waiting_at_10(r)
        stable = next(name for name, percent in r.served().items() if percent == 90)
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("p")
            said = await confirmation(pilot, app)
            assert said == f"production: canary 10 % → 25 % on ws:v2.0.0, stable {stable} keeps 75 %"
            assert asks_for_the_name(app)
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: "v2.0.0 25%" in card(app, "production"), "the card shows 25 %")


async def test_after_a_weight_set_by_hand_promote_says_it_lowers_the_canary_and_enter_confirms(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        set_weight(r.engine, "production", 90)
        r.drive(deployment.id)
        async with console(r.engine, r) as (app, pilot):
            await until(pilot, lambda: "v2.0.0 90%" in card(app, "production"), "the card shows 90 %")
            await pilot.press("p")
            said = await confirmation(pilot, app)
            assert "production: lowers the canary from 90 % to 25 % on ws:v2.0.0" in said
            assert not asks_for_the_name(app), "taking traffic away is one confirmation"
            await pilot.press("enter")
            await until(pilot, lambda: "v2.0.0 25%" in card(app, "production"), "the card shows 25 %")
            assert sorted(r.served().values()) == [25, 75]


async def test_set_weight_shows_where_traffic_stands_then_the_change(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        canary_waiting_at_10(r)
        stable = next(name for name, percent in r.served().items() if percent == 90)
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "the question")
            assert shown(app, "#ask-effect") == f"production now: canary 10 % on ws:v2.0.0, stable {stable} 90 %"
            await type_text(pilot, "40", "enter")
            said = await confirmation(pilot, app)
            assert said == f"production: canary 10 % → 40 % on ws:v2.0.0, stable {stable} keeps 60 %"
            assert asks_for_the_name(app)
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: "v2.0.0 40%" in card(app, "production"), "the card shows 40 %")

            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "the question again")
            await type_text(pilot, "5", "enter")
            said = await confirmation(pilot, app)
            assert "lowers the canary from 40 % to 5 %" in said and not asks_for_the_name(app)
            await pilot.press("escape")
            await until(pilot, lambda: "Set weight cancelled" in toasts(app), "the cancellation")
            assert sorted(r.served().values()) == [40, 60]


def _log(app: OpsConsoleApp) -> str:
    return "\n".join(app.main.query_one(EventLog).lines_text)


async def test_rollback_is_one_dialog_the_reason_under_what_it_does(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        stable = next(name for name, percent in r.served().items() if percent == 90)
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("b")
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "the reason is asked")
            assert shown(app, "#ask-effect") == (f"production: roll back deployment {deployment.id}: all traffic to "
                                                 f"stable {stable}, ws:v2.0.0 loses its 10 %")
            await type_text(pilot, "5xx spike", "enter")
            await until(pilot, lambda: not isinstance(app.screen, AskScreen), "the dialog closes")
            assert not isinstance(app.screen, ConfirmScreen), "no name to type in an incident"
            await until(pilot, lambda: r.served() == {stable: 100}, "traffic back on stable")
            await until(pilot, lambda: r.deployment(deployment.id).status == DeploymentStatus.ROLLED_BACK,
                        "the deployment is rolled back")
            assert r.deployment(deployment.id).rollback_cause == "rolled back by alice: 5xx spike"
            # The log says who rolled back and why once per line, not "rolled back by alice: rolled back by alice".
            await until(pilot, lambda: "deployment rolled back by alice: 5xx spike" in _log(app), "the ending logged")
            assert "▸ rolled back by alice: 5xx spike" in _log(app)
            assert "rolled back by alice: rolled back" not in _log(app) and "rolled back: rolled back" not in _log(app)
