"""`opsconsole sandbox ...`: run the embedded cloud standalone and steer it (scenarios) while consoles use it."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from core.errors import BadInput, OperationFailed

if TYPE_CHECKING:
    from console.session import Session

# The sandbox (aiohttp, gRPC, the Google clients' types) is imported inside the commands that run it.

EXIT_CODES = """\b
Exit codes: 0 done; 1 no sandbox is running or it refused; 2 bad input"""


def sandbox_now(environ: Mapping[str, str]) -> datetime:
    """Now on the sandbox's clock, the clock its deployments are recorded on (it may run fast or stand still).

    A running sandbox answers with its clock; a stopped one resumes from its saved clock, or from the wall clock
    if that is later (SandboxClock.advance_to); with no sandbox yet, the wall clock. Cheap: the state file and
    one status call, no sandbox started.
    """
    import json

    import httpx

    from console.wiring import sandbox_state_file

    wall = time.time()
    try:
        saved = json.loads(sandbox_state_file(environ).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return datetime.fromtimestamp(wall, UTC)
    saved = saved if isinstance(saved, dict) else {}
    control = (saved.get("endpoints") or {}).get("control_url") if isinstance(saved.get("endpoints"), dict) else None
    if isinstance(control, str) and control:
        try:
            answer = httpx.get(control.rstrip("/") + "/sandbox/status", timeout=2.0)
            if answer.status_code == 200:
                return datetime.fromtimestamp(float(answer.json()["time"]), UTC)
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            pass  # gone: its saved clock below
    clock = saved.get("clock")
    resumed = float(clock) if isinstance(clock, int | float) and not isinstance(clock, bool) else wall
    return datetime.fromtimestamp(max(wall, resumed), UTC)


@click.group(epilog=EXIT_CODES)
def sandbox() -> None:
    """The embedded sandbox cloud (Cloud Run, Monitoring, Vercel, Slack and PagerDuty on loopback)."""


def _scenario_choice(name: str) -> str:
    from sandbox.cloud import SandboxCloud

    known = SandboxCloud.scenario_names()
    if name not in known:
        raise BadInput(f"unknown scenario {name!r}; choose one of {', '.join(known)}")
    return name


@sandbox.command("serve", epilog=EXIT_CODES)
@click.option("--scenario", default="healthy", show_default=True, help="Behaviour of new revisions and faults.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Sandbox seconds per real second (0 freezes the clock).",
)
@click.option("--metric-point-s", type=int, default=None,
              help="Seconds per Cloud Run point in Monitoring. Google's is 60 (the default); anything shorter is NOT "
                   "Google's, for tests and benchmarks that judge short windows. Default: what the state file "
                   "kept, else 60.")
@click.option("--ingestion-delay", default=None, metavar="SECONDS|google",
              help="How long after its end a Cloud Run point becomes visible in Monitoring: 'google' (the default) "
                   "draws it like Google's (mostly 60-120 s, never past 180 s); a number of seconds is NOT "
                   "Google's (0: at once, for tests). Default: what the state file kept, else google.")
@click.pass_obj
def serve(session: Session, scenario: str, speed: float, metric_point_s: int | None,
          ingestion_delay: str | None) -> None:
    """Serve the sandbox in the foreground, state persisted, until Ctrl-C; consoles started meanwhile attach to it."""
    import filelock

    from console import render
    from console.wiring import running_sandbox, sandbox_state_file, seed_from_config
    from sandbox.clock import SandboxClock
    from sandbox.cloud import SandboxCloud

    state_file = sandbox_state_file(session.environ)
    if running_sandbox(state_file) is not None:
        raise OperationFailed(f"a sandbox already serves from {state_file}; stop it first or set OPSCONSOLE_SANDBOX")
    _scenario_choice(scenario)
    ingestion = None
    if metric_point_s is not None or ingestion_delay is not None:
        from sandbox.monitoring_ingest import GOOGLE_POINT_S, Ingestion

        ingestion = Ingestion.parse(GOOGLE_POINT_S if metric_point_s is None else metric_point_s,
                                    ingestion_delay or "google")
    # The same lock an in-process sandbox holds: a console starting meanwhile waits and then attaches.
    lock = filelock.FileLock(f"{state_file}.lock")
    state_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock.acquire(timeout=10)
    except filelock.Timeout:
        raise OperationFailed(f"a console runs the sandbox in-process on {state_file}; close it first") from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cloud = SandboxCloud(
        seed=seed_from_config(session.loaded.config),
        scenario=scenario,
        clock=SandboxClock(speed=speed),
        state_file=state_file,
        ingestion=ingestion,
    )
    cloud.start()
    try:
        if cloud.scenario.name != scenario:
            cloud.set_scenario(scenario)  # a restored state keeps its scenario unless told otherwise
        click.echo(f"sandbox serving (scenario {cloud.scenario.name}, Monitoring {cloud.ingestion.describe()}, "
                   f"state {state_file}); Ctrl-C stops it")
        render.echo_json(cloud.endpoints.to_dict())
        stop.wait()
    finally:
        cloud.stop()
        lock.release()


@sandbox.command("scenario", epilog=EXIT_CODES)
@click.argument("name")
@click.option("--now", "strike_now", is_flag=True,
              help="Also strike the revisions serving now: the newest revision taking traffic in each service (the "
                   "canary during a rollout, else the one serving) gets NAME's new-revision behaviour from this "
                   "moment until the next switch. Without it only revisions created from now on do.")
@click.pass_obj
def scenario(session: Session, name: str, strike_now: bool) -> None:
    """Switch the running sandbox to scenario NAME.

    Environment-wide faults (outages, Redis, instances at zero) hit every revision at once; NAME's
    new-revision behaviour goes to revisions created from now on, or with --now also to the revisions
    serving now, so a canary under traffic can fail. Metrics and probes show it from the switch on, and the
    next switch (e.g. `healthy`) clears a --now fault for everything served after it.
    """
    from console.wiring import running_sandbox, sandbox_state_file
    from sandbox.control import switch_scenario

    _scenario_choice(name)
    running = running_sandbox(sandbox_state_file(session.environ))
    if running is None:
        raise OperationFailed("no sandbox is running; start one with `opsconsole sandbox serve`")
    endpoints, _ = running
    answer = switch_scenario(endpoints.control_url, name, now=strike_now)
    click.echo(f"sandbox scenario is now {answer['name']}: {answer.get('description', '')}".rstrip(": "))
    for revision in answer.get("struck", []):
        click.echo(f"  strikes {revision.rsplit('/', 1)[-1]} ({revision.split('/services/')[-1].split('/')[0]})")


@sandbox.command("page-fault", epilog=EXIT_CODES)
@click.argument("project")
@click.argument("fault", type=click.Choice(["server-error", "missing-asset", "wrong-websocket-url", "none"]))
@click.option("--existing", is_flag=True, help="Also break (or heal) every build the project already has, the one "
                                               "serving production included; without it only builds made from now on.")
@click.pass_obj
def page_fault(session: Session, project: str, fault: str, existing: bool) -> None:
    """Make the running sandbox's Vercel serve PROJECT's pages broken: a 500 on /agents, its script missing, or a
    wrong WebSocket URL baked in (`none` heals). The frontend's verification fetches those pages."""
    from console.wiring import running_sandbox, sandbox_state_file
    from sandbox.control import set_page_fault

    running = running_sandbox(sandbox_state_file(session.environ))
    if running is None:
        raise OperationFailed("no sandbox is running; start one with `opsconsole sandbox serve`")
    set_page_fault(running[0].control_url, project, None if fault == "none" else fault, existing)
    which = "every build" if existing else "builds made from now on"
    click.echo(f"{project}: {which} serve " + ("healthy pages" if fault == "none" else f"pages with {fault}"))


