"""infrastructure/ as an operator relies on it: every file parses, each environment has remote state and both
modules, production keeps 2 to 20 instances at a 70 % CPU target, the Cloud Run YAML agrees, and no file
holds a literal secret."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2 import SerializationOptions

from core.config import ENVIRONMENTS, default_config, generate_terraform_vars
from sandbox.terraform_hcl import desired_resources, module_inputs

INFRA = Path(__file__).resolve().parents[1] / "infrastructure"
OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
TF_FILES = sorted(INFRA.rglob("*.tf"))


def parse(path: Path) -> dict[str, Any]:
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=OPTIONS)


def merged(directory: Path) -> dict[str, list[Any]]:
    """Every top-level block of a directory's .tf files, by block type."""
    blocks: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for kind, items in parse(path).items():
            blocks.setdefault(kind, []).extend(items if isinstance(items, list) else [items])
    return blocks


def tfvars(environment: str) -> dict[str, Any]:
    return parse(INFRA / "environments" / environment / "terraform.tfvars")


def service_resource() -> dict[str, Any]:
    for block in merged(INFRA / "modules" / "websocket-server")["resource"]:
        if "google_cloud_run_v2_service" in block:
            return block["google_cloud_run_v2_service"]["websocket"]
    raise AssertionError("the websocket-server module has no google_cloud_run_v2_service")


