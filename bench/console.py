"""Benchmark of the Textual console against the in-process sandbox, headless: a table of medians over runs.

Each run starts a sandbox (frozen clock at a fixed epoch) with a production canary judged at 10 % and
waiting for the operator, then lets the clock run at real speed and opens the console headless:

- first paint: App created -> the first frame in which all three cards show their live version;
- select key: "1"/"3" sent -> the first frame with the card highlighted and the canary panel on it;
- promote key: "p" sent on production -> the first frame with the typed-confirmation modal (median of 6
  presses, 5 backed out with esc; the first press of a run also builds the modal's styles, about 45 ms);
- promote done: "production" + enter typed -> the first frame whose production card shows 25 % (engine,
  Cloud Run, refresh);
  "frame" is a finished display (App.post_display_hook): what a terminal would be sent. Keys are handed to
  the driver like a terminal's, without Pilot's wait for the process to look idle (up to 1 s a key);
- idle CPU: process CPU time / wall time over --idle seconds at the default refresh (1.5 s, 3 environments),
  once the charts hold all their windows (before that, each refresh also reads one past window). The
  in-process sandbox's servers answer those refreshes in the same process, so their CPU is included;
- memory: RSS after first paint, after --refreshes more refreshes, and the process's peak RSS;
- from process start: what a person who types `opsconsole` gets. `python -m console` is started on a
  pseudo-terminal of 80x24 (bench/terminal.py), against the same canary at 10 % saved to a sandbox
  state file and a registry, which the console loads as it would after a restart: it starts the sandbox
  in-process from that file. Each figure is read off the terminal, as a person sees it:
  - cards: from just before the process starts to the first screen with the three cards (their titles;
    the console connects to the sandbox after this frame, console/startup.py), and the CPU time the
    process had used by then (/proc, 10 ms ticks): on a shared machine the steadier of the two;
  - live data: to the first screen on which the three cards show live data (no "waiting for the first
    refresh", a websocket-server line on each card). Python's start, the imports, the configuration,
    the sandbox's start and the first refresh are all inside it;
  - select key, help key: "1"/"3" written to the terminal -> the first screen whose action panel names
    that environment; "?" -> the first screen with the help's key table, "?" again -> gone (a lone esc
    would wait for the rest of an escape sequence). The canary is
    in progress, so the refresh runs every 1.5 s meanwhile (`--keys` presses each, median);
  - idle CPU: the process's CPU time (/proc) over --idle seconds, after the keys; peak RSS: VmHWM.

Run: `python bench/console.py [--runs 3] [--idle 20] [--refreshes 200] [--keys 10]`;
`python bench/console.py --start-only [--runs 5] [--root DIR]` measures from process start only (of another
checkout with --root, for a before/after comparison).
`python bench/console.py --screenshot docs/console.svg` writes the README's screenshot instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402
from textual.pilot import Pilot  # noqa: E402

from bench.terminal import Terminal  # noqa: E402
from console.app import OpsConsoleApp  # noqa: E402
from console.screens.confirm import ConfirmScreen  # noqa: E402
from console.wiring import Wiring, seed_from_config  # noqa: E402
from core.engine import Engine, approve, promote  # noqa: E402
from core.registry import DeploymentRegistry  # noqa: E402
from sandbox.clock import SandboxClock  # noqa: E402
from sandbox.cloud import SandboxCloud  # noqa: E402
from tests.engine_rig import IMAGE, OPERATOR, START, Rig, rig, rig_config  # noqa: E402
from widgets.canary_panel import CanaryPanel  # noqa: E402

SIZE = (120, 36)
POLL_S = 0.0005
START_SIZE = (80, 24)
CARDS = "from start: the three cards on screen"
CARDS_CPU = "from start: CPU time until the cards show"
LIVE = "from start: the cards with live data"
SELECT = "from start: select key → action panel (refresh running)"
HELP = "from start: ? → help, ? → back (refresh running)"
IDLE = "from start: idle CPU (share of one core)"
PEAK = "from start: peak RSS"
TARGETS = {"first paint": "< 1000 ms", "select key → card highlighted": "< 50 ms",
           "promote key → confirm modal": "< 50 ms", "idle CPU (share of one core)": "< 3 %",
           "peak RSS": "< 150 MB", CARDS: "< 1000 ms", SELECT: "< 50 ms", HELP: "< 50 ms", IDLE: "< 3 %",
           PEAK: "< 150 MB"}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TimedApp(OpsConsoleApp):
    """The console, noting when a frame first shows what a measurement waits for."""

    CSS_PATH = str(ROOT / "console" / "app.tcss")  # a relative path would be read beside this file
    watching: Callable[[], bool] | None = None
    shown_at: float | None = None

    def post_display_hook(self) -> None:
        if self.watching is not None and self.shown_at is None and self.watching():
            self.shown_at = time.perf_counter()


async def shown(app: TimedApp, condition: Callable[[], bool], what: str, since: float,
                limit_s: float = 30.0) -> float:
    """Milliseconds from `since` to the first frame in which `condition` holds (the display hook notes it)."""
    app.watching, app.shown_at = condition, None
    while app.shown_at is None:
        if time.perf_counter() - since > limit_s:
            raise RuntimeError(f"never shown: {what}")
        await asyncio.sleep(POLL_S)
    app.watching = None
    return (app.shown_at - since) * 1000


def send_key(app: OpsConsoleApp, key: str) -> float:
    """Hand one key to the driver as a terminal would; returns when it was sent."""
    assert app._driver is not None
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    sent = time.perf_counter()
    app._driver.send_message(event)
    return sent


async def wait_until(pilot: Pilot, condition: Callable[[], bool], what: str, limit_s: float = 30.0) -> None:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > limit_s:
            raise RuntimeError(f"never happened: {what}")
        await asyncio.sleep(POLL_S)


def canary_at_10(r: Rig) -> None:
    deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
    approve(r.engine, "production")
    r.drive(deployment.id)
    promote(r.engine, "production")
    if r.drive(deployment.id).state != "operator":
        raise RuntimeError("the canary did not stop for the operator at 10 %")


async def one_run(idle_s: float, refreshes: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, rig(Path(tmp), config=rig_config(), start=START) as r:
        canary_at_10(r)
        r.clock.set_speed(1.0)  # from here on the cloud's time runs: metric windows end as they would
        started = time.perf_counter()
        app = TimedApp(r.engine, sleep=r.sleep)
        app.watching = lambda: app.is_running and len(app.snapshots) == 3 and all(
            "waiting for the first refresh" not in app.main.card(e).text for e in app.environments)
        async with app.run_test(size=SIZE) as pilot:
            figures["first paint"] = await shown(app, app.watching, "first paint", started)
            figures["RSS after first paint"] = rss_mb()
            await wait_until(pilot, lambda: not app.busy, "the first refreshes end")
            panel = app.main.query_one(CanaryPanel)
            selects = []
            for key, env in (("1", "dev"), ("3", "production")) * 5:
                sent = send_key(app, key)
                selects.append(await shown(app, lambda env=env: app.main.card(env).has_class("selected")
                                           and f"· {env}" in str(panel.border_title), "selection", sent))
                await asyncio.sleep(0.05)
            figures["select key → card highlighted"] = statistics.median(selects)
            # Five presses, each backed out with esc (nothing changes), then the one that promotes: one
            # sample per run was at the mercy of whatever refresh thread happened to hold the GIL.
            promotes = []
            for attempt in range(6):
                sent = send_key(app, "p")
                promotes.append(await shown(
                    app, lambda: isinstance(app.screen, ConfirmScreen), "the confirm modal", sent))
                if attempt < 5:
                    send_key(app, "escape")
                    await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the modal closes")
                    await asyncio.sleep(0.05)
            figures["promote key → confirm modal"] = statistics.median(promotes)
            await pilot.press(*"production")
            sent = send_key(app, "enter")
            figures["promote confirmed → card shows 25 %"] = await shown(
                app, lambda: "weight 25 %" in app.main.card("production").text, "25 % on the card", sent)
            await wait_until(pilot, lambda: not app.busy, "the promotion's threads end")
            while not all(s.metrics is not None and s.metrics.complete for s in app.snapshots.values()):
                app.request_refresh()  # the charts read one window a refresh: fill them before measuring idle
                await wait_until(pilot, lambda: not app.busy, "a refresh")
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await pilot.pause(idle_s)
            figures["idle CPU (share of one core)"] = 100 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
            for _ in range(refreshes):
                app.request_refresh()
                await wait_until(pilot, lambda: not app.busy, "a refresh")
            figures[f"RSS after {refreshes} more refreshes"] = rss_mb()
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: not app.busy, "the console's threads end")
    figures["peak RSS"] = peak_rss_mb()
    return figures


def saved_canary(directory: Path) -> None:
    """A sandbox state file and a registry in `directory` holding a production canary at 10 %, waiting.

    Its clock starts now, not at the fixed epoch of the in-process runs: a console started from the file never
    turns its clock back (sandbox time runs forward only), so a past epoch would leave the console's driver
    judging every analysis window since then, all through the measurement."""
    config = rig_config()
    clock = SandboxClock(speed=0, start=time.time())
    cloud = SandboxCloud(seed=seed_from_config(config), clock=clock, state_file=directory / "sandbox.json").start()
    wiring = Wiring.for_sandbox(config, cloud)
    registry = DeploymentRegistry(directory / "registry.json")
    engine = Engine(config, registry, wiring.ports(), operator=OPERATOR)
    try:
        canary_at_10(Rig(cloud, clock, wiring, engine, registry))
    finally:
        engine.release_locks()
        wiring.close()
        cloud.stop()  # saves the state file


def cards_shown(screen: str) -> bool:
    """The three cards are on screen: their titles (the first frame, before the console has connected)."""
    return "PRODUCTION" in screen and "staging" in screen and "dev ·" in screen


def cards_live(screen: str) -> bool:
    """All three cards show what the cloud serves: none still waits, each names the WebSocket server."""
    return "PRODUCTION" in screen and "waiting for" not in screen and screen.count("websocket-server") >= 3


def key_ms(terminal: Terminal, key: bytes, condition: Callable[[str], bool]) -> float:
    """Milliseconds from writing `key` to the terminal to the first whole screen for which `condition` holds."""
    sent = time.perf_counter()
    os.write(terminal.master, key)
    return (terminal.wait_for(condition, limit_s=30) - sent) * 1000


def settle(terminal: Terminal, seconds: float) -> None:
    """Keep reading what the console writes (a full terminal would block it) for `seconds`."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        terminal.read(0.05)


