"""What an operator sees at every terminal size, and the log read as one story: tried on the in-process sandbox with
a production canary waiting at 25 %, as it is drawn (the screen's rendered lines, not the widgets' text, so a line
cut at the terminal's edge fails here).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widget import Widget

from console.app import OpsConsoleApp
from console.screens.ask import AskScreen
from console.screens.confirm import ConfirmScreen
from console.screens.detail import DetailScreen
from core.engine import Rollout, approve, promote
from core.model.log_text import ending_headline
from tests.engine_rig import IMAGE, START, Rig, rig
from tests.test_tui_console import type_text, until
from tests.test_tui_detail import rows
from tests.test_tui_snapshots import quiet_config
from widgets.action_panel import MORE, ActionPanel, ActionRow, listed_text
from widgets.event_log import EventLog

SIZES = [(80, 24), (120, 36), (160, 48)]
BORDERS = re.compile(r"[│║╭╮╰╯╔╗╚╝─═▏▁▂▃▄▅▆▇█▀▔]")


def screen_lines(app: OpsConsoleApp) -> list[str]:
    """The terminal's lines as drawn now (Textual's compositor renders the screen as the driver would write it)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_words(app: OpsConsoleApp, widget: Widget | None = None) -> str:
    """The screen's text (or the part `widget` covers) with borders, scroll bars and runs of spaces folded, so a
    sentence wrapped over lines reads whole."""
    lines = screen_lines(app)
    if widget is not None:
        region = widget.region
        lines = [line[region.x:region.right] for line in lines[region.y:region.bottom]]
    return " ".join(" ".join(BORDERS.sub(" ", line).split()) for line in lines)


def canary_at_25(r: Rig) -> str:
    deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
    approve(r.engine, "production")
    r.drive(deployment.id)
    for _ in range(2):
        promote(r.engine, "production")
        assert r.drive(deployment.id).state == "operator"
    return deployment.id


def judged(app: OpsConsoleApp) -> bool:
    snapshot = app.snapshots.get("production")
    return snapshot is not None and snapshot.rollout is not None and bool(snapshot.rollout.verdicts) \
        and "weight 25 %" in screen_words(app)


async def settle(pilot: Pilot, app: OpsConsoleApp) -> None:
    await until(pilot, lambda: judged(app), "the canary panel shows the canary at 25 %")
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_footer_shows_help_and_nothing_in_it_is_cut(size: tuple[int, int], tmp_path: Path) -> None:
    with rig(tmp_path, config=quiet_config(), start=START) as r:
        canary_at_25(r)
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            footer = screen_lines(app)[-1]
            assert footer.lstrip().startswith("? Help"), footer
            keys = footer.split("▏")[0]
            for key in ("? Help", "i Details", "h History", "o Reports", "q Quit"):  # each whole, none cut
                assert key in keys, footer
            assert "^p palette" in footer, footer
            header = screen_lines(app)[0]
            assert "alice" in header and "sandbox" in header and "…" not in header, header
            # Selecting moves the focus to a card; the footer's keys stay as they are (not built again each time,
            # which cost a third of the select key's time), and still say the same.
            keys_before = list(app.main.query("FooterKey"))
            for key in "123":
                await pilot.press(key)
                await pilot.pause(0.05)
            assert list(app.main.query("FooterKey")) == keys_before and screen_lines(app)[-1] == footer
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")


async def test_at_80x24_the_keys_the_weight_the_split_and_the_whole_verdict_are_on_screen(tmp_path: Path) -> None:
    with rig(tmp_path, config=quiet_config(), start=START) as r:
        deployment_id = canary_at_25(r)
        rollout = Rollout.of(r.deployment(deployment_id))
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, app)
            words, lines = screen_words(app), screen_lines(app)
            actions = next(line for line in lines if "Actions · production:" in line)
            assert re.search(r"\bb\b", actions) and re.search(r"\bv\b", actions), actions
            styles = {segment.text: segment.style for segment in app.screen._compositor.render_strips()[lines.index(
                actions)] if segment.text.strip()}
            title, refused, enabled = (next(v for k, v in styles.items() if k.startswith("Actions")), styles["d"],
                                       styles["b"])  # deploy is refused while production has a deployment: dim
            assert refused is not None and title is not None and enabled is not None
            assert enabled.reverse and not refused.reverse
            assert refused.color is not None and title.color is not None
            assert sum(refused.color.get_truecolor()) < sum(title.color.get_truecolor()), (refused, title)
            assert "? Help" in lines[-1]
            assert "weight 25 % (candidate 25 % · stable 75 %)" in words
            assert "PROMOTE ALLOWED" in words
            judge = screen_words(app, app.main.query_one("#canary"))
            assert " ".join(rollout.verdicts[-1]["decision"].split()) in judge, f"the verdict is cut: {judge}"
            panel = app.main.query_one("#actions")  # a click on a key of the one line runs that action
            await pilot.click("#actions", offset=(actions.index(" b ") + 1 - panel.region.x, 0))
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "roll back asks for its reason")
            await pilot.press("escape")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")


