"""The Textual console driven by Pilot against the in-process sandbox with a frozen clock, as an operator uses it."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from textual import events
from textual.command import CommandList
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets._toast import Toast

from console.actions import ACTIONS, keys_for
from console.app import OpsConsoleApp
from console.screens.ask import AskScreen
from console.screens.confirm import ConfirmScreen
from console.screens.help import HelpScreen
from core.config import ConsoleConfig
from core.engine import Engine, approve, promote
from core.providers.cloudrun import CloudRunAdapter
from core.providers.google_retry import RetryPolicy
from core.registry import Deployment, DeploymentStatus
from sandbox.faults import ApiFaults
from tests.engine_rig import IMAGE, OPERATOR, Rig, rig, rig_config

# The sandbox's simulated traffic depends on the clock: pinning it makes every run judge the same windows.
START = 1_790_000_000.0
SIZE = (120, 36)
# For the tests of the live judge: without the pre-traffic smoke check (which refuses a faulty canary before
# it gets any traffic, see test_verify_smoke.py) the faulty revision reaches its first step.
LIVE_JUDGE_ONLY = {"required_checks": ["health", "websocket", "error_rate", "integration", "security"]}


async def until(pilot: Pilot, condition: Callable[[], bool], what: str) -> None:
    """Let the app work (workers, messages, refreshes) until `condition` holds; fail after a generous bound."""
    for _ in range(800):
        if condition():
            return
        await pilot.pause(0.025)
    app = pilot.app
    assert isinstance(app, OpsConsoleApp)
    seen = "\n".join(card(app, e) for e in app.environments)
    raise AssertionError(f"never happened: {what}\n--- cards:\n{seen}\n--- toasts:\n{toasts(app)}")


async def type_text(pilot: Pilot, text: str, *then: str) -> None:
    """Type `text` into the focused input, then press the keys `then` (say "enter").

    Each character is a key event through the app's own key handling, in order, like Pilot.press; but the app
    settles once after the text rather than after every character. Pilot waits after each key until the whole
    process idles (under 1 ms of CPU in 20 ms, for up to a second), which a console with a live refresh and a
    sandbox beside it seldom does: typing "production" cost about two seconds, most of a TUI test."""
    for char in text:
        pilot.app.post_message(events.Key(char if char.isalnum() else _character_to_key(char), char))
    await pilot.pause()
    await pilot.press(*then)


def toasts(app: OpsConsoleApp) -> str:
    return "\n".join(toast.render().plain for toast in app.screen.query(Toast))


def card(app: OpsConsoleApp, environment: str) -> str:
    return app.main.card(environment).text


def refused_reason(app: OpsConsoleApp, title: str) -> str | None:
    """Why the action panel says `title` is refused, read as a person reads it: after a dash on its own line, or in
    the note its mark points to under the list (its wrapped lines joined), the mark on its line or on the line of
    keys it shares; None when it is not refused."""
    lines = app.main.query_one("#actions").text.splitlines()
    key = next(keys_for(a, app.keymap) for a in ACTIONS if a.title == title).split(",")[0].replace("space", "␣")
    line = next((line for line in lines if re.match(rf"\s*\S+\s+{re.escape(title)}( |$)", line)), None) or \
        next(line for line in lines if re.fullmatch(r"[\S ]+ [¹²³⁴⁵⁶⁷⁸⁹]", line.strip()) and key in line.split())
    if " — " in line:
        return line.split(" — ", 1)[1]
    mark = line.rstrip()[-1]
    if mark not in "¹²³⁴⁵⁶⁷⁸⁹":
        return None
    start = next(i for i, note in enumerate(lines) if note.startswith(f"{mark} "))
    rest = itertools.takewhile(lambda n: n.startswith("  "), lines[start + 1:])
    note = [lines[start][2:]] + [n.strip() for n in rest]
    return " ".join(note)


@asynccontextmanager
async def console(engine: Engine, r: Rig, *, read_only: bool = False,
                  size: tuple[int, int] = SIZE) -> AsyncIterator[tuple[OpsConsoleApp, Pilot]]:
    app = OpsConsoleApp(engine, sleep=r.sleep, read_only=read_only)
    async with app.run_test(size=size, notifications=True) as pilot:
        await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
        yield app, pilot
        # Let the last refresh end before the rig stops the sandbox under it (it would retry until its deadline).
        if not app.refresh_paused:
            await pilot.press("ctrl+r")
        await until(pilot, lambda: not app.busy, "the console's threads end")


def canary_waiting_at_10(r: Rig) -> Deployment:
    """A production canary at 10 %, judged, waiting for the operator to promote it to 25 %."""
    deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
    approve(r.engine, "production")
    r.drive(deployment.id)
    promote(r.engine, "production")
    tick = r.drive(deployment.id)
    assert tick.state == "operator" and "promote to 25 %" in tick.reason, tick
    return deployment


def promote_requests(r: Rig, deployment: Deployment) -> int:
    return sum(1 for e in r.registry.events(deployment.id) if e.kind == "request" and e.action == "promote")


async def test_the_main_screen_shows_three_environments_with_production_set_apart(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        async with console(r.engine, r) as (app, pilot):
            await until(pilot, lambda: all("stable 100%" in card(app, e) for e in ("dev", "staging", "production")),
                        "every card shows its live split")
            assert "PRODUCTION" in card(app, "production")
            assert app.main.card("production").has_class("production")
            assert not any("PRODUCTION" in card(app, e) for e in ("dev", "staging"))
            assert "active none" in card(app, "staging") and "frontend main ready" in card(app, "staging")
            assert app.selected == "production"
            await pilot.press("2")
            assert app.selected == "staging" and app.main.card("staging").has_class("selected")
            assert refused_reason(app, "Promote") == "staging has no deployment in progress"


async def test_promote_asks_for_the_typed_environment_name_then_moves_the_weight(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        async with console(r.engine, r) as (app, pilot):
            await until(pilot, lambda: "v2.0.0 10%" in card(app, "production"), "the card shows the canary at 10 %")
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation modal")
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: "v2.0.0 25%" in card(app, "production"), "the card shows 25 %")
            assert sorted(r.served().values()) == [25, 75]
            assert "canary 25 %" in card(app, "production")
            assert "promote to canary 25 % requested" in toasts(app)
            assert "request promote by alice" in "\n".join(app.main.query_one("#log").lines_text)
            assert promote_requests(r, deployment) == 2


async def test_a_wrong_or_cancelled_confirmation_changes_nothing(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation modal")
            await type_text(pilot, "prod", "enter")
            await until(pilot, lambda: "did not match 'production'; nothing was changed" in toasts(app),
                        "the refusal")
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation modal again")
            await pilot.press("escape")
            await until(pilot, lambda: "Promote cancelled" in toasts(app), "the cancellation")
            await app.workers.wait_for_complete()
            assert sorted(r.served().values()) == [10, 90]
            assert promote_requests(r, deployment) == 1
            assert "v2.0.0 10%" in card(app, "production")


async def test_set_weight_asks_for_a_valid_percentage(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        canary_waiting_at_10(r)
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "the question")
            await type_text(pilot, "150", "enter")
            assert isinstance(app.screen, AskScreen), "an invalid weight keeps the question open"
            await pilot.press("backspace", "backspace", "backspace")
            await type_text(pilot, "40", "enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: "v2.0.0 40%" in card(app, "production"), "the card shows 40 %")
            assert sorted(r.served().values()) == [40, 60]


async def test_an_auto_canary_under_elevated_5xx_rolls_itself_back_on_screen(tmp_path: Path) -> None:
    config = rig_config(mode="auto", criteria=LIVE_JUDGE_ONLY)
    with rig(tmp_path, scenario="canary-5xx", config=config, start=START) as r:
        stable = next(iter(r.served()))
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        async with console(r.engine, r) as (app, pilot):
            await until(pilot, lambda: "needs an approval" in card(app, "production"), "the deployment waits")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation modal")
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: "rolled back" in card(app, "production"), "the card shows the rollback")
            assert "canary judge" in card(app, "production") and "5xx" in card(app, "production")
            assert "Rolled back" in toasts(app)
            assert "ROLLED BACK: canary 5xx" in app.main.query_one("#canary").text  # how it ended, in short
            assert r.served() == {stable: 100}
            assert r.deployment(deployment.id).status == DeploymentStatus.ROLLED_BACK


async def test_a_cloud_run_outage_turns_the_cards_red_and_the_console_recovers(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        # The adapters' own retry policy, short: a failing call gives up in under half a second.
        impatient = RetryPolicy(initial=0.01, maximum=0.05, deadline=0.3)
        adapters = {name: CloudRunAdapter(r.wiring.clients.services, r.wiring.clients.revisions,
                                          env.infrastructure.gcp_project, env.infrastructure.region, policy=impatient)
                    for name, env in r.engine.config.environments.items()}
        ports = dataclasses.replace(r.engine.ports, cloudrun=adapters.__getitem__)
        engine = Engine(r.engine.config, r.registry, ports, operator=OPERATOR, bus=r.engine.bus)
        r.cloud.faults.cloudrun = ApiFaults(share=1.0)
        async with console(engine, r) as (app, pilot):
            await until(pilot, lambda: all(app.main.card(e).failing for e in ("dev", "staging", "production")),
                        "every card turns red")
            assert "✗ Cloud Run:" in card(app, "production") and "Cloud Run unreachable" in card(app, "production")
            await pilot.press("1")
            assert app.is_running and app.selected == "dev"
            r.cloud.faults.clear()
            await pilot.press("ctrl+r")
            assert "REFRESH PAUSED" in str(app.main.query_one("#refresh-state").content)
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not any(app.main.card(e).failing for e in ("dev", "staging", "production")),
                        "the cards recover")
            assert "stable 100%" in card(app, "production")
            assert "● live" in str(app.main.query_one("#refresh-state").content)
        engine.release_locks()


async def test_an_engine_refusal_is_one_sentence_and_the_console_keeps_running(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        async with console(r.engine, r) as (app, pilot):
            await pilot.press("2", "b")
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "the reason is asked")
            await type_text(pilot, "bad build", "enter")
            await until(pilot, lambda: "no earlier ready revision to roll back to" in toasts(app), "the refusal")
            assert app.is_running
            assert "stable 100%" in card(app, "staging")


async def test_read_only_refuses_actions_and_says_so(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        async with console(r.engine, r, read_only=True) as (app, pilot):
            await pilot.press("p")
            refused = "this console is read-only: production was not changed; start it without --read-only to act"
            await until(pilot, lambda: refused in toasts(app), "the refusal, with its fix")
            assert not isinstance(app.screen, ConfirmScreen)
            assert "READ-ONLY" in str(app.main.query_one("#refresh-state").content)
            assert refused_reason(app, "Promote") == refused
            await app.workers.wait_for_complete()
            assert promote_requests(r, deployment) == 1 and sorted(r.served().values()) == [10, 90]


async def test_help_and_palette_list_every_action_with_the_configured_keys(tmp_path: Path) -> None:
    data = rig_config().model_dump()
    data["console"]["keymap"] = {"rollback": "ctrl+b", "promte": "x"}
    with rig(tmp_path, config=ConsoleConfig.model_validate(data), start=START) as r:
        async with console(r.engine, r) as (app, pilot):
            await until(pilot, lambda: "[console.keymap] names no action promte" in toasts(app), "the typo is named")
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
            source = app.screen.source
            for action in ACTIONS:
                assert f"| `{keys_for(action, app.keymap)}` | {action.title} | {action.description} |" in source
            assert "| `ctrl+b` | Roll back |" in source
            await pilot.press("escape")
            assert app.screen is app.main
            palette = [command.title for command in app.get_system_commands(app.main)]
            assert all(any(c.startswith(a.title) for c in palette) for a in ACTIONS)
            await pilot.press("ctrl+p")
            await type_text(pilot, "Show staging")
            await until(pilot, lambda: any(c.highlighted is not None for c in app.screen.query(CommandList)),
                        "the palette finds the command")
            await pilot.press("enter")
            await until(pilot, lambda: app.selected == "staging", "the palette runs the action")
            await pilot.press("ctrl+b")
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "the rebound key asks for a reason")
