"""Headless deployment commands: deploy, approve, promote, set-weight, pause, resume, rollback, verify.

Each calls the same engine functions as the TUI, then drives the deployment until it ends or needs
the operator, printing the engine's events (one JSON object per line with --json, for CI logs).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from console.arguments import FreeText, Percent
from console.lazy import LazyChoice, components, environment_choice
from core.errors import BadInput, Refused
from core.outcome import Outcome, exit_codes_help

if TYPE_CHECKING:
    from console.session import Session
    from core.engine import Engine, EngineEvent, Tick
    from core.registry import Deployment

# The engine and the providers are imported inside the commands: `opsconsole --help` lists these
# commands without loading them (console/lazy.py).

EXIT_CODES = exit_codes_help()

env_argument = click.argument("environment", type=environment_choice())


def _strategy_kinds() -> tuple[str, ...]:
    """The registered strategy kinds (core.strategies), read when --strategy is checked or shown."""
    from core.strategies import kinds

    return kinds()
json_option = click.option("--json", "as_json", is_flag=True, help="One JSON object per event as it happens, then "
                           "the Result object (outcome, exit_code, reason, the deployment's public view).")
yes_option = click.option("--yes", is_flag=True, help="Skip the typed confirmation (required for production "
                                                      "when not at a terminal).")


def confirm_production(session: Session, environment: str, yes: bool, action: str, **detail: Any) -> None:
    """The access gate first (nobody is asked to confirm a change they may not make), then its rule, with the
    effect in core's words (core.model.effects, the sentence the console shows): at a terminal, production's
    name typed for a change that moves it forward, one y/N for one that takes traffic away (a rollback, a lower
    weight); a script needs --yes. `detail`: core's `effect_of` arguments (percent, component, version)."""
    from core.model.effects import Confirm, effect_of

    gate = session.gate
    gate.check(environment, "act")
    if yes or not gate.needs_confirmation(environment):
        return
    typed = None
    if sys.stdin.isatty():
        effect = effect_of(action, environment, session.engine.active(environment), **detail)
        if effect.confirmation(True) is Confirm.ONCE:
            if click.confirm(f"{effect.sentence}\nGo ahead?", default=False, err=True):
                return
            raise BadInput(f"{action} on {environment} was not confirmed; nothing was changed")
        typed = click.prompt(f"{effect.sentence}\nType the environment name to confirm", default="",
                             show_default=False, err=True)
    gate.confirmed(environment, typed=typed, yes=yes, what=action)


def _printer(as_json: bool) -> Callable[[EngineEvent], None]:
    from console import render

    def show(event: EngineEvent) -> None:
        if as_json:
            render.echo_json_line(event.to_dict())
        else:
            click.echo(render.event_line(event))
    return show


def drive(session: Session, environment: str, as_json: bool, *, rollback_asked: bool = False) -> None:
    """Carry the environment's active deployment on until it ends or needs the operator; set the exit code."""
    from console import render
    from core.engine import EnvironmentBusy

    engine = session.engine
    deployment = engine.active(environment)
    if deployment is None:
        raise Refused(f"{environment} has no deployment in progress")
    unsubscribe = session.bus.subscribe(_printer(as_json))
    try:
        tick = engine.drive(deployment.id, sleep=session.wiring.sleep)
    except EnvironmentBusy as busy:
        # Another console drives this environment: the request is recorded and it will apply it.
        if as_json:
            render.echo_json_line(render.result(Outcome.DONE, f"request recorded; {busy}",
                                                deployment_id=deployment.id))
        else:
            click.echo(f"{deployment.id}: {busy}")
        return
    finally:
        unsubscribe()
    finish(session, deployment.id, tick, as_json, rollback_asked=rollback_asked)


