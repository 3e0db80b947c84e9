"""`opsconsole registry check` / `repair` / `migrate` / `export`: find every problem of a registry (a file or the
team's PostgreSQL one) and repair a file only when asked, keeping each damaged original beside it; move a file
registry into PostgreSQL; back up either as JSON Lines."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from core.errors import BadInput, OperationFailed

if TYPE_CHECKING:
    from console.session import Session
    from core.registry import PostgresLocation
    from core.registry.integrity import RecordChecks

EXIT_CODES = """\b
Exit codes:
  0  the registry is sound (check), was repaired or needed nothing (repair), was copied (migrate, export)
  1  the registry is damaged (check), could not be repaired (repair), or could not be read or written
  2  bad input (arguments, configuration file); nothing was written
  4  refused: this operator may not change this (allow-list, read-only console); nothing was changed"""


def _record_checks() -> RecordChecks:
    """The side tables' records, checked by the parts of core that own them."""
    from core.recovery.incident import TABLE
    from core.recovery.incident_shape import incident_problem

    return {TABLE: incident_problem}


@click.group("registry", epilog=EXIT_CODES)
def registry() -> None:
    """The deployment registry: check it for damage, repair it explicitly (reads never repair), move it, back it up."""


@registry.command("check", epilog=EXIT_CODES)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_obj
def check(session: Session, as_json: bool) -> None:
    """Report every problem of the registry (its files, or the team's database), one sentence each; change nothing."""
    location = session.resolve_registry_location()
    if not isinstance(location, Path):
        _check_shared(session, location, as_json)
        return
    from core.registry.integrity import examine

    path = location
    found = examine(path, _record_checks())
    problems = sum(finding.damage for finding in found.findings)
    damaged = (f"registry {path} is damaged ({problems} problem{'s' if problems > 1 else ''}); restore the files "
               "named from a backup, or run `opsconsole registry repair`") if problems else None
    if as_json:  # one object, its outcome in it: a damaged registry is not a second object from the entry point
        _echo_findings({"registry": str(path), "damaged": found.damaged, "archived": found.archived,
                        "months": found.months, "findings": [
                            {"file": str(f.path), "problem": f.problem, "damage": f.damage} for f in found.findings]},
                       damaged)
    else:
        for finding in found.findings:
            click.echo(("" if finding.damage else "note: ") + finding.sentence())
    if damaged:
        raise OperationFailed(damaged)
    if not as_json:
        click.echo(f"registry {path} is sound: {found.archived} archived deployment(s) in {found.months} month file(s)")


def _check_shared(session: Session, location: PostgresLocation, as_json: bool) -> None:
    from core.registry.pg.integrity import examine

    found = examine(location, _record_checks(), operator=session.declared_operator)
    problems = sum(finding.damage for finding in found.findings)
    damaged = (f"registry {found.location} is damaged ({problems} problem{'s' if problems > 1 else ''}); each is "
               "named above (the database refuses such rows, so they were written around it: restore from a backup "
               "or correct them by hand)") if problems else None
    if as_json:
        _echo_findings({"registry": found.location, "damaged": found.damaged, "schema": found.schema,
                        "deployments": found.deployments, "events": found.events,
                        "findings": [{"problem": f.problem, "damage": f.damage} for f in found.findings]}, damaged)
    else:
        for finding in found.findings:
            click.echo(("" if finding.damage else "note: ") + finding.sentence())
    if damaged:
        raise OperationFailed(damaged)
    if not as_json:
        click.echo(f"registry {found.location} is sound: {_n(found.deployments)} deployment(s), {_n(found.events)} "
                   f"event(s), schema {found.schema}")


def _echo_findings(findings: dict[str, object], damaged: str | None) -> None:
    """The findings as one JSON object with the command's outcome in it; a damaged registry exits 1 here."""
    from console import render
    from core.outcome import Outcome

    outcome = Outcome.FAILED if damaged else Outcome.DONE
    render.echo_json({**findings, **render.result(outcome, damaged or "the registry is sound")})
    if damaged:
        sys.exit(int(outcome))


