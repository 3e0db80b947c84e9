"""The console's pace: quick for an environment whose deployment is in progress, slower for one where nothing
moves, and it says which."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pytest import MonkeyPatch

from console.app import OpsConsoleApp
from console.refresh_pace import due, refresh_line
from console.snapshot import EnvironmentSnapshot, take_snapshots
from core.engine import Engine
from tests.engine_rig import IMAGE, rig, rig_config
from tests.test_tui_console import SIZE, START, until


def _indicator(app: OpsConsoleApp) -> str:
    return str(app.main.query_one("#refresh-state").render())


async def test_an_idle_console_refreshes_every_5_s_and_a_deployment_brings_back_1_5_s(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "every 5 s" in _indicator(app), "the idle pace is shown")
            r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})  # waits for its approval
            app.request_refresh()
            await until(pilot, lambda: "every 1.5 s" in _indicator(app), "a deployment in progress: the quick pace")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")


def test_a_beat_reads_the_busy_environment_and_the_quiet_ones_at_their_slower_pace(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        settings = r.engine.config.console  # 1.5 s busy, 5 s quiet
        r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        snapshots = take_snapshots(r.engine, ["dev", "staging", "production"])
        names = list(snapshots)
        assert due(settings, {}, {}, names, 100.0) == names  # never read: every one
        taken = dict.fromkeys(names, 100.0)
        assert due(settings, snapshots, taken, names, 101.5) == ["production"]  # busy: every beat
        assert due(settings, snapshots, taken, names, 103.0) == ["production"]
        # The beat closest to the quiet pace reads the quiet ones (a little early, never a beat late).
        assert due(settings, snapshots, taken, names, 104.5) == names
        assert due(settings, {**snapshots}, {**taken, "dev": 104.5}, names, 106.0) == ["staging", "production"]


async def test_the_console_reads_a_quiet_environment_less_often_and_says_how_often(tmp_path: Path,
                                                                                  monkeypatch: MonkeyPatch) -> None:
    reads: Counter[str] = Counter()

    def counted(engine: Engine, names: list[str], **kwargs: Any) -> dict[str, EnvironmentSnapshot]:
        reads.update(names)
        return take_snapshots(engine, names, **kwargs)

    monkeypatch.setattr("console.refreshing.take_snapshots", counted)  # counts, then the real read
    base = rig_config()
    config = base.model_copy(update={"console": base.console.model_copy(
        update={"refresh_seconds": 0.5, "idle_refresh_seconds": 2.0})})
    with rig(tmp_path, start=START, config=config) as r:
        r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})  # waits for its approval
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: reads["production"] >= 13, "a dozen beats of production")
            line = _indicator(app)
            assert "every 0.5 s (quiet ones 2 s)" in line
            assert 0 < reads["dev"] <= reads["production"] / 2 and 0 < reads["staging"] <= reads["production"] / 2
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")


def test_the_quiet_pace_is_left_out_rather_than_the_line_cut() -> None:
    def line(width: int) -> str:
        return refresh_line(paused=False, period=1.5, when="03:12:09", keys="space", read_only=True,
                            quiet_period=5.0, width=width)

    assert line(120) == "● live · every 1.5 s (quiet ones 5 s) · last refresh 03:12:09 · READ-ONLY: actions are refused"
    assert line(78) == "● live · every 1.5 s · last refresh 03:12:09 · READ-ONLY: actions are refused"
