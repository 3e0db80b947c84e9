"""`opsconsole config set|history|revert ENV`: an environment's settings changed with who, when and why, reversibly.

The rules (which file, how a value is read, the access gate, validation before writing) are core.config.changes';
these commands parse arguments and print. Heavy imports stay inside the commands (see console/cli.py).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from console.arguments import FreeText
from console.lazy import environment_choice
from core.outcome import exit_codes_help

if TYPE_CHECKING:
    from console.session import Session
    from core.config.changes import ConfigEditor, EnvironmentChange
    from core.config.history import ConfigChange
    from core.config.models import ConsoleConfig

EXIT_CODES = exit_codes_help()

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")
reason_option = click.option("--reason", type=FreeText("reason"),
                             help="Why: recorded with the change and shown by history.")
yes_option = click.option("--yes", is_flag=True, help="Skip the typed confirmation (required for production when "
                                                      "not at a terminal).")


def _editor(session: Session, environment: str, yes: bool, what: str) -> ConfigEditor:
    """The gate first (nobody confirms a change they may not make), then production's typed confirmation."""
    from core.config.changes import WHAT, editor_for

    session.loaded  # noqa: B018 -- a broken configuration stops every command the same way (exit 2)
    gate = session.gate
    gate.check(environment, WHAT)
    if not yes and gate.needs_confirmation(environment):
        typed = None
        if sys.stdin.isatty():
            typed = click.prompt(f"{what} in {environment}.\nType the environment name to confirm", default="",
                                 show_default=False, err=True)
        gate.confirmed(environment, typed=typed, yes=yes, what=f"changing the configuration of {environment}")
    return editor_for(session.config_file, gate, session.environ)


@click.command("set", epilog=EXIT_CODES)
@click.argument("environment", type=environment_choice())
@click.argument("key")
@click.argument("value")
@reason_option
@yes_option
@json_option
@click.pass_obj
def config_set(session: Session, environment: str, key: str, value: str, reason: str | None, yes: bool,
               as_json: bool) -> None:
    """Set KEY (a dotted path inside ENV, e.g. health.max_5xx_rate or strategy.steps) to VALUE in the project file.

    VALUE is read as TOML (0.02, true, [5, 25, 100], "text"), else JSON (null removes the setting, so its default
    applies again), else as text. The whole configuration is validated first: on a problem nothing is written
    (exit 2). The change passes the access gate for ENV (exit 4 if refused; production wants its name typed, or
    --yes) and is recorded with the operator, the time and --reason; `config history ENV` lists it and
    `config revert ENV ID` undoes it.
    """
    from core.config.changes import parse_value

    editor = _editor(session, environment, yes, f"{key} will be set to {value}")
    change, config = editor.set(environment, key, parse_value(value), reason or "")
    _print_change(environment, change, config, editor, as_json)


@click.command("revert", epilog=EXIT_CODES)
@click.argument("environment", type=environment_choice())
@click.argument("change_id", type=click.IntRange(min=1), metavar="CHANGE_ID")
@reason_option
@yes_option
@json_option
@click.pass_obj
def config_revert(session: Session, environment: str, change_id: int, reason: str | None, yes: bool,
                  as_json: bool) -> None:
    """Set what change CHANGE_ID (see `config history ENV`) changed back to what it was, as a change of its own."""
    editor = _editor(session, environment, yes, f"configuration change {change_id} will be undone")
    change, config = editor.revert(environment, change_id, reason or "")
    _print_change(environment, change, config, editor, as_json)


@click.command("history", epilog=EXIT_CODES)
@click.argument("environment", type=environment_choice())
@json_option
@click.pass_obj
def config_history(session: Session, environment: str, as_json: bool) -> None:
    """Every recorded configuration change of ENV, newest first: id, when, who, key, before → after, reason."""
    from console import render
    from core.config.changes import editor_for

    session.loaded  # noqa: B018 -- a broken configuration stops every command the same way (exit 2)
    changes = editor_for(session.config_file, session.gate, session.environ).history(environment)
    if as_json:
        render.echo_json([c.to_dict() for c in changes])
    elif not changes:
        click.echo(f"no configuration change recorded for {environment}")
    for line in [] if as_json else (line for c in changes for line in history_lines(c)):
        click.echo(line)


def history_lines(recorded: EnvironmentChange) -> list[str]:
    """One change as `config history` prints it (and the console's history screen shows it)."""
    from core.config.changes import shown

    c = recorded.change
    why = f"  ({c.reason})" if c.reason else ""
    head = f"#{c.id} {c.at:%Y-%m-%d %H:%M:%S} UTC {c.actor}"
    return [f"{head}  {f.path}: {shown(f.old)} → {shown(f.new)}{why}" for f in recorded.fields]


def _print_change(environment: str, change: ConfigChange, config: ConsoleConfig, editor: ConfigEditor,
                  as_json: bool) -> None:
    from console import render
    from core.config.changes import change_lines, value_in_force

    prefix = f"environments.{environment}."
    rows = [(f.path.removeprefix(prefix), f.old, value_in_force(config, environment, f.path.removeprefix(prefix)))
            for f in change.changes]
    if as_json:
        render.echo_json({"id": change.id, "environment": environment, "actor": change.actor,
                          "at": change.at.isoformat(), "reason": change.reason, "reverts": change.reverts,
                          "file": str(editor.file),
                          "changes": [{"key": k, "before": old, "after": new} for k, old, new in rows]})
        return
    for line in change_lines(environment, change, config):
        click.echo(line)
    click.echo(f"recorded as change {change.id} by {change.actor} in {editor.history_file}")
