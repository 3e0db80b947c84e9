"""`opsconsole pipeline configure ENV [--apply]` against a local GitHub stand-in: the dry run writes nothing,
apply sends what GitHub expects (reviewers, variables, libsodium-sealed secrets), a second apply leaves
matching variables alone, and no secret value is ever printed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.cli import main
from tests.github_standin import TEAMS, TOKEN, USERS, GitHubStandIn

REPO = "acme/agent-network"
VALUES = {
    "VERCEL_TOKEN": "vercel-value-5f1d2c",
    "SLACK_WEBHOOK_URL": "https://hooks.example.test/services/T1/B1/slack-value-9a8b7c",
    "PAGERDUTY_ROUTING_KEY": "pdvalue0123456789abcdef012345678",
}
VARIABLES = ["GCP_PROJECT", "GCP_REGION", "SERVICE_NAME", "IMAGE_REPOSITORY", "FRONTEND_PROJECT", "WEBSOCKET_URL",
             "DEPLOY_STRATEGY"]


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn(REPO).start()
    yield standin
    standin.stop()


def project(home: Path, github: GitHubStandIn, extra: str = "") -> Path:
    (home / "opsconsole.toml").write_text(
        f'[pipeline]\nrepo = "{REPO}"\ngithub_api_url = "{github.url}"\ngithub_token = "env:GH_ADMIN_TOKEN"\n'
        f'reviewers = ["alice", "acme/operations"]\n{extra}')
    return home


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


Run = Callable[..., Ran]


@pytest.fixture
def opsconsole(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`opsconsole ARGS` in this process (main(): its exit code, stdout and stderr), run in a project directory."""
    def run(home: Path, *args: str, token: str = TOKEN) -> Ran:
        for name, value in {**VALUES, "GH_ADMIN_TOKEN": token, "XDG_CONFIG_HOME": str(home / "xdg"),
                            "OPSCONSOLE_REGISTRY": str(home / "registry.json"),
                            "OPSCONSOLE_SANDBOX": str(home / "sandbox.json"),
                            # applying changes the GitHub environment: an operator the access gate lets in
                            "OPSCONSOLE_OPERATOR": "alice", "OPSCONSOLE_TEAMS__OPERATIONS": '["alice"]'}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(home)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out = capsys.readouterr()
        return Ran(exited.value.code, out.out, out.err)
    return run


def assert_no_value_in(*texts: str) -> None:
    for text in texts:
        for name, value in VALUES.items():
            assert value not in text, f"the value of {name} was printed"
        assert TOKEN not in text


def test_a_dry_run_lists_every_change_by_name_and_writes_nothing(tmp_path: Path, github: GitHubStandIn,
        opsconsole: Run) -> None:
    result = opsconsole(project(tmp_path, github), "pipeline", "configure", "production")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{REPO} environment production: 12 change(s) would change"
    assert "  create environment production in acme/agent-network" in lines
    assert "  required reviewers: acme/operations, alice" in lines
    assert "  add variable DEPLOY_STRATEGY = canary 10,25,50,100 manual" in lines
    assert "  set secret VERCEL_TOKEN from env:VERCEL_TOKEN" in lines
    assert lines[-1] == "dry run: nothing was changed; run again with --apply"
    assert github.writes() == []
    assert github.environments == {}
    assert_no_value_in(result.stdout, result.stderr)


def test_apply_creates_the_environment_with_reviewers_variables_and_sealed_secrets(
        tmp_path: Path, github: GitHubStandIn, opsconsole: Run) -> None:
    result = opsconsole(project(tmp_path, github), "pipeline", "configure", "production", "--apply", "--json")

    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["applied"] is True and len(plan["changes"]) == 12
    writes = github.writes()
    base = f"/repos/{REPO}/environments/production"
    assert (writes[0].method, writes[0].path) == ("PUT", base)
    assert sorted(writes[0].body["reviewers"], key=lambda r: r["id"]) == [
        {"type": "User", "id": USERS["alice"]}, {"type": "Team", "id": TEAMS[("acme", "operations")]}]
    posted = [w.body for w in writes if w.method == "POST"]
    assert [b["name"] for b in posted] == VARIABLES
    assert {"name": "GCP_PROJECT", "value": "ai-agent-network-prod"} in posted
    secrets = [w for w in writes if w.path.startswith(base + "/secrets/")]
    assert sorted(w.path.rsplit("/", 1)[1] for w in secrets) == sorted(VALUES)
    assert all(set(w.body) == {"encrypted_value", "key_id"} and w.body["key_id"] == github.key_id for w in secrets)
    assert len(writes) == 1 + len(VARIABLES) + len(VALUES)
    for name, value in VALUES.items():
        assert github.decrypt("production", name) == value
        assert all(value not in json.dumps(w.body) for w in writes), "only the sealed box travels"
    assert_no_value_in(result.stdout, result.stderr)


