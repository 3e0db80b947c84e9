"""`opsconsole infra ...`: plan an environment's Terraform, apply exactly the reviewed plan, and show the
last known good state. The same core.infra functions the engine and the infrastructure screen use."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from console.lazy import environment_choice
from core.errors import BadInput

if TYPE_CHECKING:
    from rich.table import Table

    from console.session import Session
    from core.access import AccessGate
    from core.infra import InfrastructureService
    from core.providers.terraform import ReviewedPlan
    from core.providers.terraform_plan import PlanSummary

EXIT_CODES = """\b
Exit codes:
  0  done (or the plan was shown and not applied because you said no)
  1  terraform failed, or the plan changed after review
  2  bad input: unknown environment, no terraform/tofu, or no confirmation; nothing was changed"""

env_argument = click.argument("environment", type=environment_choice())
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
ACTION_STYLES = {"create": "green", "update": "yellow", "delete": "bold red", "replace": "bold red"}


def service_for(session: Session) -> InfrastructureService:
    """Terraform for the configured profile, recording into this session's registry (no cloud is started)."""
    from core.infra import InfrastructureService, make_runner
    from sandbox.terraform_command import standin_command

    registry = session.registry
    runner = make_runner(session.loaded.config.profile, session.environ, registry.work_dir / "terraform",
                         standin=standin_command)
    return InfrastructureService(session.loaded.config, registry, runner, actor=session.operator, gate=session.gate,
                                 now=lambda: datetime.now(UTC))


def plan_table(summary: PlanSummary, environment: str) -> Table:
    """One row per change; deletes and replaces in bold red, so a destructive plan cannot be skimmed past."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Terraform plan for {environment}: {summary.headline()}", title_justify="left")
    for column in ("action", "resource", "attributes changed"):
        table.add_column(column)
    for change in summary.changes:
        style = ACTION_STYLES[change.action]
        label = f"{change.symbol} {change.action}" + (" (destructive)" if change.destructive else "")
        table.add_row(Text(label, style=style), Text(change.address, style=style if change.destructive else ""),
                      ", ".join(change.changed))
    return table


def _plan_json(plan: ReviewedPlan) -> dict[str, Any]:
    return {"environment": plan.environment, "workspace": plan.workspace, "plan_file": str(plan.path),
            "plan_hash": plan.sha256, **plan.summary.to_dict()}


def _show(plan: ReviewedPlan) -> None:
    from console import render

    if plan.summary.empty:
        click.echo(f"{plan.environment}: {plan.summary.headline()}")
    else:
        render.print_table(plan_table(plan.summary, plan.environment))
    click.echo(f"plan file {plan.path} (sha256 {plan.sha256[:16]}…)")


def confirm_apply(gate: AccessGate, environment: str, summary: PlanSummary, yes: bool) -> bool:
    """--yes, or a person at a terminal: production's name typed, elsewhere a yes/no. A script without --yes
    is refused (exit 2) rather than left waiting for an answer nobody will give."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise BadInput(f"applying Terraform to {environment} needs --yes when not run at a terminal; "
                       "nothing was applied")
    warning = " It DESTROYS resources." if summary.destructive else ""
    if gate.needs_confirmation(environment):  # the gate's rule: production's name typed
        typed = click.prompt(f"Apply this plan to {environment.upper()}?{warning} Type the environment name to "
                             "confirm", default="", show_default=False, err=True)
        gate.confirmed(environment, typed=typed, yes=False, what="applying Terraform")
        return True
    return click.confirm(f"Apply this plan to {environment}?{warning}", default=False, err=True)


@click.group(epilog=EXIT_CODES)
def infra() -> None:
    """Terraform of the platform: plan, apply exactly the reviewed plan, last known good."""


@infra.command("plan", epilog=EXIT_CODES)
@env_argument
@json_option
@click.pass_obj
def plan_command(session: Session, environment: str, as_json: bool) -> None:
    """Plan ENVIRONMENT with the configured variables and show what would change (nothing is applied)."""
    from console import render

    plan = service_for(session).plan(environment)
    if as_json:
        render.echo_json(_plan_json(plan))
    else:
        _show(plan)


@infra.command("apply", epilog=EXIT_CODES)
@env_argument
@click.option("--yes", is_flag=True, help="Apply without asking (for CI); production otherwise needs its name typed.")
@json_option
@click.pass_obj
def apply_command(session: Session, environment: str, yes: bool, as_json: bool) -> None:
    """Plan ENVIRONMENT, show the plan, ask, apply exactly that plan file and record it as last known good."""
    from console import render

    service = service_for(session)
    service.gate.check(environment, "apply Terraform")  # before the plan: nobody reviews what they may not apply
    plan = service.plan(environment)
    if not as_json:
        _show(plan)
    if not confirm_apply(service.gate, environment, plan.summary, yes):
        if as_json:
            render.echo_json({**_plan_json(plan), "applied": False})
        else:
            click.echo(f"{environment}: not applied")
        return
    record = service.apply_plan(plan)
    if as_json:
        render.echo_json({**_plan_json(plan), "applied": True, "last_good": _public(record)})
    else:
        dirty = ", uncommitted changes" if record["git_dirty"] else ""
        click.echo(f"{environment}: applied; state serial {record['state_serial']}, recorded as last known good "
                   f"(commit {str(record['git_commit'] or 'none')[:12]}{dirty})")


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """A record as shown: the variables (references only, but long) are left to `status --json`."""
    return {key: value for key, value in record.items() if key not in ("variables", "history")}


@infra.command("status", epilog=EXIT_CODES)
@env_argument
@json_option
@click.pass_obj
def status_command(session: Session, environment: str, as_json: bool) -> None:
    """The last known good infrastructure of ENVIRONMENT and the good applies before it."""
    from rich.table import Table

    from console import render

    record = service_for(session).status(environment)
    if as_json:
        render.echo_json({"environment": environment, "last_good": record})
        return
    if record is None:
        click.echo(f"{environment}: no infrastructure applied through the console yet")
        return
    table = Table(title=f"Last known good infrastructure of {environment}", title_justify="left")
    for column in ("applied at", "by", "commit", "state serial", "plan hash", "changes"):
        table.add_column(column)
    for entry in [record, *record.get("history", [])]:
        counts = entry.get("counts", {})
        commit = str(entry.get("git_commit") or "none")[:12] + ("*" if entry.get("git_dirty") else "")
        table.add_row(str(entry.get("applied_at", "")), str(entry.get("actor", "")), commit,
                      str(entry.get("state_serial")), str(entry.get("plan_hash", ""))[:16],
                      " ".join(f"{k[0]}{v}" for k, v in counts.items() if v) or "none")
    render.print_table(table)
    click.echo("* = applied from a tree with uncommitted changes (restored from its snapshot)")
