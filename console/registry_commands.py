"""`opsconsole registry check` / `registry repair`: find every problem of a damaged registry, and repair it only
when asked, keeping each damaged original beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from core.errors import OperationFailed

if TYPE_CHECKING:
    from console.session import Session
    from core.registry.integrity import RecordChecks

EXIT_CODES = """\b
Exit codes:
  0  the registry is sound (check), or was repaired or needed nothing (repair)
  1  the registry is damaged (check), or could not be repaired (repair)
  2  bad input (arguments, configuration file)"""


def _record_checks() -> RecordChecks:
    """The side tables' records, checked by the parts of core that own them."""
    from core.recovery.incident import TABLE
    from core.recovery.incident_shape import incident_problem

    return {TABLE: incident_problem}


@click.group("registry", epilog=EXIT_CODES)
def registry() -> None:
    """The deployment registry: check it for damage, and repair it explicitly (reads never repair)."""


@registry.command("check", epilog=EXIT_CODES)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_obj
def check(session: Session, as_json: bool) -> None:
    """Report every problem of the registry file, its backup and its archive, one sentence each; change nothing."""
    from console import render
    from core.registry.integrity import examine

    path = session.resolve_registry_path()
    found = examine(path, _record_checks())
    if as_json:
        render.echo_json({"registry": str(path), "damaged": found.damaged, "archived": found.archived,
                          "months": found.months, "findings": [
                              {"file": str(f.path), "problem": f.problem, "damage": f.damage} for f in found.findings]})
    else:
        for finding in found.findings:
            click.echo(("" if finding.damage else "note: ") + finding.sentence())
    problems = sum(finding.damage for finding in found.findings)
    if problems:
        raise OperationFailed(f"registry {path} is damaged ({problems} problem{'s' if problems > 1 else ''}); "
                              "restore the files named from a backup, or run `opsconsole registry repair`")
    if not as_json:
        click.echo(f"registry {path} is sound: {found.archived} archived deployment(s) in {found.months} month file(s)")


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
