"""Headless deployment commands: deploy, approve, promote, set-weight, pause, resume, rollback, verify.

Each calls the same engine functions as the TUI, then drives the deployment until it ends or needs
the operator, printing the engine's events (one JSON object per line with --json, for CI logs).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from console import render
from console.session import Session
from core.config import COMPONENTS, ENVIRONMENTS, STRATEGY_KINDS
from core.engine import (
    Engine,
    EngineEvent,
    EnvironmentBusy,
    Rollout,
    Tick,
    abort,
    approve,
    pause,
    promote,
    resume,
    set_weight,
    verify_deployment,
)
from core.engine import rollback_deployment as rollback_component
from core.engine.choices import validate_version
from core.errors import BadInput, OperationFailed
from core.registry import DeploymentStatus

EXIT_CODES = """\b
Exit codes:
  0  done, or waiting for the operator's next step
  1  the deployment failed or was rolled back, or the operation was refused
  2  bad input (arguments, configuration); nothing was changed"""

env_argument = click.argument("environment", type=click.Choice(ENVIRONMENTS))
json_option = click.option("--json", "as_json", is_flag=True, help="One JSON object per event, for CI logs.")
yes_option = click.option("--yes", is_flag=True, help="Skip the typed confirmation (required for production "
                                                      "when not at a terminal).")


def confirm_production(environment: str, yes: bool, what: str) -> None:
    """Production changes need the environment's name typed, or --yes; a script without --yes is refused."""
    if environment != "production" or yes:
        return
    if not sys.stdin.isatty():
        raise BadInput(f"{what} on production needs --yes when not run at a terminal")
    typed = click.prompt(f"{what} on PRODUCTION. Type the environment name to confirm", default="", show_default=False)
    if typed.strip() != environment:
        raise BadInput("confirmation did not match 'production'; nothing was changed")


def _printer(as_json: bool) -> Callable[[EngineEvent], None]:
    def show(event: EngineEvent) -> None:
        if as_json:
            render.echo_json_line(event.to_dict())
        else:
            click.echo(render.event_line(event))
    return show


def drive(session: Session, environment: str, as_json: bool) -> None:
    """Carry the environment's active deployment on until it ends or needs the operator; set the exit code."""
    engine = session.engine
    deployment = engine.active(environment)
    if deployment is None:
        raise OperationFailed(f"{environment} has no deployment in progress")
    unsubscribe = session.bus.subscribe(_printer(as_json))
    try:
        tick = engine.drive(deployment.id, sleep=session.wiring.sleep)
    except EnvironmentBusy as busy:
        # Another console drives this environment: the request is recorded and it will apply it.
        click.echo(f"{deployment.id}: {busy}")
        return
    finally:
        unsubscribe()
    finish(session, deployment.id, tick, as_json)


def finish(session: Session, deployment_id: str, tick: Tick, as_json: bool) -> None:
    final = session.registry.get_deployment(deployment_id)
    assert final is not None
    if as_json:
        render.echo_json_line({"event": "Result", "deployment_id": final.id, "status": str(final.status),
                               "state": tick.state, "reason": tick.reason})
    else:
        click.echo(f"{final.id}: {final.status}: {tick.reason}")
    if final.status in (DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK, DeploymentStatus.ABORTED):
        sys.exit(1)


