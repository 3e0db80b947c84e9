"""checkov policies for what checkov's own do not check here (CI: checkov --external-checks-dir infrastructure/checkov).

CKV_OPS_1  no public invoker (allUsers, allAuthenticatedUsers) on a Cloud Run service, except a declared
           public entry point (PUBLIC_ENTRY_POINTS below, with the reason)
CKV_OPS_2  a Cloud Run v2 service's ingress is not INGRESS_TRAFFIC_ALL (nor left to that default), except a
           declared public entry point
CKV_OPS_3  a Cloud Run v2 service of production (its ENVIRONMENT variable or `environment` label) keeps at
           least 2 instances (the seed: "Minimum instances: 2 (for high availability)")
CKV_OPS_4  no secret in a container's plain environment: a variable named like a secret (*_KEY, *_TOKEN,
           *_SECRET, *PASSWORD*, *CREDENTIALS*) takes value_source.secret_key_ref, never `value`, and no
           value is a URL with a password in it
CKV_OPS_5  deletion protection not turned off: Cloud Run v2 services, Cloud SQL instances (and outside dev
           the API-level settings.deletion_protection_enabled), Memorystore for Redis clusters

checkov evaluates a module once per root that calls it, with that root's terraform.tfvars, so a check sees
each environment's values (which is how CKV_OPS_3 knows production). A value checkov cannot resolve is
UNKNOWN, never a pass by omission. To exempt one resource, say why beside it:
`#checkov:skip=CKV_OPS_n:the reason`.
"""

from __future__ import annotations

import re
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# Services meant to be reached by anyone on the internet: (file, as its path ends; resource type.name) -> why.
# The WebSocket server: browsers open WebSocket connections to it directly, and Cloud Run's IAM cannot
# authenticate a browser (it takes Google-signed identity tokens, not Firebase ones), so the server checks
# each connection's Firebase ID token itself (README, Infrastructure). Putting it behind an external HTTPS
# load balancer (ingress INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER, Cloud Armor) would let these two go.
PUBLIC_ENTRY_POINTS: dict[tuple[str, str], str] = {
    ("modules/websocket-server/main.tf", "google_cloud_run_v2_service_iam_member.public"):
        "browsers connect directly and the server verifies a Firebase ID token on every connection",
    ("modules/websocket-server/main.tf", "google_cloud_run_v2_service.websocket"):
        "browsers connect directly (no load balancer in front yet), so ingress must take all traffic",
}
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
PRODUCTION = {"production", "prod"}
SECRET_NAME = re.compile(r"(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|PWD|CREDENTIALS?|PRIVATE_KEY)(_|$)|"
                         r"PASSWORD|SECRET", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]+:[^/@\s]+@", re.IGNORECASE)


def first(value: Any) -> Any:
    """checkov wraps each attribute's value in a list."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def blocks(conf: dict[str, Any], name: str) -> list[dict[str, Any]]:
    found = conf.get(name) or []
    return [b for b in (found if isinstance(found, list) else [found]) if isinstance(b, dict)]


def unresolved(value: Any) -> bool:
    """A value checkov left as an expression (var.x, module.y.z, ${...})."""
    return isinstance(value, str) and bool(re.match(r"^(\$\{|var\.|local\.|module\.|data\.|each\.)", value))


class OpsCheck(BaseResourceCheck):
    def __init__(self, check_id: str, name: str, resources: list[str]) -> None:
        super().__init__(name=name, id=check_id, categories=[CheckCategories.GENERAL_SECURITY],
                         supported_resources=resources)

    def entity(self) -> tuple[str, str]:
        """(the file checkov scanned, type.name without the index) of the resource being checked."""
        path = str(getattr(self, "entity_path", "") or "")
        parts = path.rsplit(":", 2)
        if len(parts) != 3:
            return path, ""
        return parts[0], parts[1] + "." + parts[2].split("[")[0]

    def declared_public(self) -> bool:
        file, resource = self.entity()
        return any(resource == name and file.replace("\\", "/").endswith("/" + suffix)
                   for suffix, name in PUBLIC_ENTRY_POINTS)


def environment_of(conf: dict[str, Any]) -> str | None:
    """production, staging, dev... from the ENVIRONMENT variable of a container, else an `environment` label."""
    for template in blocks(conf, "template"):
        for container in blocks(template, "containers"):
            for name, value in container_env(container):
                if name == "ENVIRONMENT" and isinstance(value, str) and not unresolved(value):
                    return value.lower()
        labels = first(template.get("labels"))
        if isinstance(labels, dict) and isinstance(labels.get("environment"), str):
            return labels["environment"].lower()
    for key in ("labels", "user_labels"):
        labels = first(conf.get(key))
        if isinstance(labels, dict) and isinstance(labels.get("environment"), str):
            return labels["environment"].lower()
    for settings in blocks(conf, "settings"):
        labels = first(settings.get("user_labels"))
        if isinstance(labels, dict) and isinstance(labels.get("environment"), str):
            return labels["environment"].lower()
    return None


def container_env(container: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, plain value or None) of each environment variable, `dynamic "env"` blocks expanded from a
    for_each map checkov resolved; value is the marker SECRET_REF when it comes from Secret Manager."""
    found: list[tuple[str, Any]] = []
    for env in blocks(container, "env"):
        name = first(env.get("name"))
        if not isinstance(name, str) or name.startswith("env."):
            continue  # the template of a dynamic block, handled below
        found.append((name, SECRET_REF if env.get("value_source") else first(env.get("value"))))
    for dynamic in blocks(container, "dynamic"):
        spec = dynamic.get("env")
        if not isinstance(spec, dict):
            continue
        for_each = first(spec.get("for_each"))
        content = first(spec.get("content")) or {}
        if not isinstance(for_each, dict) or not isinstance(content, dict):
            continue
        for name, value in for_each.items():
            found.append((name, SECRET_REF if content.get("value_source") else value))
    return found