def finish(session: Session, deployment_id: str, tick: Tick, as_json: bool, *, rollback_asked: bool = False) -> None:
    """Say how the deployment stands (the Result object with --json) and exit with the outcome core's rule gives."""
    from console import render
    from core.model.deployment_view import deployment_view, outcome_of

    final = session.registry.get_deployment(deployment_id)
    assert final is not None
    outcome = outcome_of(final, waits_for_person=tick.state == "operator", rollback_asked=rollback_asked)
    waiting = outcome is Outcome.WAITING
    who = who_may_act(session, final) if waiting else None
    if as_json:
        render.echo_json_line(render.result(
            outcome, tick.reason, deployment_id=final.id, status=str(final.status), state=tick.state,
            deployment=deployment_view(final).to_dict(),
            **({"waiting_for": tick.reason, "who_may_act": list(who or ())} if waiting else {})))
    else:
        click.echo(f"{final.id}: {final.status}: {tick.reason}")
        if waiting:
            click.echo(f"{final.id} waits for a person: {tick.reason}; "
                       f"{'who may act: ' + ', '.join(who) if who else 'nobody on the allow-list may act'}")
    if outcome is not Outcome.DONE:
        sys.exit(int(outcome))


def who_may_act(session: Session, deployment: Deployment) -> tuple[str, ...]:
    """Who may take the step the deployment waits for (the engine's rule, also in its Slack notice)."""
    return session.engine.who_may_act(deployment)


def _versions(pairs: tuple[str, ...]) -> dict[str, str]:
    from core.config import COMPONENTS
    from core.engine.choices import validate_version

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
@click.option("--strategy", type=LazyChoice(_strategy_kinds),
              help="Another strategy for this deployment (default: the environment's).")
@click.option("--auto/--manual", "auto", default=None, help="Canary steps advance on the judge's pass, or by hand.")
@click.option("--commit-time", metavar="ISO8601", help="When the deployed versions were committed, for the "
              "report's lead time (default: from GITHUB_SHA in a GitHub Actions run, else from git in this "
              "checkout).")
@yes_option
@json_option
@click.pass_obj
def deploy(session: Session, environment: str, pairs: tuple[str, ...], strategy: str | None, auto: bool | None,
           commit_time: str | None, yes: bool, as_json: bool) -> None:
    """Deploy component versions to ENVIRONMENT and follow it until it ends or needs you."""
    from core.providers.commits import commit_times, parse_commit_time

    versions = _versions(pairs)
    given = parse_commit_time(commit_time) if commit_time is not None else None  # refused before anything runs
    confirm_production(session, environment, yes, "deploy", versions=versions)
    mode = None if auto is None else ("auto" if auto else "manual")
    committed = commit_times(versions, given=given)
    unsubscribe = session.bus.subscribe(_printer(as_json))  # the plan itself is the first event
    try:
        deployment = session.engine.deploy_to_environment(environment, versions, strategy=strategy, mode=mode,
                                                          commit_times=committed.times)
    finally:
        unsubscribe()
    if not as_json:
        click.echo(f"deployment {deployment.id} planned: {len(deployment.stages)} stages"
                   + "".join(f"; {note}" for note in committed.notes))
    drive(session, environment, as_json)


def _operator_command(name: str, action: Callable[..., object], summary: str, *, confirm: str | None = None):
    @click.command(name, help=summary, epilog=EXIT_CODES)
    @env_argument
    @yes_option
    @json_option
    @click.pass_obj
    def command(session: Session, environment: str, yes: bool, as_json: bool) -> None:
        session.gate.check(environment, "act")  # refused before any provider or sandbox is started
        if confirm:
            confirm_production(session, environment, yes, confirm)
        action(session.engine, environment)
        drive(session, environment, as_json)
    return command


def _approve(engine: Engine, environment: str) -> None:
    from core.engine import approve

    approve(engine, environment)


def _pause(engine: Engine, environment: str) -> None:
    from core.engine import pause

    pause(engine, environment)


def _resume(engine: Engine, environment: str) -> None:
    from core.engine import resume

    if _paused(engine, environment):
        resume(engine, environment)


approve_command = _operator_command("approve", _approve, "Approve ENVIRONMENT's waiting deployment (allowed "
                                    "operators only), then follow it.", confirm="approve")
pause_command = _operator_command("pause", _pause, "Pause ENVIRONMENT's deployment at its current step; the judge "
                                  "keeps watching and can still roll back.")
