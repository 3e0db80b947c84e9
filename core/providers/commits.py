"""When each deployed version was committed, for the reports' lead time for changes: the one rule of where that
time comes from, which the CLI (and any other caller of Engine.deploy_to_environment) asks.

In order, the first that knows:

1. a time the caller gives (`opsconsole deploy --commit-time ISO8601`): every component of the deployment;
2. in a GitHub Actions run (GITHUB_SHA is set): every version of the run is built from that commit, so its
   commit time, read from the GitHub API (GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN; the generated
   release workflow gives the job's token) or, without a token, from the checkout with git;
3. in the application's checkout (the current directory is a git work tree): per component, the commit its
   version names — the frontend's git ref, the image's tag, the infrastructure's version — as
   `git log -1 --format=%cI REV` reports it (the committer date; fourkeys takes a push's
   `head_commit.timestamp`, bq-workers/github-parser/main.py, see docs/dora.md).

Whatever none of them knows is left out, and said: the deployment records no commit time for it, and the
report counts it among those without one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.errors import BadInput, OpsError

GIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CommitTimes:
    """Per component, when its version was committed, and one line for each that could not be found."""

    times: dict[str, datetime] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def parse_commit_time(value: str, where: str = "--commit-time") -> datetime:
    """An ISO-8601 time with its zone (2026-09-21T14:13:20Z, or +02:00), or BadInput naming `where`."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
        raise BadInput(f"{where} {value!r} is not an ISO-8601 time with a zone, e.g. 2026-09-21T14:13:20Z "
                       "(the commit's time, as `git log -1 --format=%cI` prints it)")
    return moment.astimezone(UTC)


def revision_of(component: str, version: str) -> str | None:
    """The git revision a component's version names: an image's tag (none for a digest), else the version."""
    if component == "websocket-server":
        name = version.rsplit("/", 1)[-1]
        if "@" in name or ":" not in name:
            return None  # by digest, or untagged: no commit is named
        return name.rsplit(":", 1)[1]
    return version or None


def git_commit_time(revision: str, cwd: Path) -> datetime | None:
    """The committer time of `revision` in the git checkout at `cwd`, or None (no git, not a checkout, unknown)."""
    try:
        done = subprocess.run(["git", "log", "-1", "--format=%cI", "--end-of-options", revision, "--"], cwd=cwd,
                              capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    try:
        return parse_commit_time(done.stdout.strip(), "git")
    except BadInput:
        return None


GitHubLookup = Callable[[str, str, str, str], datetime]
"""(api_url, repository, token, sha) -> the commit's time; raises OpsError when GitHub cannot say."""


def _github_lookup(api_url: str, repository: str, token: str, sha: str) -> datetime:
    from core.providers.github import GitHubAdapter

    adapter = GitHubAdapter(repository, token, base_url=api_url)
    try:
        return adapter.commit_time(sha)
    finally:
        adapter.close()


def commit_times(versions: Mapping[str, str], *, given: datetime | None = None, cwd: Path | None = None,
                 environ: Mapping[str, str] | None = None, github: GitHubLookup = _github_lookup) -> CommitTimes:
    """The commit time of each component's version (see the module doc for where each comes from)."""
    if given is not None:
        return CommitTimes({component: given for component in versions})
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    sha = env.get("GITHUB_SHA", "").strip()
    if sha:
        return _from_pipeline(versions, sha, env, here, github)
    times: dict[str, datetime] = {}
    unknown: list[str] = []
    for component, version in versions.items():
        revision = revision_of(component, version)
        found = git_commit_time(revision, here) if revision else None
        if found is None:
            unknown.append(component)
        else:
            times[component] = found
    notes = (f"no commit time for {', '.join(unknown)}: give --commit-time, or deploy from the application's "
             "checkout where git knows the version", ) if unknown else ()
    return CommitTimes(times, notes)


def _from_pipeline(versions: Mapping[str, str], sha: str, env: Mapping[str, str], cwd: Path,
                   github: GitHubLookup) -> CommitTimes:
    repository, token = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_TOKEN", "")
    problem = ""
    if repository and token:
        try:
            found: datetime | None = github(env.get("GITHUB_API_URL") or "https://api.github.com", repository,
                                            token, sha)
        except OpsError as exc:
            found, problem = None, f" (GitHub: {exc})"
    else:
        found = None
    if found is None:
        found = git_commit_time(sha, cwd)
    if found is None:
        return CommitTimes({}, (f"no commit time for GITHUB_SHA {sha[:12]}{problem}: give --commit-time", ))
    return CommitTimes({component: found for component in versions})