@pytest.mark.parametrize("size", SIZES[1:], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_refused_action_says_why_and_nothing_in_the_panel_is_cut_silently(
        size: tuple[int, int], tmp_path: Path) -> None:
    with rig(tmp_path, config=quiet_config(), start=START) as r:
        canary_at_25(r)
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            panel = app.main.query_one(ActionPanel)
            shown = screen_words(app, panel)
            assert "…" not in shown.replace(MORE, ""), shown  # a note that does not fit says so, nothing else cuts
            refused = [row for row in panel.rows if row.disabled_reason is not None]
            if size == (160, 48):  # each reason whole, on the action's line or in the note its mark points to
                for row in refused:
                    assert " ".join(row.disabled_reason.split()) in shown, (row.title, shown)  # type: ignore[union-attr]
            elif MORE in shown:  # 120x36: what the notes could not hold is a key away, whole, and stays in the log
                row = next(row for row in refused if row.action_id != "deploy")  # d opens the wizard: other places
                await pilot.press(row.keys)
                await until(pilot, lambda: row.disabled_reason in "\n".join(
                    app.main.query_one(EventLog).lines_text).replace("\n", " "), "the whole reason in the log")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")


def test_refused_actions_share_their_reasons_and_a_note_that_does_not_fit_says_where_the_rest_is() -> None:
    long = "this console is read-only: production was not changed; start it without --read-only to act"
    rows = [ActionRow("deploy", "d", "Deploy", long), ActionRow("approve", "a", "Approve", long),
            ActionRow("resume", "r", "Resume", "not paused"), ActionRow("verify", "v", "Verify")]
    text, lines, fits = listed_text(rows, 50, 0)
    assert text.plain.splitlines() == ["     d  Deploy ¹", "     a  Approve ¹", "     r  Resume — not paused",
                                       "     v  Verify", "¹ this console is read-only: production was not",
                                       "  changed; start it without --read-only to act"]
    assert fits and lines == rows
    text, lines, fits = listed_text(rows, 50, 5)  # too short for a line each: the two sharing a note share a line
    assert text.plain.splitlines()[0] == "   d a  ¹" and lines == [None, rows[2], rows[3]] and fits
    text, lines, fits = listed_text(rows, 50, 4)  # the note stops at a line that says so
    assert text.plain.splitlines()[3:] == [MORE] and fits
    assert not listed_text(rows, 50, 3)[2]  # not even a line of note: the panel collapses to one line of keys


async def test_a_short_card_shows_the_deployment_first_and_says_when_it_has_more(tmp_path: Path) -> None:
    with rig(tmp_path, config=quiet_config(), start=START) as r:
        deployment_id = canary_at_25(r)
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, app)
            card = app.main.card("production")
            on_screen = screen_words(app, card)
            assert f"active {deployment_id[-6:]}" in on_screen, on_screen
            await until(pilot, lambda: "more: i" in screen_words(app, card), "the card says it has more")
            await pilot.resize_terminal(160, 48)  # room for every line: nothing more to say
            await until(pilot, lambda: "more: i" not in screen_words(app, app.main.card("production")),
                        "the tall card has no 'more'")
            assert "infra not applied from this console" in screen_words(app, app.main.card("production"))
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")


def times(lines: list[str]) -> list[str]:
    return [line[:8] for line in lines if re.match(r"\d\d:\d\d:\d\d ", line)]


async def test_the_log_is_one_story_in_time_order_in_words_with_every_result_kept(tmp_path: Path) -> None:
    with rig(tmp_path, config=quiet_config(), start=START) as r:
        canary_at_25(r)
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=(160, 48), notifications=True) as pilot:
            await settle(pilot, app)
            waiting = app.main.card("production").text  # the card's "waiting for" names the key too
            assert "(press p to promote)" in waiting and "(opsconsole" not in waiting, waiting
            log = app.main.query_one(EventLog)
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen | AskScreen), "the confirmation")
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: any("canary 50 % requested" in line for line in log.lines_text),
                        "the promote's result in the log")
            await until(pilot, lambda: any("candidate 50 % · stable 50 %" in line for line in log.lines_text),
                        "the new split in the log")
            await until(pilot, lambda: any("promote to 100 %" in line for line in log.lines_text),
                        "judged at 50 %, it waits for the next promote")
            lines = log.lines_text
            assert times(lines) == sorted(times(lines)), "\n".join(lines)
            app.clear_notifications()  # the toasts stand over the log's right-hand side
            await pilot.pause(0.1)
            region = log.region  # a long line wraps at the log's own width, not sooner
            drawn = [row[region.x + 1:region.right - 1].rstrip() for row in screen_lines(app)[region.y:region.bottom]]
            long = [line for line in lines if len(line) > region.width]
            firsts = [row for row in drawn if any(row.startswith(line[:30]) for line in long)]
            assert firsts and all(len(row) > region.width - 25 for row in firsts), drawn
            live = [i for i, line in enumerate(lines) if line[9:11] == "▸ "]
            recorded = [i for i, line in enumerate(lines) if line[9:11] != "▸ "]
            assert live and recorded and min(live) < max(recorded), "engine events and registry entries interleave"
            text = "\n".join(lines)
            assert "{'" not in text and "rolled_back" not in text and "in_progress" not in text
            assert "(opsconsole " not in text
            assert "(press p to promote)" in text, "the hint names the console's key"
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")


