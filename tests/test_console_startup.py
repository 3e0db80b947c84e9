"""The console shows its cards before anything is connected, and connects after: keys pressed meanwhile say so
and nothing crashes; what the first frame loads leaves the cloud clients, the sandbox and the engine out; a
failure while connecting ends the console with one sentence and its exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets._toast import Toast

from console.app import OpsConsoleApp
from console.startup import Connected, Starting
from tests.engine_rig import rig, rig_config
from tests.pty_rig import at_a_terminal
from tests.test_startup_imports import fresh_env

ROOT = Path(__file__).resolve().parent.parent
SIZE = (80, 24)
# What the first frame must not need: the clients that talk to a cloud, the sandbox serving one, the engine.
NOT_BEFORE_CONNECTING = ("google", "grpc", "aiohttp", "sandbox", "core.engine", "core.providers")


async def until(pilot: Pilot, condition: object, what: str) -> None:
    for _ in range(1200):
        if condition():  # type: ignore[operator]
            return
        await pilot.pause(0.025)
    raise AssertionError(f"never happened: {what}")


def toasts(app: OpsConsoleApp) -> str:
    return "\n".join(toast.render().plain for toast in app.screen.query(Toast))


async def test_the_cards_show_before_the_sandbox_starts_and_keys_meanwhile_say_still_connecting(
        tmp_path: Path) -> None:
    config = rig_config()
    go = threading.Event()
    started: list[str] = []
    with rig(tmp_path) as r:
        def connect() -> Connected:
            go.wait(60)  # the sandbox, the clients and the engine are held here until the test has looked
            started.append("connected")
            return Connected(r.engine, r.sleep)

        app = OpsConsoleApp(Starting(config, connect), read_only=False)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.pause()
            assert not started and not app.connected
            for name in ("dev", "staging", "production"):
                assert app.main.card(name).is_mounted
            assert "PRODUCTION" in app.main.card("production").text
            state = str(app.main.query_one("#refresh-state").render())
            assert "connecting to the sandbox" in state

            await pilot.press("p")  # promote, before there is an engine to promote with
            await until(pilot, lambda: "still connecting to the sandbox: Promote" in toasts(app), "the toast")
            await pilot.press("1")  # selecting needs nothing from the cloud: it acts at once
            assert app.selected == "dev"
            await pilot.press("h")  # the history reads the registry: not yet
            await until(pilot, lambda: "History is ready once the cards fill in" in toasts(app), "the second toast")
            assert app.screen is app.main and app.is_running

            go.set()
            await until(pilot, lambda: len(app.snapshots) == 3, "the first refresh after connecting")
            assert "websocket-server" in app.main.card("production").text
            assert "connecting" not in str(app.main.query_one("#refresh-state").render())
            await pilot.press("h")  # now it opens
            await until(pilot, lambda: type(app.screen).__name__ == "HistoryScreen", "the history screen")
            await pilot.press("escape", "ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")
    assert started == ["connected"]


async def test_a_failure_while_connecting_ends_the_console_with_it(tmp_path: Path) -> None:
    from core.errors import BadInput

    def connect() -> Connected:
        raise BadInput("Sandbox state file /x/sandbox.json is not valid JSON")

    app = OpsConsoleApp(Starting(rig_config(), connect))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: not app.is_running, "the console ends")
    assert isinstance(app.start_failure, BadInput)
    assert app.return_code == 2


# Builds the console as `opsconsole ui` does (configuration, registry setting, the App) and runs it to its first
# frame without ever connecting, then lists every module loaded.
FIRST_FRAME_PROBE = """\
import asyncio, json, sys
from console.app import OpsConsoleApp
from console.session import Session
from console.startup import starting_for

starting = starting_for(Session())
starting.start = lambda ready, failed: None  # never connects: what is loaded now is the first frame's
app = OpsConsoleApp(starting)

async def first_frame():
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.main.card("production").is_mounted
        print(json.dumps(sorted(sys.modules)))

asyncio.run(first_frame())
"""


def test_the_first_frame_loads_no_cloud_client_sandbox_or_engine(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", FIRST_FRAME_PROBE], cwd=tmp_path, env=fresh_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.splitlines()[-1])
    assert "textual.app" in modules and "console.app" in modules  # the probe did reach the console
    loaded = [m for m in modules if any(m == f or m.startswith(f + ".") for f in NOT_BEFORE_CONNECTING)]
    assert loaded == []


def test_a_damaged_sandbox_state_file_ends_the_console_with_one_sentence_and_exit_2(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    state.write_bytes(b"[]")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    environ.update(OPSCONSOLE_REGISTRY=str(tmp_path / "registry.json"), OPSCONSOLE_SANDBOX=str(state),
                   TERM="xterm-256color", PYTHONPATH=str(ROOT))
    code, seen = at_a_terminal(["ui"], tmp_path, environ, b"\x00never typed", b"", limit_s=60, size=SIZE)
    text = seen.decode(errors="replace")
    assert code == 2
    assert f"Sandbox state file {state}" in text and "Traceback" not in text
    assert state.read_bytes() == b"[]"  # nothing written over it


def test_a_shared_registry_that_does_not_answer_shows_the_cards_then_the_waiting_screen(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    environ.update(OPSCONSOLE_REGISTRY="postgresql://ops@127.0.0.1:1/ops", OPSCONSOLE_SANDBOX=str(tmp_path / "sb.json"),
                   TERM="xterm-256color", PYTHONPATH=str(ROOT))  # port 1: nothing listens there
    code, seen = at_a_terminal(["ui"], tmp_path, environ, b"registry unreachable", b"q", limit_s=90, size=SIZE)
    text = seen.decode(errors="replace")
    assert text.index("PRODUCTION") < text.index("registry unreachable")  # the cards first, then the wait
    assert code == 1  # q gives up: the registry's own sentence, as before the console connected in a thread
    assert "the registry postgresql://ops@127.0.0.1:1/ops cannot be reached" in text and "Traceback" not in text
