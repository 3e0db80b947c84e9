"""Lead time for changes from real data, through the CLI: each deployed version's commit time given with
--commit-time, read with git in the application's checkout, or read from the GitHub API in a GitHub Actions run
(GITHUB_SHA), then the report's median; and a deployment cancelled before any change, which no figure counts as
a failed change. On a standalone sandbox whose clock moves only when a console waits (tests/test_deploy_cli.py)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.providers.commits import commit_times
from tests import test_deploy_cli as deploy_rig
from tests.cli_rig import opsconsole
from tests.github_standin import TOKEN, GitHubStandIn
from tests.test_deploy_cli import EPOCH, IMAGE, Cli

# The deploy CLI's fixtures: a standalone sandbox of this module's own, a project on it, one with none running.
sandbox, cli, project = deploy_rig.sandbox, deploy_rig.cli, deploy_rig.project
pytestmark = pytest.mark.xdist_group("lead-time-cli-sandbox")

DAY = datetime.fromtimestamp(EPOCH, UTC).date()
COMMITTED = datetime.fromtimestamp(EPOCH, UTC) - timedelta(hours=5, minutes=30)


def report(cli: Cli, env: str) -> dict[str, Any]:
    result = cli("report", "--env", env, "--since", str(DAY - timedelta(days=1)), "--until",
                 str(DAY + timedelta(days=2)), "--format", "json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def ended_at(cli: Cli, env: str) -> datetime:
    (deployment,) = cli.deployments(env)
    assert deployment.ended_at is not None
    return deployment.ended_at


def test_a_commit_time_given_with_the_deploy_gives_the_report_its_lead_time(cli: Cli) -> None:
    given = COMMITTED.astimezone(datetime.now().astimezone().tzinfo).isoformat()  # any zone: it is a moment
    done = cli.result("deploy", "dev", "--set", f"websocket-server={IMAGE}", "--commit-time", given)
    assert done["status"] == "succeeded"

    (deployment,) = cli.deployments("dev")
    assert deployment.metadata["commit_times"] == {"websocket-server": COMMITTED.isoformat()}
    lead = report(cli, "dev")["dora"]["lead_time"]
    assert lead["samples"] == 1 and lead["without_commit_time"] == 0
    assert lead["median_seconds"] == (ended_at(cli, "dev") - COMMITTED).total_seconds()
    assert lead["bucket"] == "one day" and lead["tier"] == "elite"


@pytest.mark.parametrize("value", ["yesterday", "2026-09-21T14:13:20", "2026-13-01T00:00:00Z", ""])
def test_a_commit_time_that_cannot_be_used_is_one_sentence_exit_2_and_nothing_is_written(project: Cli,
                                                                                        value: str) -> None:
    result = project("deploy", "dev", "--set", f"websocket-server={IMAGE}", "--commit-time", value)

    assert result.returncode == 2, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert f"--commit-time {value!r} is not an ISO-8601 time with a zone" in line and "Traceback" not in line
    assert not (project.home / "registry.json").exists()


def _git(home: Path, *args: str, when: datetime) -> None:
    stamp = when.isoformat()
    env = {"GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.com", "GIT_COMMITTER_NAME": "Alice",
           "GIT_COMMITTER_EMAIL": "alice@example.com", "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
           "HOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", *args], cwd=home, env=env, check=True, capture_output=True)


def test_in_the_applications_checkout_each_versions_commit_time_comes_from_git(cli: Cli) -> None:
    _git(cli.home, "init", "-q", when=COMMITTED)
    _git(cli.home, "commit", "-q", "--allow-empty", "-m", "the websocket server 2.0.0", when=COMMITTED)
    _git(cli.home, "tag", "v2.0.0", when=COMMITTED)
    frontend_at = COMMITTED + timedelta(hours=1)
    _git(cli.home, "commit", "-q", "--allow-empty", "-m", "the frontend", when=frontend_at)
    _git(cli.home, "branch", "release/2.0", when=frontend_at)

    done = cli.result("deploy", "dev", "--set", f"websocket-server={IMAGE}", "--set", "frontend=release/2.0")
    assert done["status"] == "succeeded"

    (deployment,) = cli.deployments("dev")
    assert deployment.metadata["commit_times"] == {"websocket-server": COMMITTED.isoformat(),
                                                   "frontend": frontend_at.isoformat()}
    ended = ended_at(cli, "dev")
    lead = report(cli, "dev")["dora"]["lead_time"]
    assert lead["samples"] == 2  # fourkeys: one sample per change, the median over them
    assert lead["median_seconds"] == ((ended - COMMITTED) + (ended - frontend_at)).total_seconds() / 2


def test_a_version_git_does_not_know_records_no_commit_time_and_says_so(cli: Cli) -> None:
    result = cli("deploy", "dev", "--set", f"websocket-server={IMAGE}")  # no checkout here: git knows nothing

    assert result.returncode == 0, result.stderr
    assert "no commit time for websocket-server: give --commit-time" in result.stdout
    (deployment,) = cli.deployments("dev")
    assert "commit_times" not in deployment.metadata
    assert report(cli, "dev")["dora"]["lead_time"]["without_commit_time"] == 1


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn().start()
    yield standin
    standin.stop()


def test_in_a_github_actions_run_the_time_of_github_sha_comes_from_the_github_api(cli: Cli,
                                                                                  github: GitHubStandIn) -> None:
    sha = "4c2a9f0e51b7d3a6c8e0f1a2b3c4d5e6f7a8b9c0"
    github.commits[sha] = COMMITTED.strftime("%Y-%m-%dT%H:%M:%SZ")
    run = {"GITHUB_SHA": sha, "GITHUB_REPOSITORY": github.repo, "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github.url}

    ran = opsconsole("deploy", "dev", "--set", f"websocket-server={IMAGE}", "--set", f"frontend={sha}", "--json",
                     cwd=cli.home, env={**cli.env(), **run})

    assert ran.returncode == 0, ran.stderr
    (deployment,) = cli.deployments("dev")
    assert deployment.metadata["commit_times"] == {"websocket-server": COMMITTED.isoformat(),
                                                   "frontend": COMMITTED.isoformat()}
    assert [(e.method, e.path) for e in github.log if "/commits/" in e.path] == [
        ("GET", f"/repos/{github.repo}/commits/{sha}")]
    assert TOKEN not in ran.stdout + ran.stderr


def test_a_sha_github_does_not_know_is_said_and_the_deployment_records_none(github: GitHubStandIn,
                                                                             tmp_path: Path) -> None:
    run = {"GITHUB_SHA": "0" * 40, "GITHUB_REPOSITORY": github.repo, "GITHUB_TOKEN": TOKEN,
           "GITHUB_API_URL": github.url}
    found = commit_times({"websocket-server": IMAGE}, cwd=tmp_path, environ=run)
    assert found.times == {}
    (note,) = found.notes
    assert "no commit time for GITHUB_SHA 000000000000" in note and "422" in note and TOKEN not in note


def test_a_deployment_cancelled_before_any_change_is_cancelled_not_a_failed_change(cli: Cli) -> None:
    before = cli.live_split("production")
    waiting = cli.result("deploy", "production", "--set", f"websocket-server={IMAGE}", "--yes",
                         "--commit-time", COMMITTED.isoformat())
    assert waiting["status"] == "pending" and "approv" in waiting["reason"]

    ended = cli.result("rollback", "production", "--reason", "wrong build", "--yes")

    assert ended["status"] == "cancelled", ended
    assert "cancelled before any change" in ended["reason"]
    assert cli.live_split("production") == before
    (deployment,) = cli.deployments("production")
    assert deployment.status == "cancelled"
    figures = report(cli, "production")
    assert figures["outcomes"]["cancelled"] == 1 and figures["outcomes"]["rolled_back"] == 0
    assert figures["dora"]["change_failure_rate"]["changes"] == 0
    assert figures["dora"]["change_failure_rate"]["failures"] == 0
    assert figures["dora"]["lead_time"]["samples"] == 0  # it shipped nothing: no lead time either
    # The environment is free again: the next deployment is accepted.
    again = cli.result("deploy", "production", "--set", f"websocket-server={IMAGE}", "--yes")
    assert again["status"] == "pending"