@sandbox.command("status", epilog=EXIT_CODES)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def status(session: Session, as_json: bool) -> None:
    """Whether a standalone sandbox is running, its scenario, clock and endpoints."""
    from console import render
    from console.wiring import running_sandbox, sandbox_state_file

    state_file = sandbox_state_file(session.environ)
    running = running_sandbox(state_file)
    if running is None:
        if as_json:
            render.echo_json({"running": False, "state_file": str(state_file)})
        else:
            click.echo(f"no sandbox is running on {state_file}; consoles start one in-process when they need it")
        return
    endpoints, info = running
    if as_json:
        render.echo_json(
            {"running": True, "state_file": str(state_file), "status": info, "endpoints": endpoints.to_dict()}
        )
        return
    from sandbox.monitoring_ingest import Ingestion

    monitoring = Ingestion.from_dict(info.get("monitoring_ingestion")).describe()
    click.echo(f"sandbox running on {state_file}: scenario {info['scenario']}, clock speed {info['speed']}, "
               f"Monitoring {monitoring}")
    for name, value in endpoints.to_dict().items():
        click.echo(f"  {name:18} {value}")


@sandbox.command("notifications", epilog=EXIT_CODES)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def notifications(session: Session, as_json: bool) -> None:
    """Every notification the sandbox's Slack and PagerDuty received, oldest first.

    Asks a running `sandbox serve`; without one, reads what the sandbox saved in its state file.
    """
    from console import render
    from console.wiring import running_sandbox, sandbox_state_file
    from sandbox.control import fetch_notifications
    from sandbox.persistence import read_state
    from sandbox.sinks import SinkStore
    from sandbox.sinks import notifications as rows_of

    state_file = sandbox_state_file(session.environ)
    running = running_sandbox(state_file)
    if running is not None:
        rows = fetch_notifications(running[0].control_url)
    else:
        store = SinkStore()
        store.load((read_state(state_file) or {}).get("sinks"))
        rows = rows_of(store.received())
    if as_json:
        render.echo_json(rows)
        return
    if not rows:
        click.echo("the sandbox's Slack and PagerDuty have received nothing yet")
    for row in rows:
        refused = "" if 200 <= row["status"] < 300 else f"  (refused: HTTP {row['status']})"
        key = f" [{row['dedup_key']}]" if row["dedup_key"] else ""
        click.echo(f"{row['time']}  {row['channel']:<16} {row['action']:<8}{key} {row['summary']}{refused}")
