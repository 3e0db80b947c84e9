"""The deployment workflow of one environment, as GitHub Actions data built from the configuration.

Stages: lint and format, unit and integration tests, a security scan, build and push of the image
tagged with the commit SHA, the headless `opsconsole deploy` with the environment's strategy, end-to-end
tests, a performance test and a Slack notification. Pull requests run the checks only; pushes to main
and manual runs deploy. An environment that requires approval deploys through a GitHub environment
whose required reviewers hold the job until one approves. Secrets appear only as `${{ secrets.NAME }}`
(or a Secret Manager path read in the job), never as values.
"""

from __future__ import annotations

from typing import Any

from core.config.models import ConsoleConfig, EnvironmentConfig
from core.config.secrets import EnvRef, SecretManagerRef, parse_secret_ref
from core.strategies import mode_of, summary_of

PIPELINE_ENVIRONMENTS = ("staging", "production")
"""The environments that get a deployment workflow (dev is deployed from the console)."""

# Actions pinned to a release; a moving branch (@main) could change what runs with deployment credentials.
CHECKOUT = "actions/checkout@v4"
SETUP_NODE = "actions/setup-node@v4"
SETUP_PYTHON = "actions/setup-python@v5"
GCP_AUTH = "google-github-actions/auth@v2"
SETUP_GCLOUD = "google-github-actions/setup-gcloud@v2"
GCP_SECRETS = "google-github-actions/get-secretmanager-secrets@v2"
TRIVY = "aquasecurity/trivy-action@0.28.0"
SLACK = "slackapi/slack-github-action@v2.1.0"

NODE_VERSION = "20"
PYTHON_VERSION = "3.11"
DEPLOY_ENV_SECRETS = ("vercel_token", "slack_webhook", "pagerduty_routing_key")
"""Settings the headless console reads while deploying on the gcp profile (wiring.connect and notifiers)."""


def env_secret_names(env: EnvironmentConfig) -> dict[str, str]:
    """Environment variables the console needs in the deploy job -> the GitHub secret holding each.

    An `env:NAME` reference is read from the console's environment, so the job sets NAME from the
    GitHub secret of the same name; an sm:// reference is read from Secret Manager in the job itself.
    """
    names: dict[str, str] = {}
    for key in DEPLOY_ENV_SECRETS:
        ref = env.secrets.get(key)
        if ref is not None:
            parsed = parse_secret_ref(ref)
            if isinstance(parsed, EnvRef):
                names[parsed.name] = parsed.name
    return names


def _strategy_summary(env: EnvironmentConfig) -> str:
    return summary_of(env.strategy)


def deploy_command(env: EnvironmentConfig) -> str:
    """The headless deploy the job runs: the environment's strategy and mode, as configured."""
    strategy = env.strategy
    auto = f"--{mode_of(strategy)}"
    return (f"opsconsole deploy {env.name} --set \"websocket-server=${{IMAGE}}\" --set \"frontend=${{GITHUB_SHA}}\" "
            f"--strategy {strategy.kind} {auto} --yes --json")


def _node_steps(*commands: str) -> list[dict[str, Any]]:
    return [
        {"uses": CHECKOUT},
        {"uses": SETUP_NODE, "with": {"node-version": NODE_VERSION, "cache": "npm"}},
        {"run": "npm ci"},
        *({"run": command} for command in commands),
    ]


def _gcp_auth() -> dict[str, Any]:
    return {"uses": GCP_AUTH, "with": {"workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
                                       "service_account": "${{ vars.GCP_SERVICE_ACCOUNT }}"}}


def _console_steps(config: ConsoleConfig) -> list[dict[str, Any]]:
    return [
        {"uses": SETUP_PYTHON, "with": {"python-version": PYTHON_VERSION}},
        {"run": f"python -m pip install '{config.pipeline.console_package}'"},
        _gcp_auth(),
    ]


def _console_step(env: EnvironmentConfig, command: str) -> dict[str, Any]:
    """An `opsconsole` command on the gcp profile (which resolves the Vercel token and the notifiers' secrets
    when it connects); those secrets are given to this step only, not to the installs before it."""
    step: dict[str, Any] = {"run": command}
    secrets = {var: f"${{{{ secrets.{secret} }}}}" for var, secret in env_secret_names(env).items()}
    if secrets:
        step["env"] = secrets
    return step


