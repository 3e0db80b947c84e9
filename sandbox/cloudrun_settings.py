"""The settings of a Cloud Run service the sandbox keeps as sent: identity, network path, limits, ingress.

Cloud Run keeps every field of a Service it is given and answers it back; the sandbox models only some of
them (image, scaling, env, traffic). The others are kept here as proto3 JSON, per part of the Service:

- `template`: RevisionTemplate fields (serviceAccount, timeout, maxInstanceRequestConcurrency, vpcAccess,
  sessionAffinity, executionEnvironment, encryptionKey, volumes): changing any makes a new revision;
- `container`: the first container's fields besides image and env (ports, resources, probes, ...): the
  same;
- `service`: Service fields outside the template (ingress, invokerIamDisabled, customAudiences, ...):
  changing them makes no revision.

What a client leaves out is Cloud Run's default (a PATCH without an update mask replaces the service).
Enums are kept by name, whichever way the client sent them (the Python REST transport sends numbers).
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.cloudrun_model import ApiError

TEMPLATE_FIELDS = ("serviceAccount", "timeout", "maxInstanceRequestConcurrency", "vpcAccess", "sessionAffinity",
                   "executionEnvironment", "encryptionKey", "volumes")
CONTAINER_FIELDS = ("name", "command", "args", "ports", "resources", "volumeMounts", "workingDir",
                    "livenessProbe", "startupProbe", "dependsOn")
SERVICE_FIELDS = ("ingress", "invokerIamDisabled", "customAudiences", "defaultUriDisabled", "description")

# What Cloud Run answers when a field was never set (the sandbox's runtime identity stands in for the
# project's default compute service account).
DEFAULT_TEMPLATE: dict[str, Any] = {"timeout": "300s", "maxInstanceRequestConcurrency": 80}
DEFAULT_CONTAINER: dict[str, Any] = {
    "ports": [{"name": "http1", "containerPort": 8080}],
    "resources": {"limits": {"cpu": "1000m", "memory": "512Mi"}, "cpuIdle": True, "startupCpuBoost": True},
}
DEFAULT_SERVICE: dict[str, Any] = {"ingress": "INGRESS_TRAFFIC_ALL"}

ENUMS: dict[str, dict[str, int]] = {
    "ingress": {"INGRESS_TRAFFIC_UNSPECIFIED": 0, "INGRESS_TRAFFIC_ALL": 1, "INGRESS_TRAFFIC_INTERNAL_ONLY": 2,
                "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER": 3, "INGRESS_TRAFFIC_NONE": 4},
    "egress": {"VPC_EGRESS_UNSPECIFIED": 0, "ALL_TRAFFIC": 1, "PRIVATE_RANGES_ONLY": 2},
    "executionEnvironment": {"EXECUTION_ENVIRONMENT_UNSPECIFIED": 0, "EXECUTION_ENVIRONMENT_GEN1": 1,
                             "EXECUTION_ENVIRONMENT_GEN2": 2},
}


def _enum_name(table: str, value: Any, where: str) -> str:
    names = ENUMS[table]
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in names.items():
            if number == value:
                return name
    elif isinstance(value, str) and value in names:
        return value
    raise ApiError("INVALID_ARGUMENT", f"{where} must be one of {', '.join(names)}, got {value!r}.")


def _pick(source: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(source, dict):
        return {}
    return {k: copy.deepcopy(source[k]) for k in fields if source.get(k) not in (None, "", [], {})}


def parse_settings(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The kept settings of a Service body, enums by name; refuses an enum Cloud Run does not know."""
    template = body.get("template") if isinstance(body.get("template"), dict) else {}
    containers = template.get("containers") or []
    container = containers[0] if containers and isinstance(containers[0], dict) else {}
    kept = {"template": _pick(template, TEMPLATE_FIELDS), "container": _pick(container, CONTAINER_FIELDS),
            "service": _pick(body, SERVICE_FIELDS)}
    if "ingress" in kept["service"]:
        kept["service"]["ingress"] = _enum_name("ingress", kept["service"]["ingress"], "service.ingress")
    if "executionEnvironment" in kept["template"]:
        kept["template"]["executionEnvironment"] = _enum_name(
            "executionEnvironment", kept["template"]["executionEnvironment"], "service.template.executionEnvironment")
    vpc = kept["template"].get("vpcAccess")
    if isinstance(vpc, dict) and "egress" in vpc:
        vpc["egress"] = _enum_name("egress", vpc["egress"], "service.template.vpcAccess.egress")
    return kept


def effective(settings: dict[str, Any], project: str) -> dict[str, dict[str, Any]]:
    """The settings as Cloud Run answers them: each part's defaults under what was sent."""
    template = {"serviceAccount": f"sandbox-runtime@{project}.iam.gserviceaccount.com", **DEFAULT_TEMPLATE}
    return {"template": template | settings.get("template", {}),
            "container": DEFAULT_CONTAINER | settings.get("container", {}),
            "service": DEFAULT_SERVICE | settings.get("service", {})}


def template_changed(before: dict[str, Any], after: dict[str, Any] | None, project: str) -> bool:
    """Whether the revision template's kept settings differ (None: not sent, the defaults)."""
    old, new = effective(before, project), effective(after or {}, project)
    return old["template"] != new["template"] or old["container"] != new["container"]


def rendered(value: Any, ints: bool) -> Any:
    """A kept part as proto3 JSON for a client: enums as numbers when it asked for them."""
    out = copy.deepcopy(value)
    if not ints or not isinstance(out, dict):
        return out
    for key, table in (("ingress", "ingress"), ("executionEnvironment", "executionEnvironment")):
        if isinstance(out.get(key), str):
            out[key] = ENUMS[table][out[key]]
    vpc = out.get("vpcAccess")
    if isinstance(vpc, dict) and isinstance(vpc.get("egress"), str):
        vpc["egress"] = ENUMS["egress"][vpc["egress"]]
    return out
