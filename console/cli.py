"""The `opsconsole` command line: the same engine as the TUI, headless, for scripts and CI.

Subcommands are imported when they are resolved (console/lazy.py), and import their heavy dependencies
inside, so `opsconsole --help` loads click and the command modules only: no pydantic, Google clients,
gRPC or Textual (tests/test_startup_imports.py keeps it so).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from console.arguments import usage_sentence, wants_json
from console.lazy import LazyGroup, twin_rule
from core.errors import BadInput, OpsError
from core.outcome import Outcome, exit_codes_help

if TYPE_CHECKING:
    from console.session import Session

EXIT_CODES = exit_codes_help()

read_only_option = click.option("--read-only", is_flag=True,
                                help="Open the console read-only: it shows everything and refuses every action.")

# name -> "module.command": every subcommand but `ui` (below), imported only when it is resolved.
SUBCOMMANDS = {
    "config": "console.read_commands.config",
    "status": "console.read_commands.status",
    "watch": "console.watch_commands.watch",
    "history": "console.read_commands.history",
    "deployment": "console.read_commands.deployment",
    "deploy": "console.deploy_commands.deploy",
    "approve": "console.deploy_commands.approve_command",
    "promote": "console.deploy_commands.promote_command",
    "set-weight": "console.deploy_commands.set_weight_command",
    "pause": "console.deploy_commands.pause_command",
    "resume": "console.deploy_commands.resume_command",
    "rollback": "console.deploy_commands.rollback_command",
    "verify": "console.deploy_commands.verify_command",
    "recover": "console.recover_commands.recover",
    "incident": "console.recover_commands.incident",
    "report": "console.report_commands.report",
    "registry": "console.registry_commands.registry",
    "infra": "console.infra_commands.infra",
    "pipeline": "console.pipeline_commands.pipeline",
    "sandbox": "console.sandbox_commands.sandbox",
}


@click.group(cls=LazyGroup, lazy_subcommands=SUBCOMMANDS, invoke_without_command=True, epilog=EXIT_CODES,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Project configuration file (default ./opsconsole.toml; env OPSCONSOLE_CONFIG).",
)
@click.option(
    "--registry",
    "registry",
    metavar="PATH|URL",
    callback=twin_rule("--registry"),  # the rule of `registry` in the configuration
    help="Deployment registry: a file (default: the user's data directory) or postgresql://USER@HOST/DB, the "
         "team's shared registry (env OPSCONSOLE_REGISTRY).",
)
@read_only_option
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, registry: str | None, read_only: bool) -> None:
    """Deploy the AI Agent Network and keep it healthy.

    With no command, opens the console at a terminal, and prints the status of every environment otherwise.
    """
    from console.session import Session

    if config_file is not None and not config_file.is_file():
        raise BadInput(f"configuration file {config_file} does not exist")
    # --read-only holds for every command: reads work, every change is refused by the access gate (core.access).
    ctx.obj = session = Session(config_file=config_file, registry_setting=registry, read_only=read_only)
    ctx.call_on_close(session.close)
    ctx.meta["read_only"] = read_only
    if ctx.invoked_subcommand is None:
        ctx.invoke(ui if sys.stdin.isatty() and sys.stdout.isatty() else cli.load("status"))


@cli.command(epilog=EXIT_CODES)
@read_only_option
@click.pass_context
def ui(ctx: click.Context, read_only: bool) -> None:
    """Open the console: live environments, canary judge, actions and log (Textual; needs a terminal)."""
    from console.app import OpsConsoleApp  # only the TUI loads Textual's app machinery
    from console.startup import starting_for
    from core.registry.errors import RegistryUnreachable

    session: Session = ctx.obj
    read_only = read_only or bool(ctx.meta.get("read_only"))
    if session.config_file is not None:  # the palette's configuration entries change the file this console read
        os.environ["OPSCONSOLE_CONFIG"] = str(session.config_file)
    while True:  # the cards first; the registry, the sandbox and the clients connect after them (console.startup)
        starting = starting_for(session)
        app = OpsConsoleApp(starting, read_only=read_only)
        app.run()
        starting.join()  # quit while connecting: what the thread opens is closed with the session, after it
        down = app.start_failure
        if not isinstance(down, RegistryUnreachable):
            break
        from console.screens.waiting import WaitingForRegistry  # the shared registry is down: say so, keep trying

        if not WaitingForRegistry(down.location, str(down), lambda: session.registry).run():
            raise down
    if app.start_failure is not None:
        raise app.start_failure


def main(argv: list[str] | None = None) -> None:
    """Entry point: every way a command ends is an exit code of core.outcome, said in one sentence on stderr (never a
    traceback), or with --json as one JSON object on stdout (render.result), so a script reads one thing."""
    args = sys.argv[1:] if argv is None else list(argv)
    as_json = wants_json(args)
    try:
        # standalone_mode=False hands errors to us; --help and ctx.exit() come back as a return code.
        code = cli.main(args=args, prog_name="opsconsole", standalone_mode=False)
    except click.exceptions.Abort:
        ended(Outcome.FAILED, "aborted: nothing was changed", as_json)
    except click.UsageError as exc:  # click's usage block, as one sentence naming the argument
        ended(Outcome.BAD_INPUT, usage_sentence(exc), as_json)
    except click.ClickException as exc:
        ended(Outcome.BAD_INPUT if exc.exit_code == Outcome.BAD_INPUT else Outcome.FAILED, exc.format_message(),
              as_json)
    except OpsError as exc:
        ended(exc.outcome, str(exc), as_json)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for whoever debugs it
        if os.environ.get("OPSCONSOLE_DEBUG"):
            raise
        ended(Outcome.FAILED, f"internal error: {type(exc).__name__}: {exc} (set OPSCONSOLE_DEBUG=1 for the "
              "traceback)", as_json)
    sys.exit(code if isinstance(code, int) else 0)


def ended(outcome: Outcome, reason: str, as_json: bool) -> None:
    """Say how the command ended (one JSON object on stdout with --json, else one line on stderr) and exit with it."""
    if as_json:
        from console import render

        render.echo_json_line(render.result(outcome, reason))
    else:
        click.echo(reason if reason.startswith("opsconsole") else f"opsconsole: {reason}", err=True)
    sys.exit(int(outcome))
