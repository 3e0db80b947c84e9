"""The WebSocket server's Cloud Run (Knative, API v1) YAML, generated from the same values as the Terraform.

Why a YAML at all: the CPU utilisation target has no field in Cloud Run's v2 API (which Terraform's
google_cloud_run_v2_service uses); Cloud Run takes it as the revision annotation
run.googleapis.com/scaling-cpu-target, a fraction like gcloud's `--scaling-cpu-target=0.6` (10 % to 95 %;
https://cloud.google.com/run/docs/configuring/scaling-controls). So the values come from one place:
- per environment: environments/ENV/terraform.tfvars (scaling, CPU target, limits, project, secrets),
- the service's fixed settings: modules/websocket-server/main.tf (port, concurrency, timeout, probes, CPU),
- the environment variables' names: the root's `plain_env` and the secrets' rule (`local.secret_env`).

    python infrastructure/cloud-run/generate.py --write            # the committed websocket-service[.ENV].yaml
    python infrastructure/cloud-run/generate.py --check            # exit 1 when a committed file is stale
    gcloud run services describe websocket-server --region us-central1 --format json > live.json
    terraform -chdir=infrastructure/environments/production output -json > outputs.json
    python infrastructure/cloud-run/generate.py production --live live.json --terraform-output outputs.json \
        > service.yaml && gcloud run services replace service.yaml

The committed files hold what Terraform configures. What only the running service knows is added for a
replace: the image serving now, the traffic split pinned to the revisions that hold it now (so a replace
creates a revision without traffic and never moves traffic mid-canary; the console moves it), and the
Redis address from Terraform's outputs. Without --live and --terraform-output no replace-ready file is made.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import hcl2
import yaml
from hcl2 import SerializationOptions

HERE = Path(__file__).resolve().parent
INFRA = HERE.parent
ENVIRONMENTS = ("dev", "staging", "production")
OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
AFTER_APPLY = ("REDIS_HOST", "REDIS_PORT")  # known only once Terraform created Memorystore


def _parse(path: Path) -> dict[str, Any]:
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=OPTIONS)


def output_path(env: str) -> Path:
    """production keeps the seed's name, websocket-service.yaml; the others carry theirs."""
    return HERE / ("websocket-service.yaml" if env == "production" else f"websocket-service.{env}.yaml")


def module_service() -> dict[str, Any]:
    """The google_cloud_run_v2_service block of the websocket-server module."""
    for block in _parse(INFRA / "modules" / "websocket-server" / "main.tf")["resource"]:
        if "google_cloud_run_v2_service" in block:
            return block["google_cloud_run_v2_service"]["websocket"]
    raise SystemExit("modules/websocket-server has no google_cloud_run_v2_service")


def network_names(env: str) -> dict[str, str]:
    """The VPC and subnet of Direct VPC egress, as the root names the network module's."""
    for block in _parse(INFRA / "environments" / env / "main.tf")["module"]:
        if "network" in block:
            name = block["network"]["name"]
            return {"network": name, "subnetwork": f"{name}-run"}  # modules/network names its subnet NAME-run
    raise SystemExit(f"environments/{env} has no network module")


