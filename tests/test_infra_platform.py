"""What the platform runs on, as a reviewer checks it in the HCL: secrets without values, a workload identity
provider that only this repository's workflows get through, Redis behind the service's VPC egress, alerts on
every signal reaching Slack and PagerDuty, and environments sized for who uses them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.config import ENVIRONMENTS
from tests.test_infra_terraform_files import INFRA, TF_FILES, merged, parse, service_resource

MODULES = INFRA / "modules"


def resources(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {name: spec for block in merged(directory).get("resource", []) if kind in block
            for name, spec in block[kind].items()}


def module_calls(environment: str) -> dict[str, dict[str, Any]]:
    return {name: spec for block in merged(INFRA / "environments" / environment)["module"]
            for name, spec in block.items()}


def tfvars(environment: str) -> dict[str, Any]:
    return parse(INFRA / "environments" / environment / "terraform.tfvars")


def test_no_secret_version_with_data_anywhere() -> None:
    for path in TF_FILES:
        assert "google_secret_manager_secret_version\" \"" not in path.read_text(encoding="utf-8").replace(
            'data "google_secret_manager_secret_version"', ""), f"{path} writes a secret version"
        for block in parse(path).get("resource", []):
            assert "google_secret_manager_secret_version" not in block, path


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_secret_the_service_reads_is_created_and_only_its_runtime_account_reads_it(environment: str) -> None:
    values = tfvars(environment)
    read = {ref["secret"] for name, ref in values["secret_refs"].items()
            if ref.get("secret") and name != "firebase_api_key" and ref["project"] == values["project_id"]}
    assert read == {"redis-url"}
    calls = module_calls(environment)
    assert calls["secrets"]["secret_ids"] == "${distinct(concat(local.service_secrets, local.monitoring_secrets))}"
    (root_locals,) = merged(INFRA / "environments" / environment)["locals"]
    assert "ref.project == var.project_id" in root_locals["service_secrets"]
    # The service waits for the secrets, and its account is granted each secret its env names, nothing more.
    assert "${module.secrets}" in calls["websocket_server"]["depends_on"]
    accessor = resources(MODULES / "websocket-server", "google_secret_manager_secret_iam_member")["websocket"]
    assert accessor["for_each"] == "${var.secret_env}"
    assert accessor["role"] == "roles/secretmanager.secretAccessor"
    assert accessor["member"] == "serviceAccount:${google_service_account.websocket.email}"
    secret = resources(MODULES / "secrets", "google_secret_manager_secret")["secret"]
    assert secret["replication"] == [{"auto": [{}]}]


def test_the_wif_provider_accepts_only_this_repository() -> None:
    module = MODULES / "github-deployer"
    provider = resources(module, "google_iam_workload_identity_pool_provider")["github"]
    assert provider["attribute_condition"] == "${local.attribute_condition}"
    assert provider["oidc"] == [{"issuer_uri": "https://token.actions.githubusercontent.com"}]
    binding = resources(module, "google_service_account_iam_member")["github"]
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"].endswith("/attribute.repository/${var.repository}")
    outputs = {name for block in merged(module)["output"] for name in block}
    assert {"workload_identity_provider", "deployer_service_account"} <= outputs
    shared = {name for block in merged(INFRA / "environments" / "shared")["output"] for name in block}
    assert {"workload_identity_provider", "deployer_service_account"} <= shared


TERRAFORM = shutil.which("terraform") or shutil.which("tofu")
BLOCKS = re.compile(r"^(?:variable \"[a-z_]+\"|locals) \{\n.*?^\}\n", re.S | re.M)


@pytest.mark.skipif(TERRAFORM is None, reason="neither terraform nor tofu is installed here")
def test_terraform_evaluates_the_condition_to_repository_ref_and_subject(tmp_path: Path) -> None:
    """The module's variables and locals, evaluated by Terraform itself (no provider needed, so offline)."""
    text = (MODULES / "github-deployer" / "main.tf").read_text(encoding="utf-8")
    (tmp_path / "main.tf").write_text("".join(BLOCKS.findall(text))
                                      + 'output "condition" {\n  value = local.attribute_condition\n}\n',
                                      encoding="utf-8")
    (tmp_path / "in.tfvars.json").write_text(json.dumps({"project_id": "ops", "repository": "agent-network/platform"}),
                                             encoding="utf-8")
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    for command in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false", "-var-file=in.tfvars.json"]):
        done = subprocess.run([TERRAFORM, *command, "-no-color"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    shown = subprocess.run([TERRAFORM, "output", "-raw", "condition"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=60, check=True).stdout
    assert shown == ('assertion.repository == "agent-network/platform" && assertion.ref in ["refs/heads/main"] && '
                     '(assertion.sub == "repo:agent-network/platform:ref:refs/heads/main" || '
                     'assertion.sub == "repo:agent-network/platform:environment:dev" || '
                     'assertion.sub == "repo:agent-network/platform:environment:staging" || '
                     'assertion.sub == "repo:agent-network/platform:environment:production")')


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_deployer_gets_least_roles_in_each_environment(environment: str) -> None:
    calls = module_calls(environment)
    assert calls["websocket_server"]["deployers"] == "${local.deployers}"
    assert calls["artifact_registry"]["writers"] == (
        '${var.deployer_service_account == null ? [] : ["serviceAccount:${var.deployer_service_account}"]}')
    assert calls["artifact_registry"]["repository_id"] == "${var.image_repository}"
    assert tfvars(environment)["image_repository"] == "agent-network"  # core/config's [pipeline] image_repository
    run = resources(MODULES / "websocket-server", "google_cloud_run_v2_service_iam_member")["deployer"]
    assert run["role"] == "roles/run.developer" and run["name"] == "${google_cloud_run_v2_service.websocket.name}"
    act_as = resources(MODULES / "websocket-server", "google_service_account_iam_member")["deployer"]
    assert act_as["role"] == "roles/iam.serviceAccountUser"
    assert act_as["service_account_id"] == "${google_service_account.websocket.name}"
    assert tfvars(environment)["deployer_service_account"].startswith("opsconsole-deployer@")


def test_cloud_run_reaches_redis_through_direct_vpc_egress() -> None:
    (template,) = service_resource()["template"]
    (vpc,) = template["vpc_access"]
    assert vpc["egress"] == "PRIVATE_RANGES_ONLY"
    assert vpc["network_interfaces"] == [{"network": "${var.vpc_network}", "subnetwork": "${var.vpc_subnet}"}]
    redis = resources(MODULES / "redis", "google_redis_instance")["cache"]
    assert redis["authorized_network"] == "${var.network_id}"
    assert redis["auth_enabled"] is True and redis["transit_encryption_mode"] == "SERVER_AUTHENTICATION"
    for environment in ENVIRONMENTS:
        calls = module_calls(environment)
        assert calls["redis"]["network_id"] == "${module.network.network_id}"
        assert calls["websocket_server"]["vpc_network"] == "${module.network.network_name}"
        env = calls["websocket_server"]["plain_env"]
        assert (env["REDIS_HOST"], env["REDIS_PORT"]) == ("${module.redis.host}", "${module.redis.port}")
        assert env["ENVIRONMENT"] == "${var.environment}"


SIGNALS = {
    "error_rate": "run.googleapis.com/request_count",
    "latency": "run.googleapis.com/request_latencies",
    "instances": "run.googleapis.com/container/instance_count",
    "redis_memory": "redis.googleapis.com/stats/memory/usage_ratio",
    "redis_connections": "redis.googleapis.com/clients/connected",
}


def test_an_alert_policy_per_signal_notifies_every_channel() -> None:
    policies = resources(MODULES / "monitoring", "google_monitoring_alert_policy")
    assert set(policies) == set(SIGNALS)
    for name, metric in SIGNALS.items():
        assert policies[name]["notification_channels"] == "${local.channels}", name
        (condition,) = policies[name]["conditions"]
        assert metric in condition["condition_threshold"][0]["filter"], name
    (module_locals,) = [b for b in merged(MODULES / "monitoring")["locals"] if "channels" in b]
    assert "google_monitoring_notification_channel.slack" in module_locals["channels"]
    assert "google_monitoring_notification_channel.pagerduty" in module_locals["channels"]
    channels = resources(MODULES / "monitoring", "google_monitoring_notification_channel")
    assert channels["slack"]["type"] == "slack" and channels["pagerduty"]["type"] == "pagerduty"
    # Tokens come from Secret Manager as sensitive labels, never as a plain label or a variable.
    assert channels["slack"]["sensitive_labels"] == [
        {"auth_token": "${data.google_secret_manager_secret_version.slack_token[0].secret_data}"}]
    assert channels["pagerduty"]["sensitive_labels"] == [
        {"service_key": "${data.google_secret_manager_secret_version.pagerduty_key[0].secret_data}"}]
    assert "auth_token" not in channels["slack"]["labels"]


def test_production_pages_and_posts_the_others_only_post() -> None:
    for environment in ENVIRONMENTS:
        values = tfvars(environment)
        assert values["slack_channel_name"].startswith("#")
        assert values["pagerduty_enabled"] is (environment == "production")


def test_the_dashboard_reuses_the_consoles_panels() -> None:
    text = (MODULES / "monitoring" / "dashboard.tf").read_text(encoding="utf-8")
    for title in ("5xx rate", "latency p50", "latency p99", "requests per second", "instances", "Redis memory"):
        assert title in text
    for aligner in ("ALIGN_RATE", "ALIGN_PERCENTILE_50", "ALIGN_PERCENTILE_99", "REDUCE_SUM", "REDUCE_MAX"):
        assert aligner in text
    assert resources(MODULES / "monitoring", "google_monitoring_dashboard")["service"]["dashboard_json"].startswith(
        "${jsonencode(")


def test_environments_are_sized_for_who_uses_them() -> None:
    dev, staging, production = (tfvars(e) for e in ENVIRONMENTS)
    assert dev["min_instances"] == 0 and production["min_instances"] >= 2
    assert dev["max_instances"] < staging["max_instances"] < production["max_instances"] == 20
    assert dev["redis_tier"] == "BASIC" and production["redis_tier"] == "STANDARD_HA"
    assert dev["redis_memory_size_gb"] < production["redis_memory_size_gb"]
    assert dev["deployers"] != production["deployers"]
    assert all("operations" in member for member in production["deployers"])


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_apis_the_platform_needs_are_enabled(environment: str) -> None:
    variables = {name: spec for block in merged(MODULES / "project-apis")["variable"] for name, spec in block.items()}
    wanted = {"run", "artifactregistry", "secretmanager", "redis", "compute", "monitoring", "sqladmin",
              "iamcredentials", "sts", "servicenetworking"}
    assert {f"{api}.googleapis.com" for api in wanted} <= set(variables["services"]["default"])
    assert module_calls(environment)["apis"]["source"] == "../../modules/project-apis"
