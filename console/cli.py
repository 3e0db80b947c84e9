"""The `opsconsole` command line: the same engine as the TUI, headless, for scripts and CI."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import click
import tomli_w

from console import render
from console.deploy_commands import COMMANDS as DEPLOY_COMMANDS
from console.infra_commands import infra
from console.pipeline_commands import pipeline
from console.recover_commands import COMMANDS as RECOVER_COMMANDS
from console.registry_commands import registry
from console.report_commands import report
from console.sandbox_commands import sandbox
from console.session import Session
from core.config import ENVIRONMENTS
from core.config.options import option_callback
from core.errors import BadInput, OpsError
from core.live import observe_environment
from core.registry import DeploymentStatus

EXIT_CODES = """\b
Exit codes:
  0  the command did what was asked
  1  the operation failed (a provider, the registry or a check said no)
  2  bad input (arguments, configuration file, runbook); nothing was changed"""

STATUSES = [s.value for s in DeploymentStatus]
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
read_only_option = click.option("--read-only", is_flag=True,
                                help="Open the console read-only: it shows everything and refuses every action.")


@click.group(invoke_without_command=True, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Project configuration file (default ./opsconsole.toml; env OPSCONSOLE_CONFIG).",
)
@click.option(
    "--registry",
    "registry_path",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=option_callback("--registry"),  # the rule of registry_path in the configuration
    help="Deployment registry file (default: the user's data directory; env OPSCONSOLE_REGISTRY).",
)
@read_only_option
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, registry_path: Path | None, read_only: bool) -> None:
    """Deploy the AI Agent Network and keep it healthy.

    With no command, opens the console at a terminal, and prints the status of every environment otherwise.
    """
    if config_file is not None and not config_file.is_file():
        raise BadInput(f"configuration file {config_file} does not exist")
    ctx.obj = session = Session(config_file=config_file, registry_path=registry_path)
    ctx.call_on_close(session.close)
    if read_only and ctx.invoked_subcommand not in (None, "ui", "report"):
        # Refused rather than ignored: an operator who asked for read-only must not change anything by mistake.
        raise BadInput(f"--read-only applies to the console and reports only (opsconsole --read-only, opsconsole "
                       f"ui --read-only, opsconsole --read-only report); `{ctx.invoked_subcommand}` does not take it")
    ctx.meta["read_only"] = read_only
    if ctx.invoked_subcommand is None:
        ctx.invoke(ui if sys.stdin.isatty() and sys.stdout.isatty() else status)


@cli.command(epilog=EXIT_CODES)
@read_only_option
@click.pass_context
def ui(ctx: click.Context, read_only: bool) -> None:
    """Open the console: live environments, canary judge, actions and log (Textual; needs a terminal)."""
    from console.app import OpsConsoleApp  # only the TUI loads Textual's app machinery

    session: Session = ctx.obj
    read_only = read_only or bool(ctx.meta.get("read_only"))
    OpsConsoleApp(session.engine, sleep=session.wiring.sleep, read_only=read_only,
                  recovery_ports=session.wiring.recovery_ports).run()


@cli.group(epilog=EXIT_CODES)
def config() -> None:
    """Show or check the configuration (built-in defaults, user file, project file, OPSCONSOLE_* variables)."""


@config.command("show", epilog=EXIT_CODES)
@json_option
@click.pass_obj
def config_show(session: Session, as_json: bool) -> None:
    """Print the effective configuration and the files it came from."""
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
    loaded = session.loaded
    if as_json:
        render.echo_json({"valid": True, "sources": loaded.sources})
    else:
        click.echo("configuration is valid (" + ", ".join(loaded.sources) + ")")


@cli.command(epilog=EXIT_CODES)
@click.argument("environment", required=False, type=click.Choice(ENVIRONMENTS))
@json_option
@click.pass_obj
def status(session: Session, environment: str | None = None, as_json: bool = False) -> None:
    """What is live (Cloud Run split, Vercel production) and the active and last deployment, per environment."""
    names = [environment] if environment else list(ENVIRONMENTS)
    states = [session.registry.get_environment_state(name) for name in names]
    wiring = session.wiring
    live = {
        name: observe_environment(wiring.environment(name), wiring.cloudrun(name), wiring.frontend()) for name in names
    }
    if as_json:
        render.echo_json([{**s.model_dump(mode="json"), "live": dataclasses.asdict(live[s.name])} for s in states])
        return
    environments = session.loaded.config.environments
    strategies = {name: environments[name].strategy.kind for name in names if name in environments}
    render.print_table(render.environment_table(states, live, strategies, wiring.now()))


@cli.command(epilog=EXIT_CODES)
@click.option("--env", "environment", type=click.Choice(ENVIRONMENTS), help="Only this environment.")
@click.option("--status", "status_", type=click.Choice(STATUSES), help="Only deployments in this status.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many, newest first."
)
@json_option
@click.pass_obj
def history(session: Session, environment: str | None, status_: str | None, limit: int, as_json: bool) -> None:
    """Past and running deployments, newest first."""
    found = session.registry.list_deployments(
        environment=environment, status=DeploymentStatus(status_) if status_ else None, limit=limit
    )
    if as_json:
        render.echo_json([d.model_dump(mode="json") for d in found])
    elif not found:
        click.echo("no deployments match")
    else:
        render.print_table(render.history_table(found))


@cli.command(epilog=EXIT_CODES)
@click.argument("deployment_id")
@json_option
@click.pass_obj
def deployment(session: Session, deployment_id: str, as_json: bool) -> None:
    """One deployment: versions, stages with timings, and its step-by-step event log."""
    found = session.registry.get_deployment(deployment_id)
    if found is None:
        raise BadInput(f"no deployment with id {deployment_id!r} in registry {session.resolve_registry_path()}")
    events = session.registry.events(deployment_id)
    if as_json:
        render.echo_json(
            {"deployment": found.model_dump(mode="json"), "events": [e.model_dump(mode="json") for e in events]}
        )
        return
    for part in render.deployment_detail(found, events):
        if isinstance(part, str):
            click.echo(part)
        else:
            render.print_table(part)


cli.add_command(sandbox)
cli.add_command(infra)
cli.add_command(pipeline)
cli.add_command(report)
cli.add_command(registry)
for command in DEPLOY_COMMANDS:
    cli.add_command(command)
for command in RECOVER_COMMANDS:
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: an OpsError becomes one sentence on stderr and its exit code, never a traceback."""
    try:
        # standalone_mode=False hands errors to us; --help and ctx.exit() come back as a return code.
        code = cli.main(args=argv, prog_name="opsconsole", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OpsError as exc:
        click.echo(f"opsconsole: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for whoever debugs it
        if os.environ.get("OPSCONSOLE_DEBUG"):
            raise
        click.echo(
            f"opsconsole: internal error: {type(exc).__name__}: {exc} (set OPSCONSOLE_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
