"""The release flow of the application repository: one workflow, on pushes to main and manual runs.

checks → build (once: the image pushed to Artifact Registry, its digest the job's output, Trivy on that
digest) → staging (that digest, the configured strategy) → staging's end-to-end and performance tests →
production (the same digest, never rebuilt, behind the GitHub environment's required reviewers) → its tests.

Each deploy job hands off to on-call through the shared registry: `opsconsole deploy` exits 0 when the
deployment succeeded (output `finished=true`; only then do the tests and the next environment run), 3 when it
waits for a person (output `waiting=true`, the job summary says what it waits for, who may act and the command
that continues it; the job passes, the rest of the flow is skipped), anything else fails the job, and a
deployment this run started that is still active is rolled back.
"""

from __future__ import annotations

from typing import Any

from core.config.models import ConsoleConfig, EnvironmentConfig
from core.config.secrets import EnvRef, SecretManagerRef, parse_secret_ref
from core.pipeline.actions import GCP_SECRETS, SETUP_GCLOUD, SETUP_PYTHON, SLACK, TRIVY
from core.pipeline.install import INSTALL_COMMAND
from core.pipeline.workflow import (
    COMMIT_LOOKUP,
    PIPELINE_ENVIRONMENTS,
    PYTHON_VERSION,
    READ,
    READ_AND_FEDERATE,
    check_jobs,
    checkout,
    deploy_command,
    env_secret_names,
    gcp_auth,
    node_steps,
)
from core.strategies import summary_of

DEPLOY_LOG = "${RUNNER_TEMP}/opsconsole-deploy.jsonl"
IMAGE_BY_DIGEST = "${{ needs.build.outputs.image }}@${{ needs.build.outputs.digest }}"

BUILD_SCRIPT = """\
docker push "$IMAGE:$GITHUB_SHA"
reference="$(docker inspect --format '{{index .RepoDigests 0}}' "$IMAGE:$GITHUB_SHA")"
digest="${reference##*@}"
case "$digest" in
  sha256:*) ;;
  *) echo "::error::the registry returned no digest for $IMAGE:$GITHUB_SHA"; exit 1 ;;
esac
echo "image=$IMAGE" >> "$GITHUB_OUTPUT"
echo "digest=$digest" >> "$GITHUB_OUTPUT"
echo "Built $IMAGE@$digest" >> "$GITHUB_STEP_SUMMARY"
"""


def deploy_script(env: EnvironmentConfig) -> str:
    """Run the deploy, keep its JSON lines, and turn its exit code into the job's outputs (see the module doc)."""
    return f"""\
status=0
{deploy_command(env)} | tee "{DEPLOY_LOG}" || status=$?
result="$(jq -c 'select(.event == "Result")' "{DEPLOY_LOG}" 2>/dev/null | tail -n 1 || true)"
echo "exit-code=$status" >> "$GITHUB_OUTPUT"
case "$status" in
  0)
    if [ "$(jq -r '.status' <<<"$result")" != succeeded ]; then
      echo "::error::opsconsole deploy exited 0 but the deployment did not succeed: $result"
      exit 1
    fi
    echo "finished=true" >> "$GITHUB_OUTPUT"
    echo "Deployed $IMAGE to $DEPLOY_ENV: $(jq -r '.deployment_id' <<<"$result") succeeded." >> "$GITHUB_STEP_SUMMARY"
    ;;
  3)
    echo "waiting=true" >> "$GITHUB_OUTPUT"
    ;;
  *)
    echo "::error::opsconsole deploy {env.name} exited $status"
    exit "$status"
    ;;
esac
"""


