"""One source of truth for the Cloud Run service: the committed YAML is what generate.py renders from the
Terraform's values, and agrees with the Terraform read independently (scaling, CPU target, limits, env names,
probes, egress); a replace-ready rendering pins traffic to the revisions serving now."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.config import ENVIRONMENTS
from tests.test_infra_terraform_files import INFRA, merged, parse, service_resource

GENERATE = INFRA / "cloud-run" / "generate.py"
_spec = importlib.util.spec_from_file_location("cloud_run_generate", GENERATE)
assert _spec and _spec.loader
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)


def committed(environment: str) -> dict[str, Any]:
    return yaml.safe_load(generate.output_path(environment).read_text(encoding="utf-8"))


def terraform_env_names(environment: str) -> set[str]:
    """Env names the Terraform gives the service: the root's plain_env and local.secret_env's rule."""
    root = merged(INFRA / "environments" / environment)
    (call,) = [b["websocket_server"] for b in root["module"] if "websocket_server" in b]
    values = parse(INFRA / "environments" / environment / "terraform.tfvars")
    secrets = {name.upper() for name, ref in values["secret_refs"].items()
               if ref.get("secret") and name != "firebase_api_key"}
    return set(call["plain_env"]) | secrets


def test_the_committed_files_are_what_the_generator_renders() -> None:
    done = subprocess.run([sys.executable, str(GENERATE), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_yaml_and_terraform_agree(environment: str) -> None:
    values = parse(INFRA / "environments" / environment / "terraform.tfvars")
    service = committed(environment)
    template = service["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert int(annotations["autoscaling.knative.dev/minScale"]) == values["min_instances"]
    assert int(annotations["autoscaling.knative.dev/maxScale"]) == values["max_instances"]
    target = float(annotations["run.googleapis.com/scaling-cpu-target"])
    assert target == pytest.approx(values["cpu_utilization_target"])
    assert 0.1 <= float(annotations["run.googleapis.com/scaling-cpu-target"]) <= 0.95  # a fraction, not "70"
    assert annotations["run.googleapis.com/vpc-access-egress"] == "private-ranges-only"
    assert service["metadata"]["namespace"] == values["project_id"]
    assert not re.search(r"(?<![A-Z_])PROJECT_ID", generate.output_path(environment).read_text(encoding="utf-8"))

    (tf_template,) = service_resource()["template"]
    (tf_container,) = tf_template["containers"]
    (container,) = template["spec"]["containers"]
    assert container["resources"]["limits"] == {"cpu": values["cpu_limit"], "memory": values["memory_limit"]}
    assert template["spec"]["containerConcurrency"] == tf_template["max_instance_request_concurrency"]
    assert f'{template["spec"]["timeoutSeconds"]}s' == tf_template["timeout"]
    assert container["ports"][0]["containerPort"] == tf_container["ports"][0]["container_port"]
    assert container["startupProbe"]["httpGet"]["path"] == tf_container["startup_probe"][0]["http_get"][0]["path"]
    assert container["livenessProbe"]["httpGet"]["path"] == tf_container["liveness_probe"][0]["http_get"][0]["path"]
    (vpc,) = tf_template["vpc_access"]
    assert vpc["egress"] == "PRIVATE_RANGES_ONLY"

    names = {item["name"] for item in container["env"]}
    # REDIS_HOST and REDIS_PORT exist only after apply; the replace-ready rendering adds them.
    assert names | set(generate.AFTER_APPLY) == terraform_env_names(environment)
    assert {"ENVIRONMENT", "FIREBASE_PROJECT_ID", "REDIS_CONNECTION"} <= names
    assert all("valueFrom" in item for item in container["env"] if item["name"] == "REDIS_CONNECTION")


LIVE = {
    "spec": {"template": {"spec": {"containers": [
        {"image": "us-central1-docker.pkg.dev/p/agent-network/ws@sha256:ab"}]}}},
    "status": {"traffic": [{"revisionName": "websocket-server-00007-abc", "percent": 90, "tag": "stable"},
                           {"revisionName": "websocket-server-00008-def", "percent": 10, "tag": "canary"},
                           {"revisionName": "websocket-server-00006-old", "percent": 0}]},
}
OUTPUTS = {"redis": {"value": {"host": "10.1.2.3", "port": 6378}}}


def test_a_replace_ready_rendering_pins_traffic_where_it_is_and_completes_the_env() -> None:
    document = generate.render("production", LIVE, OUTPUTS)
    assert document["spec"]["traffic"] == [
        {"revisionName": "websocket-server-00007-abc", "percent": 90, "tag": "stable"},
        {"revisionName": "websocket-server-00008-def", "percent": 10, "tag": "canary"}]
    assert not any(t.get("latestRevision") for t in document["spec"]["traffic"])
    template = document["spec"]["template"]
    # The new revision gets its own name and no traffic: the console moves traffic, not a replace.
    assert template["metadata"]["name"].startswith("websocket-server-cfg-")
    assert template["metadata"]["name"] not in {t["revisionName"] for t in document["spec"]["traffic"]}
    (container,) = template["spec"]["containers"]
    assert container["image"] == LIVE["spec"]["template"]["spec"]["containers"][0]["image"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert (env["REDIS_HOST"], env["REDIS_PORT"]) == ("10.1.2.3", "6378")
    assert set(env) == terraform_env_names("production")


def test_no_replace_ready_file_without_the_live_service(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(GENERATE), "production"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2 and "--live" in done.stderr
    with pytest.raises(SystemExit, match="nothing to pin"):
        generate.render("production", {"spec": LIVE["spec"], "status": {"traffic": []}}, OUTPUTS)
