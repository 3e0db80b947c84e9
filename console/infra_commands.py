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
  2  bad input: unknown environment, no terraform/tofu, or no confirmation; nothing was changed
  4  refused: this operator may not change this (allow-list, read-only console); nothing was changed"""

env_argument = click.argument("environment", type=environment_choice())
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
ACTION_STYLES = {"create": "green", "update": "yellow", "delete": "bold red", "replace": "bold red"}


def service_for(session: Session, *, cloud: bool = False) -> InfrastructureService:
    """Terraform for the configured profile, recording into this session's registry. With `cloud`, connected to
    Cloud Run (the sandbox attached, or started here): an apply then changes the sandbox's service, and drift
    can be read. Without, no cloud is started (plan and status only read files and the registry)."""
    from core.infra import InfrastructureService, make_runner
    from sandbox.terraform_command import standin_command

    registry = session.registry
    if cloud:
        return session.wiring.infrastructure(registry, session.operator, gate=session.gate)
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

    config = session.loaded.config
    config.environment(environment)
    session.gate.check(environment, "apply Terraform")  # before the plan (and the cloud): nobody reviews what
    # they may not apply. The sandbox's stand-in needs the running sandbox to change its Cloud Run service;
    # real Terraform finds Google by itself, so on gcp no provider is connected for an apply.
    service = service_for(session, cloud=config.profile == "sandbox")
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
    from core.infra import entry_id, known_good

    table = Table(title=f"Last known good infrastructure of {environment}", title_justify="left")
    for column in ("id", "applied at", "by", "commit", "state serial", "changes", "restored from"):
        table.add_column(column)
    for entry in known_good(record):
        counts = entry.get("counts", {})
        commit = str(entry.get("git_commit") or "none")[:12] + ("*" if entry.get("git_dirty") else "")
        table.add_row(entry_id(entry), str(entry.get("applied_at", "")), str(entry.get("actor", "")), commit,
                      str(entry.get("state_serial")), " ".join(f"{k[0]}{v}" for k, v in counts.items() if v) or "none",
                      str(entry.get("restored_from") or ""))
    render.print_table(table)
    click.echo("* = applied from a tree with uncommitted changes (restored from its snapshot)")
    click.echo(f"restore one: opsconsole rollback {environment} --component infrastructure --to ID --reason ...")


DRIFT_EXIT_CODES = """\b
Exit codes:
  0  the live Cloud Run service matches its configuration
  1  it drifted: one line per setting that differs
  2  bad input: unknown environment; nothing was read"""


@infra.command("drift", epilog=DRIFT_EXIT_CODES)
@env_argument
@json_option
@click.pass_obj
def drift_command(session: Session, environment: str, as_json: bool) -> None:
    """Where ENVIRONMENT's live Cloud Run service differs from what its last known good apply configures
    (scaling, environment variables); with nothing applied yet, from what the current plan sets. Reads only."""
    from console import render

    session.loaded.config.environment(environment)
    drift = service_for(session, cloud=True).drift(environment)
    if as_json:
        render.echo_json(drift.to_dict())
    elif not drift.drifted:
        click.echo(f"{environment}: {drift.service} matches {drift.source}")
    else:
        click.echo(f"{environment}: {drift.service} drifted from {drift.source}:")
        for line in drift.lines():
            click.echo(f"  {line}")
    if drift.drifted:
        sys.exit(1)
