"""`opsconsole pipeline`: generate the GitHub Actions deployment workflows, and configure the GitHub
environments they deploy through (dry run by default)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from console.lazy import environment_choice, twin_rule
from core.errors import BadInput

if TYPE_CHECKING:
    from console.session import Session

# core.pipeline (ruamel.yaml, PyGithub) and the configuration are imported inside the commands: every
# other `opsconsole` call would otherwise pay for loading them.

EXIT_CODES = """\b
Exit codes:
  0  done (or, with --check, the committed workflows match)
  1  GitHub refused, a secret could not be resolved, or --check found a difference
  2  bad input (arguments, configuration); nothing was changed"""


def _resolver(session: Session) -> Callable[[str], str]:
    """env: references from this process's environment; sm:// ones through the profile's Secret Manager
    (which, for the sandbox, starts or attaches to it only when such a reference is used)."""
    from core.config import EnvRef, parse_secret_ref, resolve_secret

    def resolve(ref: str) -> str:
        if isinstance(parse_secret_ref(ref), EnvRef):
            return resolve_secret(ref, session.environ)
        return session.wiring.secret(ref)
    return resolve


@click.group(epilog=EXIT_CODES)
def pipeline() -> None:
    """The CI/CD pipeline: generated GitHub Actions workflows and the GitHub environments they deploy through."""


@pipeline.command("generate", epilog=EXIT_CODES)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a committed workflow differs.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Repository root that holds .github/workflows.")
@click.pass_obj
def generate(session: Session, check: bool, root: Path) -> None:
    """Write .github/workflows/deploy-staging.yml and deploy-production.yml from the configuration."""
    from core.pipeline import GENERATE_COMMAND, check_workflows, write_workflows

    config = session.loaded.config
    if check:
        differences = check_workflows(config, root)
        for difference in differences:
            click.echo(f"{difference.path}: {difference.problem}; run `{GENERATE_COMMAND}` and commit it", err=True)
        if differences:
            sys.exit(1)
        click.echo("workflows match the configuration")
        return
    written = write_workflows(config, root)
    for path in written:
        click.echo(f"wrote {path}")
    if not written:
        click.echo("workflows already match the configuration")


@pipeline.command("configure", epilog=EXIT_CODES)
@click.argument("environment", type=environment_choice())
@click.option("--apply", "apply_", is_flag=True, help="Make the changes (without it: only show them).")
@click.option("--repo", metavar="OWNER/NAME", callback=twin_rule("--repo"),
              help="GitHub repository (default: [pipeline] repo; checked by the same rule).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_obj
def configure(session: Session, environment: str, apply_: bool, repo: str | None, as_json: bool) -> None:
    """Show (or with --apply make) what ENVIRONMENT's GitHub environment needs: the environment, its required
    reviewers, variables and secrets (by name; a value is never printed)."""
    from console import render
    from core.pipeline import configure_deployment_pipeline
    from core.providers.github import GitHubAdapter

    config = session.loaded.config
    settings = config.pipeline
    repo = repo or settings.repo
    if "/" not in repo:  # checked before the token is resolved: bad input is reported first
        raise BadInput("The GitHub repository is not set; give --repo owner/name or set [pipeline] repo.")
    if apply_:  # showing the plan reads; applying it changes the GitHub environment: the access gate decides
        session.gate.check(environment, "configure the GitHub environment")
    resolve = _resolver(session)
    github = GitHubAdapter(repo, resolve(settings.github_token), base_url=settings.github_api_url)
    try:
        plan = configure_deployment_pipeline(config, environment, github, github.repo_name,
                                             resolve=resolve if apply_ else None)
    finally:
        github.close()
    if as_json:
        render.echo_json({**plan.to_dict(), "applied": apply_})
        return
    verb = "applied" if apply_ else "would change"
    if not plan.changes:
        click.echo(f"{github.repo_name} environment {environment} is up to date")
        return
    click.echo(f"{github.repo_name} environment {environment}: {len(plan.changes)} change(s) {verb}")
    for change in plan.changes:
        click.echo(f"  {change.detail}")
    if not apply_:
        click.echo("dry run: nothing was changed; run again with --apply")