HANDOFF_SCRIPT = """\
result="$(jq -c 'select(.event == "Result")' "@LOG@" | tail -n 1)"
id="$(jq -r '.deployment_id' <<<"$result")"
waits="$(jq -r '.waiting_for' <<<"$result")"
who="$(jq -r 'if (.who_may_act | length) == 0 then "nobody on the allow-list" else (.who_may_act | join(", ")) end' \
<<<"$result")"
{
  echo "## $DEPLOY_ENV: deployment $id waits for a person"
  echo
  echo "- **Waits for:** $waits"
  echo "- **Who may act:** $who"
  echo "- **To continue**, from an on-call console on the shared registry: \\`opsconsole approve $DEPLOY_ENV\\` \
when it waits for approval, then \\`opsconsole promote $DEPLOY_ENV\\` for each step; or \\`opsconsole rollback \
$DEPLOY_ENV --reason \\"...\\"\\`."
  echo
  echo "Image: $IMAGE. The tests and the next environment of this run are skipped: it ends here."
} >> "$GITHUB_STEP_SUMMARY"
echo "::notice::$DEPLOY_ENV: deployment $id waits for a person ($waits); who may act: $who"
""".replace("@LOG@", DEPLOY_LOG)

ROLLBACK_SCRIPT = """\
id="$(jq -r 'select(.deployment_id != null) | .deployment_id' "@LOG@" 2>/dev/null | head -n 1)"
status="$(jq -r 'select(.event == "Result") | .status' "@LOG@" 2>/dev/null | tail -n 1)"
if [ -z "$id" ]; then
  echo "No deployment was started by this run: nothing to roll back."
  exit 0
fi
case "$status" in
  rolled_back|failed|aborted|cancelled)
    echo "Deployment $id already ended ($status): nothing to roll back."
    exit 0
    ;;
esac
opsconsole rollback "$DEPLOY_ENV" --reason "pipeline step failed" --yes --json
""".replace("@LOG@", DEPLOY_LOG)


def _notify_steps(env: EnvironmentConfig) -> list[dict[str, Any]]:
    """Slack, from this job (bound to the environment that holds the webhook), whatever the outcome."""
    text = (f"{env.name} (${{{{ github.sha }}}}): deploy ${{{{ job.status }}}}, "
            f"finished=${{{{ steps.deploy.outputs.finished || 'false' }}}}, "
            f"waiting for a person=${{{{ steps.deploy.outputs.waiting || 'false' }}}} "
            "(${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }})")
    ref = env.secrets.get("slack_webhook")
    parsed = parse_secret_ref(ref) if ref else None
    steps: list[dict[str, Any]] = []
    if isinstance(parsed, SecretManagerRef):
        path = f"projects/{parsed.project}/secrets/{parsed.secret}/versions/{parsed.version}"
        steps.append({"id": "secrets", "if": "${{ always() }}", "uses": GCP_SECRETS.uses,
                      "with": {"secrets": f"slack_webhook:{path}"}})
        webhook = "${{ steps.secrets.outputs.slack_webhook }}"
    elif isinstance(parsed, EnvRef):
        webhook = f"${{{{ secrets.{parsed.name} }}}}"
    else:
        return []
    steps.append({"name": "Notify Slack", "if": "${{ always() }}", "uses": SLACK.uses,
                  "with": {"webhook": webhook, "webhook-type": "incoming-webhook", "payload": f"text: \"{text}\"\n"}})
    return steps


def deploy_job(env: EnvironmentConfig, needs: list[str]) -> dict[str, Any]:
    approval = " after a required reviewer approves" if env.requires_approval else ", automatically"
    secrets = {var: f"${{{{ secrets.{secret} }}}}" for var, secret in env_secret_names(env).items()}
    previous = [name for name in needs if name in PIPELINE_ENVIRONMENTS]
    gate = f"${{{{ needs.{previous[-1]}.outputs.finished == 'true' }}}}" if previous else None
    job: dict[str, Any] = {
        "name": f"Deploy to {env.name} ({summary_of(env.strategy)}){approval}",
        "needs": needs,
        **({"if": gate} if gate else {}),
        "runs-on": "ubuntu-latest",
        "environment": {"name": env.name, "url": env.application.websocket_url.replace("wss://", "https://")},
        # Per environment and never cancelled: a later push queues behind a running deployment, and no pull
        # request run shares this group.
        "concurrency": {"group": f"deploy-{env.name}", "cancel-in-progress": False},
        "timeout-minutes": 120,
        "permissions": READ_AND_FEDERATE,
        "outputs": {"finished": "${{ steps.deploy.outputs.finished }}",
                    "waiting": "${{ steps.deploy.outputs.waiting }}"},
        "env": {"OPSCONSOLE_PROFILE": "gcp", "OPSCONSOLE_REGISTRY": "${{ vars.OPSCONSOLE_REGISTRY }}",
                "DEPLOY_ENV": env.name, "IMAGE": IMAGE_BY_DIGEST},
        "steps": [
            checkout(),  # opsconsole.toml and the pinned requirements file
            {"uses": SETUP_PYTHON.uses, "with": {"python-version": PYTHON_VERSION}},
            {"name": "Install the pinned console", "run": INSTALL_COMMAND},
            gcp_auth(),
            {"id": "deploy", "name": f"opsconsole deploy {env.name}", "run": deploy_script(env),
             "env": {**secrets, **COMMIT_LOOKUP}},
            {"id": "handoff", "name": "Hand off to on-call", "if": "${{ steps.deploy.outputs.waiting == 'true' }}",
             "run": HANDOFF_SCRIPT},
            {"name": "Roll back what this run started", "if": "${{ failure() }}", "run": ROLLBACK_SCRIPT,
             **({"env": secrets} if secrets else {})},
            *_notify_steps(env),
        ],
    }
    return job