def _notify_job(env: EnvironmentConfig) -> dict[str, Any]:
    text = (f"Deploy {env.name} (${{{{ github.sha }}}}): deploy ${{{{ needs.deploy.result }}}}, "
            "end-to-end ${{ needs.e2e.result }}, performance ${{ needs.performance.result }} "
            "(${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }})")
    steps: list[dict[str, Any]] = []
    ref = env.secrets.get("slack_webhook")
    parsed = parse_secret_ref(ref) if ref else None
    if isinstance(parsed, SecretManagerRef):
        path = f"projects/{parsed.project}/secrets/{parsed.secret}/versions/{parsed.version}"
        steps += [_gcp_auth(), {"id": "secrets", "uses": GCP_SECRETS, "with": {"secrets": f"slack_webhook:{path}"}}]
        webhook = "${{ steps.secrets.outputs.slack_webhook }}"
    elif isinstance(parsed, EnvRef):
        webhook = f"${{{{ secrets.{parsed.name} }}}}"
    else:
        steps.append({"run": f"echo 'No Slack webhook is configured for {env.name}.'"})
        webhook = ""
    if webhook:
        steps.append({"uses": SLACK, "with": {"webhook": webhook, "webhook-type": "incoming-webhook",
                                              "payload": f"text: \"{text}\"\n"}})
    return {"name": "Notify Slack", "needs": ["deploy", "e2e", "performance"],
            "if": "${{ always() && github.event_name != 'pull_request' }}", "runs-on": "ubuntu-latest",
            "permissions": {"contents": "read", "id-token": "write"}, "steps": steps}


def build_workflow(config: ConsoleConfig, env_name: str) -> dict[str, Any]:
    """The workflow of `env_name` as the mapping GitHub Actions reads."""
    env = config.environment(env_name)
    pipeline = config.pipeline
    infra = env.infrastructure
    registry = f"{infra.region}-docker.pkg.dev"
    image = f"{registry}/{infra.gcp_project}/{pipeline.image_repository}/{infra.service_name}:${{{{ github.sha }}}}"
    deploying = "${{ github.event_name != 'pull_request' }}"
    environment: dict[str, Any] = {"name": env.name, "url": env.application.websocket_url.replace("wss://", "https://")}
    approval = " after a required reviewer approves" if env.requires_approval else ", automatically"
    return {
        "name": f"Deploy {env.name}",
        "on": {
            "push": {"branches": ["main"]},
            "pull_request": {"branches": ["main"]},
            "workflow_dispatch": None,
        },
        "permissions": {"contents": "read"},
        "concurrency": {"group": f"deploy-{env.name}", "cancel-in-progress": False},
        "jobs": {
            "lint": {"name": "Lint and format", "runs-on": "ubuntu-latest",
                     "steps": _node_steps(pipeline.lint_command, pipeline.format_command)},
            "test": {"name": "Unit and integration tests", "runs-on": "ubuntu-latest",
                     "steps": _node_steps(pipeline.unit_test_command, pipeline.integration_test_command)},
            "security": {"name": "Security scan", "runs-on": "ubuntu-latest", "steps": [
                {"uses": CHECKOUT},
                {"uses": TRIVY, "with": {"scan-type": "fs", "scan-ref": ".", "severity": "CRITICAL,HIGH",
                                         "ignore-unfixed": True, "exit-code": "1"}},
            ]},
            "build": {
                "name": "Build and push the image",
                "needs": ["lint", "test", "security"],
                "if": deploying,
                "runs-on": "ubuntu-latest",
                "permissions": {"contents": "read", "id-token": "write"},
                "outputs": {"image": "${{ steps.image.outputs.image }}"},
                "env": {"IMAGE": image},
                "steps": [
                    {"uses": CHECKOUT},
                    _gcp_auth(),
                    {"uses": SETUP_GCLOUD},
                    {"run": f"gcloud auth configure-docker {registry} --quiet"},
                    {"run": 'docker build --tag "$IMAGE" .'},
                    {"run": 'docker push "$IMAGE"'},
                    {"id": "image", "run": 'echo "image=$IMAGE" >> "$GITHUB_OUTPUT"'},
                ],
            },
            "deploy": {
                "name": f"Deploy to {env.name} ({_strategy_summary(env)}){approval}",
                "needs": ["build"],
                "if": deploying,
                "runs-on": "ubuntu-latest",
                "environment": environment,
                "permissions": {"contents": "read", "id-token": "write"},
                "env": {"OPSCONSOLE_PROFILE": "gcp", "OPSCONSOLE_OPERATOR": "${{ github.actor }}",
                        "IMAGE": "${{ needs.build.outputs.image }}"},
                "steps": [*_console_steps(config), _console_step(env, deploy_command(env))],
            },
            "e2e": {
                "name": "End-to-end tests",
                "needs": ["deploy"],
                "if": deploying,
                "runs-on": "ubuntu-latest",
                "permissions": {"contents": "read", "id-token": "write"},
                "env": {"OPSCONSOLE_PROFILE": "gcp", "WEBSOCKET_URL": env.application.websocket_url},
                "steps": [*_console_steps(config), _console_step(env, f"opsconsole verify {env.name} --json"),
                          *_node_steps(pipeline.e2e_test_command)],
            },
            "performance": {
                "name": "Performance test",
                "needs": ["e2e"],
                "if": deploying,
                "runs-on": "ubuntu-latest",
                "env": {"WEBSOCKET_URL": env.application.websocket_url},
                "steps": _node_steps(pipeline.performance_test_command),
            },
            "notify": _notify_job(env),
        },
    }
