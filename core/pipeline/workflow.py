"""The pieces every generated workflow shares, and the pull-request workflow built from them.

Pull requests run the checks only (lint and format, unit and integration tests, a security scan of the
repository) and never deploy; the release flow (core/pipeline/release.py) runs the same checks first.
Every action is pinned to a commit (core/pipeline/actions.py), every checkout drops its token
(`persist-credentials: false`), and every job says the permissions it needs, no more.
"""

from __future__ import annotations

from typing import Any

from core.config.models import ConsoleConfig, EnvironmentConfig
from core.config.secrets import EnvRef, parse_secret_ref
from core.pipeline.actions import CHECKOUT, GCP_AUTH, SETUP_NODE, TRIVY
from core.strategies import mode_of

PIPELINE_ENVIRONMENTS = ("staging", "production")
"""The environments the release flow deploys to, in order (dev is deployed from the console)."""

NODE_VERSION = "20"
PYTHON_VERSION = "3.11"
DEPLOY_ENV_SECRETS = ("vercel_token", "slack_webhook", "pagerduty_routing_key")
"""Settings the headless console reads while deploying on the gcp profile (wiring.connect and notifiers)."""

READ = {"contents": "read"}
READ_AND_FEDERATE = {"contents": "read", "id-token": "write"}


def env_secret_names(env: EnvironmentConfig) -> dict[str, str]:
    """Environment variables the console needs in the deploy job -> the GitHub secret holding each.

    An `env:NAME` reference is read from the console's environment, so the job sets NAME from the
    GitHub secret of the same name; an sm:// reference is read from Secret Manager by the console itself.
    """
    names: dict[str, str] = {}
    for key in DEPLOY_ENV_SECRETS:
        ref = env.secrets.get(key)
        if ref is not None:
            parsed = parse_secret_ref(ref)
            if isinstance(parsed, EnvRef):
                names[parsed.name] = parsed.name
    return names


COMMIT_LOOKUP = {"GITHUB_TOKEN": "${{ github.token }}"}
"""The deploy step's read-only job token (the job asks only `contents: read`): with GITHUB_SHA, which every step
has, the console reads the commit's time from the GitHub API for the report's lead time
(core/providers/commits.py; without it, from the checkout with git)."""


def deploy_command(env: EnvironmentConfig) -> str:
    """The headless deploy a job runs: the image by digest (IMAGE is repository@sha256:...), the environment's
    strategy and mode as configured. Both are built from GITHUB_SHA, whose commit time the console records."""
    strategy = env.strategy
    return (f"opsconsole deploy {env.name} --set \"websocket-server=${{IMAGE}}\" --set \"frontend=${{GITHUB_SHA}}\" "
            f"--strategy {strategy.kind} --{mode_of(strategy)} --yes --json")


def checkout() -> dict[str, Any]:
    """The repository at the commit that triggered the run, without leaving the job's token in .git/config."""
    return {"uses": CHECKOUT.uses, "with": {"persist-credentials": False}}


def gcp_auth() -> dict[str, Any]:
    """Workload identity federation: GitHub's OIDC token exchanged for the deployer service account's; no key."""
    return {"uses": GCP_AUTH.uses, "with": {"workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
                                            "service_account": "${{ vars.GCP_SERVICE_ACCOUNT }}"}}


def node_steps(*commands: str, cache: bool) -> list[dict[str, Any]]:
    setup: dict[str, Any] = {"node-version": NODE_VERSION}
    if cache:  # not in the release flow: a cache written by one run must not feed the image another run ships
        setup["cache"] = "npm"
    return [checkout(), {"uses": SETUP_NODE.uses, "with": setup}, {"run": "npm ci"},
            *({"run": command} for command in commands)]


def check_jobs(config: ConsoleConfig, *, cache: bool) -> dict[str, Any]:
    """Lint and format, unit and integration tests, and a scan of the repository: read-only, no secrets."""
    pipeline = config.pipeline
    return {
        "lint": {"name": "Lint and format", "runs-on": "ubuntu-latest", "permissions": READ,
                 "steps": node_steps(pipeline.lint_command, pipeline.format_command, cache=cache)},
        "test": {"name": "Unit and integration tests", "runs-on": "ubuntu-latest", "permissions": READ,
                 "steps": node_steps(pipeline.unit_test_command, pipeline.integration_test_command, cache=cache)},
        "security": {"name": "Security scan of the repository", "runs-on": "ubuntu-latest", "permissions": READ,
                     "steps": [checkout(), {"uses": TRIVY.uses, "with": {
                         "scan-type": "fs", "scan-ref": ".", "severity": "CRITICAL,HIGH", "ignore-unfixed": True,
                         "exit-code": "1"}}]},
    }


def build_pr_workflow(config: ConsoleConfig) -> dict[str, Any]:
    """Pull requests to main: the checks, nothing deployed, no credentials."""
    return {
        "name": "Pull request checks",
        "on": {"pull_request": {"branches": ["main"]}},
        "permissions": {},
        # Its own group: a pull request's run can cancel only an older run of the same pull request.
        "concurrency": {"group": "pr-${{ github.event.pull_request.number }}", "cancel-in-progress": True},
        "jobs": check_jobs(config, cache=True),
    }