def _after_deploy(env: EnvironmentConfig, name: str, command: str) -> dict[str, Any]:
    """A test against the deployed environment: only after its deployment really finished."""
    return {"name": f"{name} ({env.name})", "needs": [env.name],
            "if": f"${{{{ needs.{env.name}.outputs.finished == 'true' }}}}", "runs-on": "ubuntu-latest",
            "permissions": READ, "env": {"WEBSOCKET_URL": env.application.websocket_url},
            "steps": node_steps(command, cache=False)}


def build_job(config: ConsoleConfig) -> dict[str, Any]:
    """Build once. The image lives in the last environment's project (production's), which the earlier
    environments' Cloud Run services read from; the digest is what every environment deploys."""
    target = config.environment([n for n in PIPELINE_ENVIRONMENTS if n in config.environments][-1]).infrastructure
    registry = f"{target.region}-docker.pkg.dev"
    return {
        "name": "Build, push and scan the image",
        "needs": ["lint", "test", "security"],
        "runs-on": "ubuntu-latest",
        "permissions": READ_AND_FEDERATE,
        "outputs": {"image": "${{ steps.push.outputs.image }}", "digest": "${{ steps.push.outputs.digest }}"},
        "env": {"REGISTRY": registry,
                "IMAGE": f"{registry}/{target.gcp_project}/{config.pipeline.image_repository}/{target.service_name}"},
        "steps": [
            checkout(),
            gcp_auth(),
            {"uses": SETUP_GCLOUD.uses},
            {"run": 'gcloud auth configure-docker "$REGISTRY" --quiet'},
            {"run": 'docker build --tag "$IMAGE:$GITHUB_SHA" .'},
            {"id": "push", "name": "Push and read the digest", "run": BUILD_SCRIPT},
            {"name": "Scan the pushed image by digest", "uses": TRIVY.uses, "with": {
                "image-ref": "${{ steps.push.outputs.image }}@${{ steps.push.outputs.digest }}",
                "severity": "CRITICAL,HIGH", "ignore-unfixed": True, "exit-code": "1"}},
        ],
    }


def build_release_workflow(config: ConsoleConfig) -> dict[str, Any]:
    """The release workflow as the mapping GitHub Actions reads."""
    pipeline = config.pipeline
    jobs: dict[str, Any] = {**check_jobs(config, cache=False), "build": build_job(config)}
    before: list[str] = []
    for name in PIPELINE_ENVIRONMENTS:
        if name not in config.environments:
            continue
        env = config.environment(name)
        jobs[name] = deploy_job(env, ["build", *before])
        jobs[f"{name}-e2e"] = _after_deploy(env, "End-to-end tests", pipeline.e2e_test_command)
        jobs[f"{name}-performance"] = _after_deploy(env, "Performance test",
                                                    pipeline.performance_test_command)
        before = [name, f"{name}-e2e", f"{name}-performance"]
    return {
        "name": "Release",
        "on": {"push": {"branches": ["main"]}, "workflow_dispatch": None},
        "permissions": {},
        "jobs": jobs,
    }