async def test_after_a_rollback_the_judge_says_how_the_deployment_ended(tmp_path: Path) -> None:
    with rig(tmp_path, config=quiet_config(), start=START) as r:
        deployment_id = canary_at_25(r)
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await settle(pilot, app)
            await pilot.press("b")
            await until(pilot, lambda: isinstance(app.screen, AskScreen), "the reason")
            await type_text(pilot, "bad canary", "enter")
            if isinstance(app.screen, ConfirmScreen):  # a rollback is one confirmation, or none after its reason
                await pilot.press("enter")
            await until(pilot, lambda: str(r.deployment(deployment_id).status) == "rolled_back", "the rollback")
            headline = ending_headline(r.deployment(deployment_id))
            assert headline == "ROLLED BACK by alice: bad canary", headline
            judge = app.main.query_one("#canary")
            await until(pilot, lambda: headline in screen_words(app, judge), f"the judge's headline {headline!r}")
            assert "PROMOTE ALLOWED" not in screen_words(app, judge)
            lines = app.main.query_one(EventLog).lines_text
            assert any("rolled back" in line for line in lines) and not any("rolled_back" in x for x in lines)
            await pilot.press("i")  # the stages it never reached did not run: they are not "pending" any more
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.deployment is not None,
                        "the detail screen")
            stages = {row[1]: row[3] for row in rows(app, "#detail-stages")}
            assert stages["canary 50 %"] == stages["canary 100 %"] == "not run", stages
            assert "pending" not in stages.values()
            await pilot.press("escape")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")


async def test_registry_entries_read_after_the_live_events_they_caused_go_back_in_their_place() -> None:
    from datetime import UTC, datetime, timedelta

    from textual.app import App, ComposeResult

    from core.model.deployment import StepEvent
    from core.model.events import WeightChanged

    class LogOnly(App[None]):
        def compose(self) -> ComposeResult:
            yield EventLog(id="log")

    t0 = datetime(2031, 5, 17, 3, 0, tzinfo=UTC)
    app = LogOnly()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(EventLog)
        log.follow("production", "d-1", roles={"ws-c": "candidate", "ws-s": "stable"})
        log.add_engine_event(WeightChanged("d-1", "production", t0 + timedelta(seconds=10), "ws-c", 25,
                                           {"ws-c": 25, "ws-s": 75}))
        log.show_steps([StepEvent(deployment_id="d-1", seq=s, at=t0 + timedelta(seconds=at), kind=kind,
                                  action="set traffic", actor="alice", detail={"split": {"ws-c": 25, "ws-s": 75}})
                        for s, at, kind in ((1, 5, "intent"), (2, 15, "done"))])
        await pilot.pause()
        assert log.lines_text == ["03:00:05 intent  set traffic by alice: candidate 25 % · stable 75 %",
                                  "03:00:10 ▸ traffic: candidate 25 % · stable 75 %",
                                  "03:00:15 done    set traffic by alice: candidate 25 % · stable 75 %"]
        assert [strip.text.rstrip() for strip in log.lines] == log.lines_text, "drawn once each, in that order"


async def test_at_80x24_the_wizard_s_production_confirmation_says_its_whole_sentence(tmp_path: Path) -> None:
    """The typed confirmation's instruction wraps: cut at 80 columns it ended "esc goes b" (found in tmux)."""
    from textual.widgets import DataTable

    from console.screens.wizard import WizardScreen

    with rig(tmp_path, config=quiet_config(), start=START) as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh")
            await pilot.press("3", "d")
            await until(pilot, lambda: isinstance(app.screen, WizardScreen), "the wizard")
            await pilot.press("enter")  # production
            await type_text(pilot, IMAGE, "enter")
            await pilot.press("enter")  # the strategy production is configured for
            table = app.screen.query_one("#wizard-plan", DataTable)
            await until(pilot, lambda: table.row_count > 0, "the plan preview")
            await pilot.press("enter")
            await until(pilot, lambda: "Type the environment name" in screen_words(app), "the confirmation")
            assert "Type the environment name (production) and press enter to deploy; esc goes back." \
                in screen_words(app)