def peak_rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def from_start(saved: Path, root: Path = ROOT, *, keys: int = 10, idle_s: float = 10.0) -> dict[str, float]:
    """`python -m console` (of the checkout `root`) on an 80x24 pty, each figure read off the terminal."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(saved, home)  # every run starts from the same saved state
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
        env.update(PYTHONPATH=str(root), TERM="xterm-256color", OPSCONSOLE_OPERATOR=OPERATOR,
                   OPSCONSOLE_REGISTRY=str(home / "registry.json"), OPSCONSOLE_SANDBOX=str(home / "sandbox.json"),
                   XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
        terminal = Terminal([sys.executable, "-m", "console"], cwd=home, env=env, size=START_SIZE)
        try:
            figures[CARDS] = (terminal.wait_for(cards_shown) - terminal.started) * 1000
            figures[CARDS_CPU] = terminal.cpu_seconds() * 1000  # steadier than wall time on a shared machine
            figures[LIVE] = (terminal.wait_for(cards_live) - terminal.started) * 1000
            settle(terminal, 1.0)
            selects, helps = [], []
            for index in range(keys):
                env_key, env_name = (b"1", "dev") if index % 2 == 0 else (b"3", "production")
                selects.append(key_ms(terminal, env_key, lambda text, n=env_name: f"Actions · {n}" in text))
                settle(terminal, 0.2)
                helps.append(key_ms(terminal, b"?", lambda text: "what it does" in text))
                settle(terminal, 0.2)
                helps.append(key_ms(terminal, b"?", lambda text: "what it does" not in text))  # ? closes it too
                settle(terminal, 0.2)
            figures[SELECT], figures[HELP] = statistics.median(selects), statistics.median(helps)
            cpu0, wall0 = terminal.cpu_seconds(), time.perf_counter()
            settle(terminal, idle_s)
            figures[IDLE] = 100 * (terminal.cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
            figures[PEAK] = peak_rss_of(terminal.process.pid)
        finally:
            terminal.close()
    return figures


UNITS = {"CPU time": "ms", "RSS": "MB", "peak": "MB", "CPU": "%"}  # the first key found in a name wins


def unit(name: str) -> str:
    return next((u for key, u in UNITS.items() if key in name), "ms")


def table(runs: list[dict[str, float]]) -> str:
    rows = [("measure", "median", "min", "max", "target")]
    for name in runs[0]:
        values = [run[name] for run in runs]
        u = unit(name)
        rows.append((name, f"{statistics.median(values):.1f} {u}", f"{min(values):.1f}", f"{max(values):.1f}",
                     TARGETS.get(name, "")))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def screenshot(path: Path) -> None:
    """The README's screenshot: the main screen with a production canary at 10 %, charts filled."""
    import pytest

    from tests.test_tui_snapshots import canary_console, settled

    monkeypatch = pytest.MonkeyPatch()
    try:
        with tempfile.TemporaryDirectory() as tmp, canary_console(Path(tmp), monkeypatch, config=rig_config()) \
                as (app, _):
            async def shoot(pilot: Pilot) -> None:
                await settled(app)(pilot)
                app.save_screenshot(path.name, str(path.parent))
                await pilot.press("ctrl+r")
                await wait_until(pilot, lambda: not app.busy, "the console's threads end")
                app.exit()

            app.run(headless=True, size=(160, 44), auto_pilot=shoot)
    finally:
        monkeypatch.undo()
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measurement per run")
    parser.add_argument("--refreshes", type=int, default=200)
    parser.add_argument("--keys", type=int, default=10, help="presses of each key per run, from process start")
    parser.add_argument("--screenshot", type=Path, help="write the README screenshot (SVG) here and stop")
    parser.add_argument("--start-only", action="store_true", help="measure first paint from process start only")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout whose console is started (default: this one), for a before/after table")
    parser.add_argument("--before", type=Path,
                        help="also measure this checkout from process start, alternating with --root run by run "
                             "(both under the same load), and print its table first")
    args = parser.parse_args()
    if args.screenshot:
        screenshot(args.screenshot)
        return
    loads = [os.getloadavg()[0]]
    roots = [r.resolve() for r in ([args.before] if args.before else []) + [args.root]]
    runs: dict[Path, list[dict[str, float]]] = {root: [] for root in roots}
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp)
        saved_canary(saved)
        for index in range(args.runs):
            for root in roots:
                in_process = not args.start_only and root == roots[-1]  # the in-process runs are this checkout's
                figures = asyncio.run(one_run(args.idle, args.refreshes)) if in_process else {}
                figures.update(from_start(saved, root, keys=args.keys, idle_s=args.idle))
                runs[root].append(figures)
                loads.append(os.getloadavg()[0])
            print(f"run {index + 1}/{args.runs} done", file=sys.stderr)
    print(f"console benchmark: {args.runs} runs, {os.cpu_count()} CPUs, load average {min(loads):.1f} to "
          f"{max(loads):.1f} (median {statistics.median(loads):.1f}) over the runs; "
          + ("" if args.start_only else f"{SIZE[0]}x{SIZE[1]}, headless, in-process sandbox, idle {args.idle:g} s, "
             f"{args.refreshes} extra refreshes; ")
          + f"from process start: {START_SIZE[0]}x{START_SIZE[1]} pty, in-process sandbox from a state file, "
            f"{args.keys} presses of each key, idle {args.idle:g} s")
    for root in roots:
        print(f"\nconsole of {root}:")
        print(table(runs[root]))


if __name__ == "__main__":
    main()