def env_names(env: str, tfvars: dict[str, Any]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Plain variable names as the root passes them, and secret variables as local.secret_env builds them."""
    plain: list[str] = []
    for block in _parse(INFRA / "environments" / env / "main.tf")["module"]:
        if "websocket_server" in block:
            plain = list(block["websocket_server"]["plain_env"])
    secrets = {name.upper(): {"secret": ref["secret"], "version": ref.get("version", "latest")}
               for name, ref in tfvars["secret_refs"].items()
               if ref.get("secret") and name != "firebase_api_key"}
    return plain, secrets


def render(env: str, live: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    tfvars = _parse(INFRA / "environments" / env / "terraform.tfvars")
    (template,) = module_service()["template"]
    (container,) = template["containers"]
    (resources,) = container["resources"]
    project, service = tfvars["project_id"], tfvars["service_name"]
    plain, secrets = env_names(env, tfvars)
    plain_values = {"FIREBASE_PROJECT_ID": tfvars["firebase_project_id"], "ENVIRONMENT": tfvars["environment"]}
    if outputs is not None:
        redis = outputs["redis"]["value"]
        plain_values.update(REDIS_HOST=str(redis["host"]), REDIS_PORT=str(redis["port"]))
    unknown = set(plain) - set(plain_values) - set(AFTER_APPLY)
    if unknown:
        raise SystemExit(f"the generator does not know the value of {sorted(unknown)}: add it here")
    env_list: list[dict[str, Any]] = [{"name": n, "value": plain_values[n]} for n in plain if n in plain_values]
    env_list += [{"name": n, "valueFrom": {"secretKeyRef": {"name": ref["secret"], "key": ref["version"]}}}
                 for n, ref in sorted(secrets.items())]
    probe = {"httpGet": {"path": container["startup_probe"][0]["http_get"][0]["path"]}}
    liveness = {"httpGet": {"path": container["liveness_probe"][0]["http_get"][0]["path"]}}
    annotations = {
        "autoscaling.knative.dev/minScale": str(tfvars["min_instances"]),
        "autoscaling.knative.dev/maxScale": str(tfvars["max_instances"]),
        # A fraction, as gcloud's --scaling-cpu-target (0.7 = 70 %), not a percent.
        "run.googleapis.com/scaling-cpu-target": str(tfvars["cpu_utilization_target"]),
        "run.googleapis.com/cpu-throttling": "true" if resources["cpu_idle"] else "false",
        "run.googleapis.com/startup-cpu-boost": str(resources["startup_cpu_boost"]).lower(),
        "run.googleapis.com/sessionAffinity": str(template["session_affinity"]).lower(),
        # Direct VPC egress to Memorystore, as the module's vpc_access block.
        "run.googleapis.com/network-interfaces": json.dumps(
            [network_names(env)], separators=(",", ":")),
        "run.googleapis.com/vpc-access-egress": "private-ranges-only",
    }
    spec: dict[str, Any] = {
        "serviceAccountName": f"{service}-run@{project}.iam.gserviceaccount.com",
        "containerConcurrency": template["max_instance_request_concurrency"],
        "timeoutSeconds": int(str(template["timeout"]).rstrip("s")),
        "containers": [{
            "image": tfvars["image"],
            "ports": [{"name": "http1", "containerPort": container["ports"][0]["container_port"]}],
            "resources": {"limits": {"cpu": str(tfvars["cpu_limit"]), "memory": tfvars["memory_limit"]}},
            "env": env_list,
            "startupProbe": probe,
            "livenessProbe": liveness,
        }],
    }
    document: dict[str, Any] = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": service, "namespace": project,
                     "labels": {"cloud.googleapis.com/location": tfvars["region"]},
                     "annotations": {"run.googleapis.com/ingress": "all"}},
        "spec": {"template": {"metadata": {"annotations": annotations}, "spec": spec}},
    }
    if live is not None:
        _pin_to_live(document, live)
    return document


def _pin_to_live(document: dict[str, Any], live: dict[str, Any]) -> None:
    """The serving image, a new revision name, and traffic pinned to the revisions that serve now."""
    traffic = [t for t in live.get("status", {}).get("traffic", []) if t.get("percent")]
    if not traffic or any(not t.get("revisionName") for t in traffic):
        raise SystemExit("the live service shows no traffic by revision name: nothing to pin")
    template = document["spec"]["template"]
    serving = live["spec"]["template"]["spec"]["containers"][0]["image"]
    template["spec"]["containers"][0]["image"] = serving
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:8]
    template["metadata"]["name"] = f"{document['metadata']['name']}-cfg-{digest}"
    document["spec"]["traffic"] = [
        {"revisionName": t["revisionName"], "percent": t["percent"], **({"tag": t["tag"]} if t.get("tag") else {})}
        for t in traffic]


HEADER = """\
# GENERATED by infrastructure/cloud-run/generate.py from environments/{env}/terraform.tfvars and
# modules/websocket-server: edit those, then run `python infrastructure/cloud-run/generate.py --write`.
# What Terraform configures for {env}. Not for `gcloud run services replace` as is: render the replace-ready
# file with --live (the image serving now, traffic pinned to the revisions serving now) and
# --terraform-output (REDIS_HOST, REDIS_PORT), see generate.py. Secrets are Secret Manager references.
"""


def text(env: str, document: dict[str, Any]) -> str:
    return HEADER.format(env=env) + yaml.safe_dump(document, sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("environment", nargs="?", choices=ENVIRONMENTS)
    parser.add_argument("--write", action="store_true", help="write the committed websocket-service[.ENV].yaml files")
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed file differs")
    parser.add_argument("--live", type=Path, help="gcloud run services describe --format json of the service")
    parser.add_argument("--terraform-output", type=Path, help="terraform output -json of the environment")
    args = parser.parse_args(argv)
    if args.write or args.check:
        stale = [env for env in ENVIRONMENTS if not output_path(env).exists()
                 or output_path(env).read_text(encoding="utf-8") != text(env, render(env))]
        if args.write:
            for env in ENVIRONMENTS:
                output_path(env).write_text(text(env, render(env)), encoding="utf-8")
            return 0
        for env in stale:
            print(f"{output_path(env).name} is stale: run generate.py --write", file=sys.stderr)
        return 1 if stale else 0
    if not (args.environment and args.live and args.terraform_output):
        parser.error("a replace-ready file needs ENVIRONMENT, --live and --terraform-output")
    live = json.loads(args.live.read_text(encoding="utf-8"))
    outputs = json.loads(args.terraform_output.read_text(encoding="utf-8"))
    sys.stdout.write(yaml.safe_dump(render(args.environment, live, outputs), sort_keys=False, width=120))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
