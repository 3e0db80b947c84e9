"""Headless guided recovery: `opsconsole recover ENV` and `opsconsole incident list|show|postmortem|root-cause|
resolve|abort`.

`recover` runs the same core functions as the recovery screen: evidence, classification, plan, each step
after a confirmation (a prompt, or --yes when not at a terminal), validation. An environment with an
open incident resumes it from the step where it stopped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from console.arguments import FreeText
from console.lazy import environment_choice
from core.errors import BadInput, OperationFailed
from core.outcome import Outcome

if TYPE_CHECKING:
    from console.session import Session
    from core.recovery.closing import Ending

# core.recovery (and through it the engine and providers) is imported inside the commands, so that
# `opsconsole --help` lists them without loading it.

EXIT_CODES = """\b
Exit codes:
  0  recovered and validated (or the dry run printed its plan)
  1  a step failed or was declined, or validation failed: the incident stays open, run recover again to resume
  2  bad input (arguments, configuration, a malformed runbook); nothing was changed
  4  refused: this operator may not recover this environment (allow-list, read-only console)"""


def _entry_line(entry: dict[str, Any]) -> str:
    from core.recovery.incident import timeline_line

    return timeline_line(entry)


def _printer(as_json: bool) -> Any:
    from console import render

    def show(entry: dict[str, Any]) -> None:
        if as_json:
            render.echo_json_line({"event": "TimelineEntry", **entry})
        else:
            click.echo(_entry_line(entry))
    return show


def _confirmer(yes: bool, interactive: bool) -> Any:
    def confirm(question: str) -> bool:
        if yes:
            return True
        if not interactive:
            return False
        return click.confirm(question, default=False)
    return confirm


@click.command(epilog=EXIT_CODES)
@click.argument("environment", type=environment_choice())
@click.option("--dry-run", is_flag=True, help="Classify and plan, say what each step would do; change nothing.")
@click.option("--yes", is_flag=True, help="Answer yes to every confirmation (needed when not at a terminal).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per timeline entry, then the result.")
@click.option("--root-cause", type=FreeText("root cause"),
              help="Record the root cause you found (also: incident root-cause).")
@click.option("--runbooks", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A directory of runbook TOML files instead of the built-in ones.")
@click.pass_obj
def recover(session: Session, environment: str, dry_run: bool, yes: bool, as_json: bool, root_cause: str | None,
            runbooks: Path | None) -> None:
    """Guided incident recovery of ENVIRONMENT: evidence, classification, plan, steps, validation."""
    from console import render
    from core.recovery import (
        IncidentStore,
        RecoveryContext,
        begin_incident,
        finish_recovery,
        next_step,
        resume_incident,
        run_recovery,
    )

    if not dry_run:  # a dry run changes nothing: anyone may look; a recovery is refused before anything is probed
        session.gate.check(environment, "recover")
    interactive = sys.stdin.isatty() and not as_json
    if not (yes or dry_run or interactive):
        raise BadInput(f"recover {environment} needs --yes when not run at a terminal (or --dry-run to look only)")
    wiring = session.wiring
    context = RecoveryContext(engine=session.engine, environment=environment, ports=wiring.recovery_ports(),
                              sleep=wiring.sleep, confirm=_confirmer(yes, interactive), dry_run=dry_run,
                              on_entry=_printer(as_json), runbooks=runbooks)
    store = IncidentStore(session.registry, persist=not dry_run)
    if not dry_run:
        session.engine.lock(environment).acquire()  # one recovery (or deployment driver) per environment at a time
    open_incident = None if dry_run else store.open_for(environment)
    incident = resume_incident(context, store, open_incident.id) if open_incident else begin_incident(context, store)
    if root_cause:
        incident.update(root_cause=root_cause)
        incident.add("root-cause", root_cause, at=context.now(), actor=context.operator)
    results = run_recovery(context)
    stopped = next((r for r in results if r.stopped), None)
    report = finish_recovery(context) if next_step(context) is None and not dry_run else None
    record = incident.record
    failure = None if dry_run else _not_recovered(environment, incident.id, stopped, report)
    said = f"incident {incident.id}: {'dry run, nothing changed' if dry_run else record['status']}"
    if as_json:  # the one Result object, failure included (not a second object from the entry point)
        outcome = Outcome.FAILED if failure else Outcome.DONE
        render.echo_json_line(render.result(outcome, failure or said, incident=incident.id, status=record["status"],
                                            dry_run=dry_run, validation=report.to_dict() if report else None))
        if failure:
            sys.exit(int(outcome))
        return
    if report is not None:
        for item in report.items:
            click.echo(f"  {'ok  ' if item.passed else 'FAIL'} {item.name}: {item.detail}")
        for line in report.recommendations:
            click.echo(f"  next: {line}")
    click.echo(said)
    if failure:
        raise OperationFailed(failure)


def _not_recovered(environment: str, incident_id: str, stopped: Any, report: Any) -> str | None:
    """Why the recovery has not brought the environment back (None when it has)."""
    if stopped is not None:
        return (f"recovery of {environment} stopped at step {stopped.step}: {stopped.detail}; "
                f"run `opsconsole recover {environment}` to resume")
    if report is None or not report.passed:
        return (f"{environment} is not recovered yet (incident {incident_id} stays open); "
                f"run `opsconsole recover {environment}` to carry on")
    return None


@click.group(epilog=EXIT_CODES)
def incident() -> None:
    """Incidents recorded by guided recovery: list, show, postmortem, root cause, resolve, abort."""


@incident.command("list")
@click.option("--env", "environment", type=environment_choice(), help="Only this environment.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def incident_list(session: Session, environment: str | None, as_json: bool) -> None:
    """Incidents newest first."""
    from console import render
    from core.recovery import IncidentStore

    found = IncidentStore(session.registry).list(environment)
    if as_json:
        render.echo_json([{k: r.get(k) for k in ("id", "environment", "severity", "status", "failure_type",
                                                  "started_at", "resolved_at", "time_to_restore_s",
                                                  "suspect_deployment_id")} for r in found])
        return
    if not found:
        click.echo("no incidents")
    for r in found:
        ttr = f"{r['time_to_restore_s']:.0f} s" if r.get("time_to_restore_s") is not None else "-"
        click.echo(f"{r['id']}  {r.get('severity')}  {r.get('status'):<8}  {r.get('failure_type', '?'):<8}  "
                   f"restored in {ttr}  {r.get('summary', '')}")


@incident.command("show")
@click.argument("incident_id")
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as JSON.")
@click.pass_obj
def incident_show(session: Session, incident_id: str, as_json: bool) -> None:
    """One incident: classification, plan and timeline."""
    from console import render
    from core.recovery import IncidentStore

    record = IncidentStore(session.registry).get(incident_id).record
    if as_json:
        render.echo_json(record)
        return
    click.echo(f"{record['id']}  {record['severity']}  {record['status']}  {record.get('summary', '')}")
    for entry in record.get("timeline", []):
        click.echo(_entry_line(entry))


@incident.command("postmortem")
@click.argument("incident_id")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the Markdown to this file.")
@click.pass_obj
def incident_postmortem(session: Session, incident_id: str, output: Path | None) -> None:
    """The incident's postmortem as Markdown, from its timeline."""
    from core.recovery import IncidentStore, postmortem_markdown

    text = postmortem_markdown(IncidentStore(session.registry).get(incident_id).record)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"postmortem of {incident_id} written to {output}")


