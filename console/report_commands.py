"""`opsconsole report`: DORA figures, outcomes, rollback causes, duration trends and a timeline, in four formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from console.lazy import LazyChoice, environment_choice, report_formats
from core.errors import BadInput, OperationFailed

if TYPE_CHECKING:
    from console.session import Session

DEFAULT_DAYS = 90  # fourkeys' dashboard looks at the last three months
EXIT_CODES = """\b
Exit codes:
  0  the report was written
  1  the registry or the output file could not be read or written
  2  bad input (an option's value); nothing was written"""


class Moment(click.ParamType):
    """A day (YYYY-MM-DD) or an ISO-8601 time; without a zone it is UTC. `end_of_day` makes a day inclusive.

    Moments outside the days a report covers (core.reports.span) are refused here, naming the option.
    """

    name = "DATE"

    def __init__(self, *, end_of_day: bool = False) -> None:
        self.end_of_day = end_of_day

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        from core.reports.span import LATEST, in_span

        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None and len(text) == 10:
            moment = datetime.combine(day, time(), tzinfo=UTC)
            if self.end_of_day:  # the day after, unless that is past the span (then refused below, as written)
                moment = moment + timedelta(days=1) if moment < LATEST else LATEST + timedelta(microseconds=1)
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                self.fail(f"{text!r} is not a date (YYYY-MM-DD) or an ISO-8601 time (YYYY-MM-DDTHH:MM[:SS][+00:00])",
                          param, ctx)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        try:
            return in_span(moment, "", text, start=not self.end_of_day)
        except BadInput as error:
            self.fail(str(error).strip(), param, ctx)


def _profile_now(session: Session) -> datetime:
    """Now on the clock the profile's deployments are recorded on: the sandbox's for the sandbox, else the wall's."""
    if session.loaded.config.profile != "sandbox":
        return datetime.now(UTC)
    from console.sandbox_commands import sandbox_now

    return sandbox_now(session.environ)


@click.command("report", epilog=EXIT_CODES)
@click.option("--env", "environment", type=environment_choice(), help="Only this environment (default: all).")
@click.option("--since", type=Moment(), help=f"From this day or time, UTC (default: {DEFAULT_DAYS} days before "
                                              "--until).")
@click.option("--until", type=Moment(end_of_day=True),
              help="Up to and including this day (or until this time), UTC (default: now, on the profile's clock: "
                   "the sandbox's in the sandbox).")
@click.option("--format", "form", type=LazyChoice(report_formats), default="text", show_default=True,
              help="text for a terminal, json for scripts, markdown for a review, html for a self-contained page.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@click.pass_obj
def report(session: Session, environment: str | None, since: datetime | None, until: datetime | None, form: str,
           output: Path | None) -> None:
    """Deployment report: the four DORA keys with tiers, success and rollback rates, rollback causes,
    weekly duration trends and a timeline of deployments and incidents."""
    from core.reports import generate_report
    from core.reports.render import render
    from core.reports.span import default_start

    end = until or _profile_now(session)
    start = since or default_start(end, DEFAULT_DAYS)
    if end <= start:
        raise click.BadParameter(f"{end:%Y-%m-%d %H:%M} is not after --since {start:%Y-%m-%d %H:%M}",
                                 param_hint="'--until'")
    read_only = bool(click.get_current_context().meta.get("read_only"))  # reads the cache, writes none
    text = render(generate_report(session.registry, start, end, environment, read_only=read_only), form)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OperationFailed(f"the report could not be written to {output}: {exc.strerror}") from None
    click.echo(f"report written to {output}", err=True)