def test_a_second_apply_leaves_matching_variables_alone_and_updates_a_changed_one(tmp_path: Path, github: GitHubStandIn,
        opsconsole: Run) -> None:
    home = project(tmp_path, github)
    assert opsconsole(home, "pipeline", "configure", "staging", "--apply").returncode == 0
    github.log.clear()

    again = opsconsole(home, "pipeline", "configure", "staging", "--apply")

    assert again.returncode == 0, again.stderr
    assert [w.method for w in github.writes()] == ["PUT"] * len(VALUES), "secrets only: GitHub never shows them"
    assert all("/secrets/" in w.path for w in github.writes())

    github.log.clear()
    changed = project(tmp_path, github, '[environments.staging.infrastructure]\nregion = "europe-west1"\n')
    third = opsconsole(changed, "pipeline", "configure", "staging", "--apply")
    assert third.returncode == 0, third.stderr
    (patch,) = [w for w in github.writes() if w.method == "PATCH"]
    assert patch.path == f"/repos/{REPO}/environments/staging/variables/GCP_REGION"
    assert patch.body == {"name": "GCP_REGION", "value": "europe-west1"}
    assert github.environments["staging"].variables["GCP_REGION"] == "europe-west1"
    assert github.environments["staging"].reviewers == [], "staging deploys without approval"


def test_production_without_reviewers_is_refused_before_github_is_asked(tmp_path: Path, github: GitHubStandIn,
        opsconsole: Run) -> None:
    (tmp_path / "opsconsole.toml").write_text(f'[pipeline]\nrepo = "{REPO}"\ngithub_api_url = "{github.url}"\n'
                                              'github_token = "env:GH_ADMIN_TOKEN"\n')
    result = opsconsole(tmp_path, "pipeline", "configure", "production", "--apply")

    assert result.returncode == 2
    assert result.stderr == ("opsconsole: production requires approval, so [pipeline] reviewers must name at least "
                             "one GitHub user or org/team to approve its deployments.\n")
    assert github.writes() == []


def test_a_rejected_token_is_one_sentence_without_the_token(tmp_path: Path, github: GitHubStandIn,
        opsconsole: Run) -> None:
    home = project(tmp_path, github)
    environ_token = "ghp_wrong0token000000000000000000000000000"
    result = opsconsole(home, "pipeline", "configure", "staging", token=environ_token)

    assert result.returncode == 1
    assert result.stderr.startswith(f"opsconsole: GitHub refused reading repository {REPO} (HTTP 401: Bad credentials)")
    assert environ_token not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_without_a_repository_it_is_bad_input_and_github_is_not_asked(tmp_path: Path, github: GitHubStandIn,
        opsconsole: Run) -> None:
    result = opsconsole(tmp_path, "pipeline", "configure", "staging")

    assert result.returncode == 2
    assert result.stderr == ("opsconsole: The GitHub repository is not set; give --repo owner/name or set "
                             "[pipeline] repo.\n")
    assert github.log == []


def test_the_deploy_jobs_identity_and_shared_registry_become_variables(
        tmp_path: Path, github: GitHubStandIn, opsconsole: Run) -> None:
    provider = "projects/123456789/locations/global/workloadIdentityPools/github/providers/agent-network"
    deployer = "opsconsole-deployer@ai-agent-network-prod.iam.gserviceaccount.com"
    registry = "postgresql://opsconsole-deployer%40ai-agent-network-prod.iam@/opsconsole" \
               "?cloudsql_instance=ai-agent-network-ops:us-central1:opsconsole-registry"
    home = project(tmp_path, github, f'workload_identity_provider = "{provider}"\n'
                                     f'deployer_service_account = "{deployer}"\nregistry = "{registry}"\n')

    result = opsconsole(home, "pipeline", "configure", "production", "--apply", "--json")

    assert result.returncode == 0, result.stderr
    posted = {w.body["name"]: w.body["value"] for w in github.writes() if w.method == "POST" and "name" in w.body}
    assert posted["GCP_WORKLOAD_IDENTITY_PROVIDER"] == provider
    assert posted["GCP_SERVICE_ACCOUNT"] == deployer
    assert posted["OPSCONSOLE_REGISTRY"] == registry  # the deploy jobs record where the on-call consoles read


def test_a_pipeline_registry_that_would_lose_deployments_or_leak_a_password_is_refused(
        tmp_path: Path, github: GitHubStandIn, opsconsole: Run) -> None:
    for value, problem in (("registry.json", "a file on a throwaway runner would lose the deployment"),
                           ("postgresql://deployer:hunter2@db/opsconsole", "must not carry a password")):
        result = opsconsole(project(tmp_path, github, f'registry = "{value}"\n'), "pipeline", "configure",
                            "production")
        assert result.returncode == 2 and problem in result.stderr, result.stderr
        assert "hunter2" not in result.stderr and github.writes() == []