def _versions(pairs: tuple[str, ...]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for pair in pairs:
        component, sep, version = pair.partition("=")
        if not sep or component not in COMPONENTS or not version:
            raise BadInput(f"--set {pair!r}: write COMPONENT=VERSION with COMPONENT one of {', '.join(COMPONENTS)}")
        versions[component] = validate_version(component, version)  # the wizard checks the same way
    return versions


@click.command(epilog=EXIT_CODES)
@env_argument
@click.option("--set", "pairs", multiple=True, metavar="COMPONENT=VERSION", required=True,
              help="websocket-server=IMAGE, frontend=GIT_REF, infrastructure=VERSION (repeatable).")
@click.option("--strategy", type=click.Choice(STRATEGY_KINDS),  # the configuration's own kinds
              help="Another strategy for this deployment (default: the environment's).")
@click.option("--auto/--manual", "auto", default=None, help="Canary steps advance on the judge's pass, or by hand.")
@yes_option
@json_option
@click.pass_obj
def deploy(session: Session, environment: str, pairs: tuple[str, ...], strategy: str | None, auto: bool | None,
           yes: bool, as_json: bool) -> None:
    """Deploy component versions to ENVIRONMENT and follow it until it ends or needs you."""
    versions = _versions(pairs)
    confirm_production(environment, yes, f"Deploy {', '.join(f'{c} {v}' for c, v in versions.items())}")
    mode = None if auto is None else ("auto" if auto else "manual")
    unsubscribe = session.bus.subscribe(_printer(as_json))  # the plan itself is the first event
    try:
        deployment = session.engine.deploy_to_environment(environment, versions, strategy=strategy, mode=mode)
    finally:
        unsubscribe()
    if not as_json:
        click.echo(f"deployment {deployment.id} planned: {len(deployment.stages)} stages")
    drive(session, environment, as_json)


def _operator_command(name: str, action: Callable[..., object], summary: str, *, confirm: str | None = None):
    @click.command(name, help=summary, epilog=EXIT_CODES)
    @env_argument
    @yes_option
    @json_option
    @click.pass_obj
    def command(session: Session, environment: str, yes: bool, as_json: bool) -> None:
        if confirm:
            confirm_production(environment, yes, confirm)
        action(session.engine, environment)
        drive(session, environment, as_json)
    return command


approve_command = _operator_command("approve", approve, "Approve ENVIRONMENT's waiting deployment (allowed "
                                    "operators only), then follow it.", confirm="Approve the deployment")
pause_command = _operator_command("pause", pause, "Pause ENVIRONMENT's deployment at its current step; the judge "
                                  "keeps watching and can still roll back.")
resume_command = _operator_command("resume", lambda e, env: resume(e, env) if _paused(e, env) else None,
                                   "Resume a paused deployment, or carry on one a stopped console left running.")


def _paused(engine: Engine, environment: str) -> bool:
    running = engine.active(environment)
    return running is not None and Rollout.of(running).paused


@click.command("promote", epilog=EXIT_CODES)
@env_argument
@click.option("--override", metavar="REASON", help="Promote past a failed verification or a holding judge; "
                                                   "the reason is recorded with your name.")
@yes_option
@json_option
@click.pass_obj
def promote_command(session: Session, environment: str, override: str | None, yes: bool, as_json: bool) -> None:
    """Move ENVIRONMENT's deployment to its next step (next canary weight, or the frontend promotion)."""
    confirm_production(environment, yes, "Promote to the next step")
    promote(session.engine, environment, override=override)
    drive(session, environment, as_json)


@click.command("set-weight", epilog=EXIT_CODES)
@env_argument
@click.argument("percent", type=click.IntRange(0, 100))
@yes_option
@json_option
@click.pass_obj
def set_weight_command(session: Session, environment: str, percent: int, yes: bool, as_json: bool) -> None:
    """Put PERCENT of traffic on the new revision by hand (the judge keeps watching)."""
    confirm_production(environment, yes, f"Set the canary weight to {percent} %")
    set_weight(session.engine, environment, percent)
    drive(session, environment, as_json)


@click.command("rollback", epilog=EXIT_CODES)
@env_argument
@click.option("--reason", required=True, help="Why: recorded as the rollback cause and sent to Slack/PagerDuty.")
@click.option("--component", type=click.Choice(COMPONENTS), default="websocket-server", show_default=True,
              help="With no deployment running: which component goes back.")
@click.option("--to", "version", help="With no deployment running: the revision, image tag or Vercel deployment.")
@yes_option
@json_option
@click.pass_obj
def rollback_command(session: Session, environment: str, reason: str, component: str, version: str | None,
                     yes: bool, as_json: bool) -> None:
    """Roll back: the running deployment if there is one, else COMPONENT to its previous version."""
    confirm_production(environment, yes, "Roll back")
    engine = session.engine
    if engine.active(environment) is not None:
        abort(engine, environment, reason)
        drive(session, environment, as_json)
        return
    done = rollback_component(engine, environment, component, version, reason=reason)
    if as_json:
        render.echo_json_line({"event": "Result", "deployment_id": done.id, "status": str(done.status),
                               "cause": done.rollback_cause})
    else:
        click.echo(f"{done.id}: {component} rolled back to {next(iter(done.versions.values()))}")


@click.command("verify", epilog=EXIT_CODES)
@env_argument
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def verify_command(session: Session, environment: str, as_json: bool) -> None:
    """Run ENVIRONMENT's required checks on its new revision (during a deployment) or on what serves now."""
    running = session.engine.active(environment)
    report = verify_deployment(session.engine, environment, running.id if running else None)
    if as_json:
        render.echo_json(report.to_dict())
    else:
        click.echo(f"{report.target.revision}: {report.summary}")
        for result in report.results:
            click.echo(f"  {result.outcome:8} {result.name:11} {result.summary}")
    if not report.passed:
        sys.exit(1)


COMMANDS = [deploy, approve_command, promote_command, set_weight_command, pause_command, resume_command,
            rollback_command, verify_command]
