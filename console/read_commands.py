"""Commands that only read: `status`, `history`, `deployment` and `config show|validate` (the `config`
group also holds set, history and revert, from console/config_commands.py).

Each imports what it renders inside the command, so listing them in `opsconsole --help` costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from console.lazy import LazyChoice, deployment_statuses, environment_choice
from core.errors import BadInput
from core.outcome import exit_codes_help

if TYPE_CHECKING:
    from console.session import Session

EXIT_CODES = exit_codes_help()

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")


@click.group(epilog=EXIT_CODES)
def config() -> None:
    """Show, check or change the configuration (built-in defaults, user file, project file, OPSCONSOLE_* variables)."""


@config.command("show", epilog=EXIT_CODES)
@json_option
@click.pass_obj
def config_show(session: Session, as_json: bool) -> None:
    """Print the effective configuration and the files it came from."""
    import tomli_w

    from console import render

    loaded = session.loaded
    data = loaded.config.model_dump(mode="json", exclude_none=True)
    if as_json:
        render.echo_json({"sources": loaded.sources, "config": data})
        return
    click.echo("# sources, later ones win: " + ", ".join(loaded.sources))
    click.echo(tomli_w.dumps(data))


@config.command("validate", epilog=EXIT_CODES)
@json_option
@click.pass_obj
def config_validate(session: Session, as_json: bool) -> None:
    """Check the configuration; on a problem print file, field and reason, and exit 2."""
    from console import render

    loaded = session.loaded
    if as_json:
        render.echo_json({"valid": True, "sources": loaded.sources})
    else:
        click.echo("configuration is valid (" + ", ".join(loaded.sources) + ")")


@click.command(epilog=EXIT_CODES)
@click.argument("environment", required=False, type=environment_choice())
@json_option
@click.option("--history", "show_history", is_flag=True,
              help="Print the recorded changes of health (time, state, reason), newest first, and nothing else.")
@click.pass_obj
def status(session: Session, environment: str | None = None, as_json: bool = False,
           show_history: bool = False) -> None:
    """What is live (Cloud Run split, Vercel production), its health, and the active and last deployment.

    With --json, `status ENV` prints one object (the environment: live, health, and the active and last
    deployment as their public view); `status` prints an object of those keyed by environment name.

    Health is observed each time; a console that may change an environment records a change of its health in
    the registry (a --read-only one, or an operator outside its allow-list, shows it and records nothing).
    """
    from console import render
    from console.watch_commands import observe_health_of
    from core.config import ENVIRONMENTS
    from core.live import observe_environment

    if show_history:
        session.loaded  # noqa: B018 -- a broken configuration stops every command the same way (exit 2)
        _print_health_history(session, environment, as_json)
        return
    names = [environment] if environment else list(ENVIRONMENTS)
    health = {h.environment: h for h in observe_health_of(session, names)}
    states = [session.registry.get_environment_state(name) for name in names]
    wiring = session.wiring
    live = {
        name: observe_environment(wiring.environment(name), wiring.cloudrun(name), wiring.frontend()) for name in names
    }
    environments = session.loaded.config.environments
    strategies: dict[str, str] = {name: environments[name].strategy.kind for name in names if name in environments}
    if as_json:
        shown = {s.name: render.status_object(s, health[s.name], live[s.name], strategies.get(s.name)) for s in states}
        render.echo_json(shown[environment] if environment else shown)
        return
    render.print_table(render.environment_table(states, live, strategies, wiring.now()))
    for name in names:
        click.echo(f"health {health[name].describe()}")


def _print_health_history(session: Session, environment: str | None, as_json: bool) -> None:
    from console import render
    from core.health.record import health_history

    changes = health_history(session.registry, environment)
    if as_json:
        render.echo_json([h.to_dict() for h in changes])
    elif not changes:
        click.echo("no change of health recorded" + (f" for {environment}" if environment else ""))
    for h in [] if as_json else changes:
        click.echo(f"{h.observed_at:%Y-%m-%d %H:%M:%S} {h.environment:10} {h.state:8} {h.reason}")


@click.command(epilog=EXIT_CODES)
@click.option("--env", "environment", type=environment_choice(), help="Only this environment.")
@click.option("--status", "status_", type=LazyChoice(deployment_statuses), help="Only deployments in this status.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many, newest first."
)
@json_option
@click.pass_obj
def history(session: Session, environment: str | None, status_: str | None, limit: int, as_json: bool) -> None:
    """Past and running deployments, newest first (--json: a list of the deployments' public view)."""
    from console import render
    from core.registry import DeploymentStatus

    found = session.registry.list_deployments(
        environment=environment, status=DeploymentStatus(status_) if status_ else None, limit=limit
    )
    if as_json:
        from core.model.deployment_view import deployment_view

        render.echo_json([deployment_view(d).to_dict() for d in found])
    elif not found:
        click.echo("no deployments match")
    else:
        render.print_table(render.history_table(found))


@click.command(epilog=EXIT_CODES)
@click.argument("deployment_id")
@json_option
@click.pass_obj
def deployment(session: Session, deployment_id: str, as_json: bool) -> None:
    """One deployment: versions, stages with timings, and its step-by-step event log (--json: its public view and
    the log)."""
    from console import render

    found = session.registry.get_deployment(deployment_id)
    if found is None:
        raise BadInput(f"no deployment with id {deployment_id!r} in registry {session.resolve_registry_path()}")
    events = session.registry.events(deployment_id)
    if as_json:
        from core.model.deployment_view import deployment_view

        render.echo_json({"deployment": deployment_view(found).to_dict(),
                          "events": [e.model_dump(mode="json") for e in events]})
        return
    for part in render.deployment_detail(found, events):
        if isinstance(part, str):
            click.echo(part)
        else:
            render.print_table(part)


def _add_change_commands() -> None:
    from console.config_commands import config_history, config_revert, config_set

    for command in (config_set, config_history, config_revert):
        config.add_command(command)


_add_change_commands()
