"""The registry's Cloud SQL module as a reviewer reads it: no public IP, IAM logins only, point-in-time recovery,
deletion refused, a database user per on-call engineer, and the registry URL the console takes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from core.config.registry_location import parse_postgres_url
from tests.test_infra_terraform_files import INFRA, merged, parse

MODULE = INFRA / "modules" / "registry-db"
SHARED = INFRA / "environments" / "shared"
URL = ("postgresql://USER@/${google_sql_database.opsconsole.name}"
       "?cloudsql_instance=${google_sql_database_instance.registry.connection_name}")


def resources(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {name: spec for block in merged(directory).get("resource", []) if kind in block
            for name, spec in block[kind].items()}


def instance_settings() -> dict[str, Any]:
    (settings,) = resources(MODULE, "google_sql_database_instance")["registry"]["settings"]
    return settings


def flags() -> dict[str, str]:
    return {flag["name"]: flag["value"] for flag in instance_settings()["database_flags"]}


def test_postgres_15_on_a_private_ip_only_reached_through_the_connectors() -> None:
    instance = resources(MODULE, "google_sql_database_instance")["registry"]
    assert instance["database_version"] == "POSTGRES_15"
    (ip,) = instance_settings()["ip_configuration"]
    assert ip["ipv4_enabled"] is False and "authorized_networks" not in ip
    assert ip["private_network"] == "${var.network_id}"
    # The Cloud SQL connectors present a client certificate the instance signed; nothing else gets in.
    assert ip["ssl_mode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"


def test_people_log_in_as_their_google_identity() -> None:
    assert flags()["cloudsql.iam_authentication"] == "on"
    users = resources(MODULE, "google_sql_user")
    assert all("password" not in user for user in users.values())


def test_backups_with_point_in_time_recovery() -> None:
    (backup,) = instance_settings()["backup_configuration"]
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    assert backup["transaction_log_retention_days"] == "${var.transaction_log_retention_days}"
    (retention,) = backup["backup_retention_settings"]
    assert retention == {"retained_backups": "${var.retained_backups}", "retention_unit": "COUNT"}


def test_deletion_is_refused_by_terraform_and_by_the_api_and_destroy_keeps_the_database() -> None:
    instance = resources(MODULE, "google_sql_database_instance")["registry"]
    assert instance["deletion_protection"] is True
    assert instance_settings()["deletion_protection_enabled"] is True
    assert resources(MODULE, "google_sql_database")["opsconsole"]["deletion_policy"] == "ABANDON"


def test_checkov_log_flags_are_set() -> None:
    assert {name: flags()[name] for name in (
        "log_checkpoints", "log_connections", "log_disconnections", "log_lock_waits", "log_temp_files",
        "log_min_duration_statement")} == {
        "log_checkpoints": "on", "log_connections": "on", "log_disconnections": "on", "log_lock_waits": "on",
        "log_temp_files": "0", "log_min_duration_statement": "-1"}


def test_one_iam_user_per_operator_and_one_service_account_user_for_the_deployer() -> None:
    users = resources(MODULE, "google_sql_user")
    assert users["operator"]["for_each"] == "${toset(var.operators)}"
    assert (users["operator"]["name"], users["operator"]["type"]) == ("${each.value}", "CLOUD_IAM_USER")
    assert users["deployer"]["count"] == "${var.deployer_service_account == null ? 0 : 1}"
    assert (users["deployer"]["name"], users["deployer"]["type"]) == ("${local.deployer_user}",
                                                                       "CLOUD_IAM_SERVICE_ACCOUNT")
    members = resources(MODULE, "google_project_iam_member")["registry"]
    assert members["for_each"] == "${local.member_roles}"


def test_the_registry_url_is_one_the_console_takes_once_a_person_puts_their_identity_in() -> None:
    outputs = {name: spec for block in merged(MODULE)["output"] for name, spec in block.items()}
    assert outputs["registry_url"]["value"] == URL
    assert outputs["connection_name"]["value"] == "${google_sql_database_instance.registry.connection_name}"
    assert resources(MODULE, "google_sql_database")["opsconsole"]["name"] == "opsconsole"
    rendered = URL.replace("${google_sql_database.opsconsole.name}", "opsconsole").replace(
        "${google_sql_database_instance.registry.connection_name}", "ops-project:us-central1:opsconsole-registry")
    url = urlsplit(rendered)
    assert (url.scheme, url.hostname, url.path) == ("postgresql", None, "/opsconsole")
    assert parse_qs(url.query) == {"cloudsql_instance": ["ops-project:us-central1:opsconsole-registry"]}
    # The console's own rule reads it: with the person's identity in, an instance to reach through the connector.
    location = parse_postgres_url(rendered.replace("USER", "alice%40example.com"))
    assert (location.user, location.dbname, location.cloudsql_instance) == (
        "alice@example.com", "opsconsole", "ops-project:us-central1:opsconsole-registry")


def test_one_shared_root_with_remote_state_uses_the_module() -> None:
    blocks = merged(SHARED)
    backends = [b for t in blocks["terraform"] for b in t.get("backend", [])]
    assert [next(iter(b)) for b in backends] == ["gcs"]
    settings = parse(SHARED / "backend.tfbackend")
    assert settings["bucket"].endswith("-tfstate") and settings["prefix"].endswith("/shared")
    modules = {name: spec["source"] for block in blocks["module"] for name, spec in block.items()}
    assert modules == {"registry_db": "../../modules/registry-db", "github_deployer": "../../modules/github-deployer"}
    for environment in ("dev", "staging", "production"):
        sources = [spec["source"] for block in merged(INFRA / "environments" / environment)["module"]
                   for spec in block.values()]
        assert "../../modules/registry-db" not in sources, f"{environment} would get a registry of its own"


def test_the_example_tfvars_sets_every_variable_without_a_default() -> None:
    declared = {name: spec for block in merged(SHARED)["variable"] for name, spec in block.items()}
    example = parse(SHARED / "terraform.tfvars.example")
    assert {name for name, spec in declared.items() if "default" not in spec} <= set(example) <= set(declared)
    assert all("@" in email and not email.endswith(".gserviceaccount.com") for email in example["operators"])


# Terraform itself evaluates the module's variables and locals (they need no provider, so this runs offline).
TERRAFORM = shutil.which("terraform") or shutil.which("tofu")
LOCALS = re.compile(r"^locals \{\n.*?^\}\n", re.S | re.M)


def evaluate(tmp_path: Path, **variables: Any) -> dict[str, Any]:
    """The module's locals as Terraform computes them for these variables."""
    (block,) = LOCALS.findall((MODULE / "main.tf").read_text(encoding="utf-8"))
    names = re.findall(r"^  ([a-z_]+)\s+=", block, re.M)
    outputs = "".join(f'output "{name}" {{\n  value = local.{name}\n}}\n' for name in names)
    shutil.copy(MODULE / "variables.tf", tmp_path / "variables.tf")
    (tmp_path / "locals.tf").write_text(block + outputs, encoding="utf-8")
    (tmp_path / "in.tfvars.json").write_text(json.dumps(
        {"project_id": "p", "region": "r", "network_id": "projects/p/global/networks/n", **variables}),
        encoding="utf-8")
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    for command in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false", "-var-file=in.tfvars.json"]):
        done = subprocess.run([TERRAFORM, *command, "-no-color"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise ValueError(done.stderr)
    shown = subprocess.run([TERRAFORM, "output", "-json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=60, check=True)
    return {name: item["value"] for name, item in json.loads(shown.stdout).items()}


@pytest.mark.skipif(TERRAFORM is None, reason="neither terraform nor tofu is installed here")
def test_each_operator_and_the_deployer_get_both_cloud_sql_roles(tmp_path: Path) -> None:
    values = evaluate(tmp_path, operators=["alice@example.com", "bob@example.com"],
                      deployer_service_account="deployer@p.iam.gserviceaccount.com")
    granted = {(item["role"], item["member"]) for item in values["member_roles"].values()}
    assert granted == {(role, member)
                       for role in ("roles/cloudsql.client", "roles/cloudsql.instanceUser")
                       for member in ("user:alice@example.com", "user:bob@example.com",
                                      "serviceAccount:deployer@p.iam.gserviceaccount.com")}
    # Cloud SQL's user name for a service account is its email without ".gserviceaccount.com".
    assert values["deployer_user"] == "deployer@p.iam"
    assert (values["tier"], values["availability_type"]) == ("db-custom-1-3840", "REGIONAL")


@pytest.mark.skipif(TERRAFORM is None, reason="neither terraform nor tofu is installed here")
def test_dev_is_small_and_zonal_and_without_a_deployer_nobody_else_is_granted(tmp_path: Path) -> None:
    values = evaluate(tmp_path, environment="dev", operators=["alice@example.com"])
    assert (values["tier"], values["availability_type"]) == ("db-f1-micro", "ZONAL")
    assert values.get("deployer_user") is None
    assert {item["member"] for item in values["member_roles"].values()} == {"user:alice@example.com"}


@pytest.mark.skipif(TERRAFORM is None, reason="neither terraform nor tofu is installed here")
def test_a_service_account_given_as_an_operator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="operators are people"):
        evaluate(tmp_path, operators=["deployer@p.iam.gserviceaccount.com"])