resume_command = _operator_command("resume", _resume,
                                   "Resume a paused deployment, or carry on one a stopped console left running.")


def _paused(engine: Engine, environment: str) -> bool:
    from core.engine import Rollout

    running = engine.active(environment)
    return running is not None and Rollout.of(running).paused


@click.command("promote", epilog=EXIT_CODES)
@env_argument
@click.option("--override", metavar="REASON", type=FreeText("override reason"),
              help="Promote past a failed verification or a holding judge; the reason is recorded with your name.")
@yes_option
@json_option
@click.pass_obj
def promote_command(session: Session, environment: str, override: str | None, yes: bool, as_json: bool) -> None:
    """Move ENVIRONMENT's deployment to its next step (next canary weight, or the frontend promotion)."""
    from core.engine import promote

    confirm_production(session, environment, yes, "promote-anyway" if override else "promote")
    promote(session.engine, environment, override=override)
    drive(session, environment, as_json)


# ignore_unknown_options: `-5` reaches PERCENT and is refused as a weight, instead of "No such option: -5".
@click.command("set-weight", epilog=EXIT_CODES, context_settings={"ignore_unknown_options": True})
@env_argument
@click.argument("percent", type=Percent())
@yes_option
@json_option
@click.pass_obj
def set_weight_command(session: Session, environment: str, percent: int, yes: bool, as_json: bool) -> None:
    """Put PERCENT of traffic on the new revision by hand (the judge keeps watching)."""
    from core.engine import set_weight

    confirm_production(session, environment, yes, "set-weight", percent=percent)
    set_weight(session.engine, environment, percent)
    drive(session, environment, as_json)


@click.command("rollback", epilog=EXIT_CODES)
@env_argument
@click.option("--reason", required=True, type=FreeText("rollback reason"),
              help="Why: recorded as the rollback cause and sent to Slack/PagerDuty.")
@click.option("--component", type=LazyChoice(components), default="websocket-server", show_default=True,
              help="With no deployment running: which component goes back.")
@click.option("--to", "version", type=FreeText("version to roll back to"),
              help="With no deployment running: the revision, image tag or Vercel deployment; for infrastructure the "
                   "id of a known-good apply (`opsconsole infra status`).")
@yes_option
@json_option
@click.pass_obj
def rollback_command(session: Session, environment: str, reason: str, component: str, version: str | None,
                     yes: bool, as_json: bool) -> None:
    """Roll back: the running deployment if there is one, else COMPONENT to its previous version."""
    from console import render
    from core.engine import roll_back
    from core.model.deployment_view import outcome_of

    confirm_production(session, environment, yes, "rollback", component=component, version=version)
    done = roll_back(session.engine, environment, reason, component=component, version=version)
    if done.requested:
        drive(session, environment, as_json, rollback_asked=True)  # rolled back as asked: done, exit 0
        return
    outcome = outcome_of(done.deployment, waits_for_person=False)  # failed when its checks afterwards failed
    if as_json:
        render.echo_json_line(render.result(
            outcome, done.describe(environment), deployment_id=done.deployment.id,
            status=str(done.deployment.status), cause=done.deployment.rollback_cause, to=done.to,
            check=done.deployment.metadata.get("check")))
    else:
        click.echo(f"{done.deployment.id}: {done.describe(environment)}")
    if outcome is not Outcome.DONE:
        sys.exit(int(outcome))


@click.command("verify", epilog=EXIT_CODES)
@env_argument
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def verify_command(session: Session, environment: str, as_json: bool) -> None:
    """Run ENVIRONMENT's required checks on its new revision (during a deployment) or on what serves now."""
    from console import render
    from core.engine import verify

    report = verify(session.engine, environment)
    outcome = Outcome.DONE if report.passed else Outcome.FAILED
    if as_json:
        render.echo_json({**report.to_dict(), **render.result(outcome, report.summary)})
    else:
        click.echo(f"{report.target.revision}: {report.summary}")
        for result in report.results:
            click.echo(f"  {result.outcome:8} {result.name:11} {result.summary}")
    if not report.passed:
        sys.exit(int(outcome))