def test_every_terraform_file_parses() -> None:
    assert len(TF_FILES) >= 17
    for path in TF_FILES:
        assert isinstance(parse(path), dict), path


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_keeps_remote_state_and_uses_every_module(environment: str) -> None:
    root = INFRA / "environments" / environment
    blocks = merged(root)
    backends = [b for t in blocks["terraform"] for b in t.get("backend", [])]
    assert [next(iter(b)) for b in backends] == ["gcs"]
    settings = parse(root / "backend.tfbackend")
    assert settings["bucket"].endswith("-tfstate") and environment in settings["prefix"]
    modules = {name: spec["source"] for block in blocks["module"] for name, spec in block.items()}
    assert modules == {"websocket_server": "../../modules/websocket-server", "frontend": "../../modules/frontend",
                       "apis": "../../modules/project-apis", "artifact_registry": "../../modules/artifact-registry",
                       "network": "../../modules/network", "redis": "../../modules/redis",
                       "secrets": "../../modules/secrets", "monitoring": "../../modules/monitoring"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_scaling_per_environment(environment: str) -> None:
    """The seed's 2 to 20 instances at 70 % are production's; dev scales to zero, staging sits between."""
    values = tfvars(environment)
    assert values["cpu_utilization_target"] == pytest.approx(0.7)
    expected = {"dev": (0, 3), "staging": (1, 10), "production": (2, 20)}[environment]
    assert (values["min_instances"], values["max_instances"]) == expected


def test_the_service_scales_on_the_variables_and_exports_the_cpu_target_annotation() -> None:
    (template,) = service_resource()["template"]
    assert template["scaling"] == [{"min_instance_count": "${var.min_instances}",
                                    "max_instance_count": "${var.max_instances}"}]
    limits = template["containers"][0]["resources"][0]["limits"]
    assert limits == {"cpu": "${var.cpu_limit}", "memory": "${var.memory_limit}"}
    # Cloud Run's v2 API rejects run.googleapis.com annotations: none is set on the v2 template.
    assert "annotations" not in template
    outputs = {name: spec for block in merged(INFRA / "modules" / "websocket-server")["output"]
               for name, spec in block.items()}
    scaling = outputs["scaling"]["value"]
    assert scaling["cpu_target_percent"] == "${floor(var.cpu_utilization_target * 100 + 0.5)}"
    assert scaling["cpu_target_annotation"] == {
        "run.googleapis.com/scaling-cpu-target": "${tostring(var.cpu_utilization_target)}"}


def test_scaling_variables_are_validated_with_the_seed_defaults() -> None:
    variables = {name: spec for block in merged(INFRA / "modules" / "websocket-server")["variable"]
                 for name, spec in block.items()}
    assert variables["min_instances"]["default"] == 2
    assert variables["max_instances"]["default"] == 20
    assert variables["cpu_utilization_target"]["default"] == pytest.approx(0.7)
    for name in ("min_instances", "max_instances", "cpu_utilization_target"):
        assert "validation" in variables[name], name


def test_service_env_comes_from_secret_manager_references() -> None:
    (container,) = service_resource()["template"][0]["containers"]
    secret_env = next(d["env"] for d in container["dynamic"] if d["env"]["for_each"] == "${var.secret_env}")
    (ref,) = secret_env["content"][0]["value_source"][0]["secret_key_ref"]
    assert ref == {"secret": "${env.value.secret}", "version": "${env.value.version}"}
    plain_env = next(d["env"] for d in container["dynamic"] if d["env"]["for_each"] == "${var.plain_env}")
    assert "value_source" not in plain_env["content"][0]


def test_production_as_planned_from_the_configuration_keeps_2_to_20_instances_at_70_percent() -> None:
    """The production root rendered with the variables the console generates (the stand-in's reading)."""
    variables = {**parse(INFRA / "environments" / "production" / "terraform.tfvars"),
                 **generate_terraform_vars(default_config(), "production"), "environment": "production"}
    resources = {r.address: r for r in desired_resources(INFRA / "environments" / "production", variables)}
    service = resources["module.websocket_server.google_cloud_run_v2_service.websocket"].values
    (template,) = service["template"]
    (scaling,) = template["scaling"]
    assert scaling["min_instance_count"] >= 2
    assert scaling["max_instance_count"] == 20
    fraction = module_inputs(INFRA / "environments" / "production", variables)["websocket_server"][
        "cpu_utilization_target"]
    assert math.floor(fraction * 100 + 0.5) == 70  # as the module turns it into the annotation's percent


def test_the_frontend_gets_the_firebase_key_by_reference_as_a_sensitive_variable() -> None:
    frontend = merged(INFRA / "modules" / "frontend")
    variables = {name: spec for block in frontend["variable"] for name, spec in block.items()}
    assert variables["firebase_api_key"]["sensitive"] is True
    resources = {name: spec for block in frontend["resource"]
                 for name, spec in block.get("vercel_project_environment_variable", {}).items()}
    assert resources["firebase_api_key"]["sensitive"] is True
    assert resources["websocket_url"]["value"] == "${var.websocket_url}"
    production = merged(INFRA / "environments" / "production")
    call = next(block["frontend"] for block in production["module"] if "frontend" in block)
    assert call["firebase_api_key"] == "${data.google_secret_manager_secret_version.firebase_api_key.secret_data}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_variable_the_console_generates_is_declared(environment: str) -> None:
    declared = {name for block in merged(INFRA / "environments" / environment)["variable"] for name in block}
    generated = {*generate_terraform_vars(default_config(), environment), "environment"}
    assert generated <= declared
    assert set(tfvars(environment)) <= declared


def test_the_cloud_run_yaml_has_the_same_scaling() -> None:
    service = yaml.safe_load((INFRA / "cloud-run" / "websocket-service.yaml").read_text(encoding="utf-8"))
    annotations = service["spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/minScale"] == "2"
    assert annotations["autoscaling.knative.dev/maxScale"] == "20"
    # A fraction, as Cloud Run reads the annotation and gcloud's --scaling-cpu-target takes it.
    assert annotations["run.googleapis.com/scaling-cpu-target"] == "0.7"
    limits = service["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    production = tfvars("production")
    assert (limits["cpu"], limits["memory"]) == (production["cpu_limit"], production["memory_limit"])
    env = service["spec"]["template"]["spec"]["containers"][0]["env"]
    assert all("value" not in item or item["name"] in ("FIREBASE_PROJECT_ID", "ENVIRONMENT") for item in env)


# Attribute names that hold credentials, and value shapes of well-known keys and tokens.
SECRET_NAMES = re.compile(r"(password|passwd|secret|token|api_key|apikey|private_key|credentials|webhook)", re.I)
SECRET_VALUES = re.compile(
    r"AIza[0-9A-Za-z_-]{35}|ghp_[0-9A-Za-z]{36}|xox[abp]-[0-9A-Za-z-]{10,}|AKIA[0-9A-Z]{16}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----|hooks\.slack\.com/services/|rediss?://[^\s\"]*:[^\s\"]*@"
)
REFERENCE = re.compile(r"^(\$\{.*\}|sm://.*|env:[A-Z_][A-Z0-9_]*)$")
SECRET_ID_KEYS = {"secret", "secret_id"}  # these name a Secret Manager secret; its id is not its value
SECRET_ID = re.compile(r"^[a-z][a-z0-9_-]*$")


def literal_secret(key: str, value: Any) -> bool:
    """A secret-named attribute assigned a string that is neither a reference, an expression nor a secret id."""
    if not SECRET_NAMES.search(key) or not isinstance(value, str) or key in ("description", "error_message"):
        return False
    return not (REFERENCE.match(value) or (key in SECRET_ID_KEYS and SECRET_ID.match(value)))


def literal_assignments(value: Any, path: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(literal_assignments(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for item in value:
            found.extend(literal_assignments(item, path))
    else:
        found.append((path, value))
    return found


def test_no_literal_secret_anywhere() -> None:
    files = [*TF_FILES, *INFRA.rglob("*.tfvars"), *INFRA.rglob("*.tfbackend"), *INFRA.rglob("*.yaml")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not SECRET_VALUES.search(text), f"{path} holds what looks like a key or token"
        if path.suffix == ".yaml":
            continue
        for where, value in literal_assignments(parse(path)):
            assert not literal_secret(where.rsplit(".", 1)[-1], value), f"{path}: {where} is assigned a literal"


def test_the_secret_scan_catches_a_planted_key(tmp_path: Path) -> None:
    planted = tmp_path / "main.tf"
    planted.write_text('resource "x" "y" {\n  key = "AIza' + "B" * 35 + '"\n  db_password = "hunter2"\n'
                       '  api_token = var.token\n}\n', encoding="utf-8")
    assert SECRET_VALUES.search(planted.read_text(encoding="utf-8"))
    flagged = [w for w, v in literal_assignments(parse(planted)) if literal_secret(w.rsplit(".", 1)[-1], v)]
    assert flagged == [".resource.x.y.db_password"]


TERRAFORM = shutil.which("terraform") or shutil.which("tofu")


@pytest.mark.skipif(TERRAFORM is None, reason="neither terraform nor tofu is installed here")
def test_terraform_fmt_is_clean() -> None:
    done = subprocess.run([TERRAFORM, "fmt", "-check", "-recursive", "-no-color"], cwd=INFRA, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, f"files need terraform fmt: {done.stdout}"


@pytest.mark.skipif(TERRAFORM is None, reason="neither terraform nor tofu is installed here")
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_terraform_validate(environment: str, tmp_path: Path) -> None:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    copy = shutil.copytree(INFRA, tmp_path / "infrastructure")  # init writes a lock file beside the root
    root = copy / "environments" / environment
    init = subprocess.run([TERRAFORM, "init", "-backend=false", "-input=false", "-no-color"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)
    if init.returncode != 0 and re.search(r"registry\.(terraform|opentofu)\.org|provider", init.stderr):
        pytest.skip("providers cannot be downloaded here (no route to the Terraform registry); "
                    "validate runs where they can")
    assert init.returncode == 0, init.stderr
    done = subprocess.run([TERRAFORM, "validate", "-no-color"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr or done.stdout