@incident.command("root-cause")
@click.argument("incident_id")
@click.argument("text")
@click.pass_obj
def incident_root_cause(session: Session, incident_id: str, text: str) -> None:
    """Record the root cause the operator found (it goes into the postmortem)."""
    if not text.strip():
        raise BadInput("write the root cause: it cannot be empty")
    from core.recovery import IncidentStore

    found = IncidentStore(session.registry).get(incident_id)
    session.gate.check(str(found.record.get("environment")), "record incidents")
    found.update(root_cause=text.strip())
    found.add("root-cause", text.strip(), at=session.wiring.now(), actor=session.operator)
    click.echo(f"root cause of {incident_id} recorded")


@incident.command("abort")
@click.argument("incident_id")
@click.argument("reason")
@click.pass_obj
def incident_abort(session: Session, incident_id: str, reason: str) -> None:
    """Stop guided recovery of an open incident (handled by hand from here); its page is resolved, Slack told why."""
    end_incident_from_cli(session, incident_id, "aborted", reason)
    click.echo(f"incident {incident_id} aborted; `opsconsole recover` will open a new one")


@incident.command("resolve")
@click.argument("incident_id")
@click.argument("reason")
@click.pass_obj
def incident_resolve(session: Session, incident_id: str, reason: str) -> None:
    """Mark an open incident resolved by hand (you saw it recover); its page is resolved, Slack told why."""
    found = end_incident_from_cli(session, incident_id, "resolved", reason)
    click.echo(f"incident {incident_id} resolved after {found.record['time_to_restore_s']:.0f} s")


def end_incident_from_cli(session: Session, incident_id: str, how: Ending, reason: str) -> Any:
    """core.recovery.end_incident, after the gate is asked on the record's environment: a refused operator or a
    read-only console is told so before the providers (and the sandbox) are started."""
    from core.recovery import IncidentStore, end_incident

    store = IncidentStore(session.registry)
    session.gate.check(str(store.get(incident_id).record.get("environment")), "record incidents")
    return end_incident(session.engine, store, incident_id, how, reason)