@registry.command("repair", epilog=EXIT_CODES)
@click.pass_obj
def repair(session: Session) -> None:
    """Repair a damaged registry: a sound backup replaces a damaged hot file, damaged archive lines are left out,
    statistics are counted again. Every file changed is first copied beside itself (<file>.damaged-<time>)."""
    from core.registry.repair import repair_registry

    session.gate.check(None, "repair the registry")  # registry-wide: the right to act on every environment
    path = session.resolve_registry_path()
    result = repair_registry(path, record_checks=_record_checks())
    if not result.done:
        click.echo(f"registry {path} is sound; nothing was changed")
        return
    for line in result.done:
        click.echo(line)
    for copy in result.kept:
        click.echo(f"kept {copy}")


@registry.command("migrate", epilog=EXIT_CODES)
@click.option("--from", "source", required=True, metavar="PATH", help="The registry file to copy (registry.json).")
@click.option("--to", "target", required=True, metavar="URL", help="The team registry: postgresql://USER@HOST/DB.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def migrate(session: Session, source: str, target: str, as_json: bool) -> None:
    """Copy a registry file into the team's PostgreSQL registry: deployments with their ids and events, environment
    health and statistics, infrastructure and incident records. Run it again to copy what is new; nothing doubles."""
    from core.config.registry_location import is_url, parse_postgres_url

    if is_url(source):
        raise BadInput("--from takes the registry file to copy (a path, such as "
                       "~/.local/share/opsconsole/registry.json), not a URL")
    if not is_url(target):
        raise BadInput(f"--to takes the team registry's postgresql:// URL, not the path {target!r}")
    to = parse_postgres_url(target, where="--to")
    path = Path(source).expanduser()
    if not path.is_file():
        raise BadInput(f"--from {path} is not a registry file ({'a directory' if path.is_dir() else 'no such file'})")
    session.gate.check(None, "migrate the registry")  # registry-wide: the right to act on every environment
    from console import render
    from core.registry import DeploymentRegistry
    from core.registry.integrity import examine
    from core.registry.pg.registry import PostgresRegistry
    from core.registry.pg.transfer import migrate as copy

    found = examine(path, _record_checks())
    problems = [finding for finding in found.findings if finding.damage]
    if problems:
        raise OperationFailed(f"registry {path} is damaged ({len(problems)} problem{'s' if len(problems) > 1 else ''}"
                              f", the first: {problems[0].sentence()}); nothing was copied: run `opsconsole --registry "
                              f"{path} registry check` to see each and `registry repair` to keep what is sound")
    registry = PostgresRegistry(to, operator=session.declared_operator)
    try:
        done = copy(DeploymentRegistry(path), registry)
    finally:
        registry.close()
    if as_json:
        render.echo_json({"from": str(path), "to": registry.location, **done.as_json()})
        return
    for note in done.notes:
        click.echo(f"note: {note}")
    line = (f"copied {_n(done.deployments)} deployments ({_n(done.active)} active), {_n(done.events)} events, "
            f"{_n(done.records)} records; {_n(done.already_there)} already there")
    if done.updated:
        line += f"; {_n(done.updated)} brought up to date"
    click.echo(line)


@registry.command("export", epilog=EXIT_CODES)
@click.option("--out", "out", metavar="FILE", help="Write here (default: opsconsole-registry-<UTC time>.jsonl in the "
                                                    "current directory); - for stdout.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON (on stderr with --out -).")
@click.pass_obj
def export(session: Session, out: str | None, as_json: bool) -> None:
    """Back up the whole registry (a file or the team's database) as JSON Lines: each deployment with its events,
    each environment, each record. A file is written beside its name and renamed into place once whole."""
    from core.registry.export import write_export

    path = None if out == "-" else Path(out or f"opsconsole-registry-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.jsonl")
    if path is not None and (path.is_dir() or not path.parent.is_dir()):
        raise BadInput(f"--out {path} is {'a directory' if path.is_dir() else 'in a directory that does not exist'}")
    registry = session.registry
    counts = write_export(registry, sys.stdout.buffer if path is None else path)
    where = "stdout" if path is None else str(path)
    if as_json:
        click.echo(json.dumps({"registry": registry.location, "out": where, **counts.as_json()}, indent=2,
                              sort_keys=True), err=path is None)
        return
    click.echo(f"exported {_n(counts.deployments)} deployments ({_n(counts.active)} active), {_n(counts.events)} "
               f"events, {_n(counts.environments)} environments, {_n(counts.records)} records to {where}",
               err=path is None)


def _n(count: int) -> str:
    """A whole number with a space between thousands: 1 204."""
    return f"{count:,}".replace(",", " ")
