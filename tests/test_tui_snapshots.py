"""Snapshot tests of the console with a production canary in the sandbox: the main screen at three sizes with the
canary waiting at 25 % (the layout for every size: tests/test_tui_layout.py says what must show), help at 10 %.

Everything on screen is pinned: the sandbox clock is frozen (so its traffic, and every chart, is the same
on every run), registry timestamps are read from that clock and deployment ids draw from a counter.
Update after a deliberate change of the layout with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import itertools
import time
import types
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import OpsConsoleApp
from core.config import ConsoleConfig
from core.engine import approve, promote
from core.health.monitor import HealthMonitor
from tests.engine_rig import IMAGE, START, Rig, rig, rig_config

SnapCompare = Callable[..., bool]


def quiet_config() -> ConsoleConfig:
    """The rig's config with the slowest refresh timer: the test refreshes by hand, so nothing moves mid-shot."""
    data = rig_config().model_dump()
    data["console"]["refresh_seconds"] = 10
    return ConsoleConfig.model_validate(data)


@contextmanager
def canary_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, config: ConsoleConfig | None = None,
                   promotes: int = 1) -> Iterator[tuple[OpsConsoleApp, Rig]]:
    """A console on a sandbox whose production canary was judged at 10 % (25 % after `promotes=2`) and waits for
    the operator."""
    counter = itertools.count(0xC0FFEE)
    monkeypatch.setattr("core.registry.ids.secrets", types.SimpleNamespace(token_hex=lambda n: f"{next(counter):06x}"))
    with rig(tmp_path, config=config or quiet_config(), start=START) as r:
        monkeypatch.setattr("core.registry.registry.utc_now", r.engine.ports.now)
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        r.drive(deployment.id)
        for _ in range(promotes):
            promote(r.engine, "production")
            assert r.drive(deployment.id).state == "operator"
        monitor = HealthMonitor(r.engine.config, r.registry, r.engine.ports, r.wiring.http, r.engine.gate)
        yield OpsConsoleApp(r.engine, sleep=r.sleep, health=monitor), r


def settled(app: OpsConsoleApp, *keys: str) -> Callable[[Pilot], Awaitable[None]]:
    """Refresh until every chart has all its windows and no thread is working, then press `keys`."""

    async def run_before(pilot: Pilot) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            snapshots = app.snapshots.values()
            if len(snapshots) == 3 and all(s.metrics is not None and s.metrics.complete for s in snapshots) \
                    and all(s.health is not None for s in snapshots if app.health is not None) and not app.busy:
                break
            if not app.busy:
                app.request_refresh()
            await pilot.pause(0.02)
        else:
            raise AssertionError("the charts never filled")
        await pilot.press(*keys)
        # A screen may fill itself after it shows (the help screen's Markdown loads in a task): wait until
        # two looks in a row agree.
        seen = ""
        while time.monotonic() < deadline:
            await pilot.pause(0.1)
            now = app.export_screenshot()
            if now == seen:
                return
            seen = now
        raise AssertionError("the screen never settled")

    return run_before


@pytest.mark.parametrize("size", [(120, 36), (80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_of_the_main_screen_with_a_canary_waiting_at_25(size: tuple[int, int], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 snap_compare: SnapCompare) -> None:
    with canary_console(tmp_path, monkeypatch, promotes=2) as (app, _):
        assert snap_compare(app, terminal_size=size, run_before=settled(app))


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_of_the_help_screen(size: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     snap_compare: SnapCompare) -> None:
    with canary_console(tmp_path, monkeypatch) as (app, _):
        assert snap_compare(app, terminal_size=size, run_before=settled(app, "question_mark"))
