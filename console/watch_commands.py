"""`opsconsole watch`: live health of environments in a terminal without the TUI, or as a pipeline gate.

Also the one place the CLI observes health (`observe_health_of`), so `status` and `watch` observe and record
the same way: a console that may change an environment records each change of its state; others only show it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from console.lazy import environment_choice
from core.outcome import Outcome, exit_codes_help

if TYPE_CHECKING:
    from console.session import Session
    from core.model.health import Health

EXIT_DOWN = Outcome.UNHEALTHY


def observe_health_of(session: Session, names: list[str]) -> list[Health]:
    """Observe each environment's health; record each change of state where this console may write.

    Anyone may observe and see every environment's health (so neither command is refused by the access gate);
    the change is recorded only by a console the gate lets change that environment: not a --read-only one, and
    not an operator outside its allow-list (the shared registry's row-level security would refuse the write).
    """
    from core.health.monitor import HealthMonitor

    monitor = HealthMonitor(session.loaded.config, session.registry, session.engine.ports, session.wiring.http,
                            session.gate)
    return [monitor.check(name).health for name in names]


def _line(health: Health) -> str:
    return f"{health.observed_at:%Y-%m-%d %H:%M:%S} {health.environment:10} {health.state:8} {health.reason}"


@click.command(epilog=exit_codes_help())
@click.argument("environments", nargs=-1, type=environment_choice())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line (Health.to_dict()).")
@click.option("--exit-on-down", is_flag=True, help=f"Exit with code {EXIT_DOWN} as soon as an environment is down.")
@click.option("--interval", type=click.FloatRange(min=1), default=15.0, show_default=True,
              help="Seconds between observations (on the cloud's clock).")
@click.option("--polls", type=click.IntRange(min=0), default=0, show_default=True,
              help="Stop after this many observations of each environment (0: until interrupted).")
@click.pass_obj
def watch(session: Session, environments: tuple[str, ...], as_json: bool, exit_on_down: bool, interval: float,
          polls: int) -> None:
    """Print each environment's health, then a line per change of state (ok, degraded, down)."""
    from console import render
    from core.config import ENVIRONMENTS
    from core.health.watch import health_changes

    names = list(environments) or list(ENVIRONMENTS)
    down: set[str] = set()
    rounds = health_changes(lambda these: observe_health_of(session, list(these)), names, session.wiring.sleep,
                            interval, polls)
    for changed in rounds:
        for health in changed:
            if health.state == "down":
                down.add(health.environment)
            else:
                down.discard(health.environment)
            if as_json:
                render.echo_json_line(health.to_dict())
            else:
                click.echo(_line(health))
        if exit_on_down and down:
            click.get_current_context().exit(EXIT_DOWN)