SECRET_REF = object()


class NoPublicInvoker(OpsCheck):
    def __init__(self) -> None:
        super().__init__("CKV_OPS_1", "Cloud Run is not invokable by allUsers/allAuthenticatedUsers unless it is a "
                         "declared public entry point",
                         ["google_cloud_run_v2_service_iam_member", "google_cloud_run_v2_service_iam_binding",
                          "google_cloud_run_v2_service_iam_policy", "google_cloud_run_service_iam_member",
                          "google_cloud_run_service_iam_binding", "google_cloud_run_service_iam_policy"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        members: list[Any] = []
        for key in ("member", "members"):
            value = conf.get(key)
            members.extend(value[0] if isinstance(value, list) and value and isinstance(value[0], list)
                           else value or [])
        policy = first(conf.get("policy_data"))
        public = any(m in PUBLIC_MEMBERS for m in members) or (
            isinstance(policy, str) and any(m in policy for m in PUBLIC_MEMBERS))
        if not public:
            return CheckResult.PASSED
        return CheckResult.PASSED if self.declared_public() else CheckResult.FAILED


class IngressNotAll(OpsCheck):
    def __init__(self) -> None:
        super().__init__("CKV_OPS_2", "Cloud Run v2 ingress is internal or through a load balancer unless the "
                         "service is a declared public entry point", ["google_cloud_run_v2_service"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        ingress = first(conf.get("ingress")) or "INGRESS_TRAFFIC_ALL"  # the API's default
        if unresolved(ingress):
            return CheckResult.UNKNOWN
        if ingress in ("INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"):
            return CheckResult.PASSED
        return CheckResult.PASSED if self.declared_public() else CheckResult.FAILED


class ProductionMinInstances(OpsCheck):
    MINIMUM = 2

    def __init__(self) -> None:
        super().__init__("CKV_OPS_3", "Cloud Run v2 in production keeps at least 2 instances warm",
                         ["google_cloud_run_v2_service"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        environment = environment_of(conf)
        if environment is None:
            return CheckResult.UNKNOWN
        if environment not in PRODUCTION:
            return CheckResult.PASSED
        counts = [first(s.get("min_instance_count")) for t in blocks(conf, "template") for s in blocks(t, "scaling")]
        counts += [first(s.get("min_instance_count")) for s in blocks(conf, "scaling")]
        counts = [c for c in counts if c is not None]
        if not counts:
            return CheckResult.FAILED  # unset is 0
        if any(unresolved(c) for c in counts):
            return CheckResult.UNKNOWN
        try:
            return CheckResult.PASSED if max(float(c) for c in counts) >= self.MINIMUM else CheckResult.FAILED
        except (TypeError, ValueError):
            return CheckResult.UNKNOWN


class NoSecretInPlainEnv(OpsCheck):
    def __init__(self) -> None:
        super().__init__("CKV_OPS_4", "No secret in a Cloud Run container's plain environment (use "
                         "value_source.secret_key_ref)", ["google_cloud_run_v2_service", "google_cloud_run_v2_job"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        templates = blocks(conf, "template")
        templates += [inner for t in templates for inner in blocks(t, "template")]  # a job's task template
        for template in templates:
            for container in blocks(template, "containers"):
                for name, value in container_env(container):
                    if value is SECRET_REF:
                        continue
                    if SECRET_NAME.search(name) and value is not None:
                        return CheckResult.FAILED
                    if isinstance(value, str) and URL_WITH_PASSWORD.match(value):
                        return CheckResult.FAILED
        return CheckResult.PASSED


class DeletionProtection(OpsCheck):
    def __init__(self) -> None:
        super().__init__("CKV_OPS_5", "Deletion protection is not turned off (Cloud Run v2, Cloud SQL, Memorystore "
                         "for Redis cluster)",
                         ["google_cloud_run_v2_service", "google_sql_database_instance", "google_redis_cluster"])

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        kind = self.entity()[1].split(".")[0]
        if kind == "google_redis_cluster":
            return self._not_false(first(conf.get("deletion_protection_enabled")))
        # google provider 6: deletion_protection defaults to true on both; false is the one thing refused.
        verdict = self._not_false(first(conf.get("deletion_protection")))
        if verdict != CheckResult.PASSED or kind != "google_sql_database_instance":
            return verdict
        if environment_of(conf) in ("dev", "development"):
            return CheckResult.PASSED
        # Terraform's flag stops only `terraform destroy`; the API's stops the console, gcloud and other tools.
        enabled = [first(s.get("deletion_protection_enabled")) for s in blocks(conf, "settings")]
        if any(unresolved(e) for e in enabled):
            return CheckResult.UNKNOWN
        return CheckResult.PASSED if True in enabled else CheckResult.FAILED

    @staticmethod
    def _not_false(value: Any) -> CheckResult:
        if unresolved(value):
            return CheckResult.UNKNOWN
        return CheckResult.FAILED if value is False or value == "false" else CheckResult.PASSED


checks = [NoPublicInvoker(), IngressNotAll(), ProductionMinInstances(), NoSecretInPlainEnv(), DeletionProtection()]
