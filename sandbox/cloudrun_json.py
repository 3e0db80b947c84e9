"""Cloud Run Admin API v2 wire format: the sandbox's records as proto3 JSON, and client bodies parsed back.

Shapes follow google.cloud.run.v2 (camelCase, int64 as strings, RFC 3339 times, enums as names or, when
the client asks with `$alt=json;enum-encoding=int` as the Python REST transport does, as numbers).
A test parses every rendered shape strictly against the official protos, so a typo here fails CI.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.cloudrun_model import ApiError, Operation, Revision, Service, ServiceUpdate, Target
from sandbox.cloudrun_settings import effective, parse_settings, rendered

SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"
CREATOR = "sandbox@opsconsole.local"

_ENUMS: dict[str, dict[str, int]] = {
    "traffic": {"TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED": 0, "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST": 1,
                "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION": 2},
    "state": {"STATE_UNSPECIFIED": 0, "CONDITION_PENDING": 1, "CONDITION_RECONCILING": 2,
              "CONDITION_FAILED": 3, "CONDITION_SUCCEEDED": 4},
    "severity": {"SEVERITY_UNSPECIFIED": 0, "ERROR": 1, "WARNING": 2, "INFO": 3},
    "revision_reason": {"PENDING": 1, "HEALTH_CHECK_CONTAINER_ERROR": 6},
    "common_reason": {"CONTAINER_MISSING": 6, "CONTAINER_PERMISSION_DENIED": 7},
    "launch_stage": {"GA": 4},
    "ingress": {"INGRESS_TRAFFIC_ALL": 1},
    "execution_environment": {"EXECUTION_ENVIRONMENT_GEN2": 2},
}
_TRAFFIC_NAMES = {v: k for k, v in _ENUMS["traffic"].items()}


def _min_count(count: int) -> dict[str, int]:
    """A scaling message's minInstanceCount, left out at 0 as proto3 JSON does."""
    return {"minInstanceCount": count} if count else {}


def _env(env: list[dict[str, str]]) -> dict[str, Any]:
    """A container's env as proto3 JSON (left out when empty): values, or Secret Manager references."""
    out = []
    for var in env:
        if var.get("secret"):
            out.append({"name": var["name"], "valueSource": {"secretKeyRef": {
                "secret": var["secret"], "version": var.get("version") or "latest"}}})
        else:
            out.append({"name": var["name"], "value": var.get("value", "")})
    return {"env": out} if out else {}


def parse_env(container: Any, where: str) -> list[dict[str, str]]:
    """A container's env from a client body: [{"name", "value"}] or [{"name", "secret", "version"}]."""
    raw = container.get("env") or [] if isinstance(container, dict) else []
    if not isinstance(raw, list):
        raise ApiError("INVALID_ARGUMENT", f"{where}.env must be a list.")
    env: list[dict[str, str]] = []
    for i, var in enumerate(raw):
        name = var.get("name") if isinstance(var, dict) else None
        if not isinstance(name, str) or not name:
            raise ApiError("INVALID_ARGUMENT", f"{where}.env[{i}].name is required.")
        ref = (var.get("valueSource") or var.get("value_source") or {})
        ref = ref.get("secretKeyRef") or ref.get("secret_key_ref") or {} if isinstance(ref, dict) else {}
        if ref:
            env.append({"name": name, "secret": str(ref.get("secret", "")), "version": str(ref.get("version") or
                                                                                          "latest")})
        else:
            env.append({"name": name, "value": str(var.get("value", ""))})
    if len({v["name"] for v in env}) != len(env):
        raise ApiError("INVALID_ARGUMENT", f"{where}.env names a variable more than once.")
    return env


def timestamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Renderer:
    """Renders records; `urls` gives each revision's and service's base URL on loopback."""

    def __init__(self, revision_url: Callable[[str], str], service_url: Callable[[str], str],
                 ints: bool = False) -> None:
        self._revision_url = revision_url
        self._service_url = service_url
        self._ints = ints

    def _e(self, table: str, name: str) -> str | int:
        return _ENUMS[table][name] if self._ints else name

    def _condition(self, kind: str, state: str, at: float, message: str = "",
                   revision_reason: str = "", reason: str = "") -> dict[str, Any]:
        cond: dict[str, Any] = {"type": kind, "state": self._e("state", state), "lastTransitionTime": timestamp(at)}
        if message:
            cond["message"] = message
            cond["severity"] = self._e("severity", "ERROR")
        if revision_reason:
            cond["revisionReason"] = self._e("revision_reason", revision_reason)
        if reason:  # Condition.reason, the CommonReason oneof beside revisionReason
            cond["reason"] = self._e("common_reason", reason)
        return cond

    def _target(self, t: Target, service: str, status: bool) -> dict[str, Any]:
        kind = f"TRAFFIC_TARGET_ALLOCATION_TYPE_{t.type}"
        out: dict[str, Any] = {"type": self._e("traffic", kind)}
        if t.revision and (t.type == "REVISION" or status):
            out["revision"] = t.revision
        if t.percent:
            out["percent"] = t.percent
        if t.tag:
            out["tag"] = t.tag
            if status:
                out["uri"] = self._revision_url(f"{service}/revisions/{t.revision}")
        return out

    def service(self, svc: Service) -> dict[str, Any]:
        if svc.rollout:
            state, message = "CONDITION_RECONCILING", ""
        elif svc.failure:
            state, message = "CONDITION_FAILED", svc.failure
        else:
            state, message = "CONDITION_SUCCEEDED", ""
        at = svc.updated_at
        kept = effective(svc.settings, svc.project)
        container = {"image": svc.image, **_env(svc.env), **rendered(kept["container"], self._ints)}
        template: dict[str, Any] = {
            "scaling": {"maxInstanceCount": svc.template_max_instances} | _min_count(svc.template_min_instances),
            **rendered(kept["template"], self._ints),
            "containers": [container],
        }
        if svc.template_revision:
            template = {"revision": svc.template_revision, **template}
        base = f"{svc.full_name}/revisions/"
        uri = self._service_url(svc.full_name)
        out: dict[str, Any] = {
            "name": svc.full_name,
            "uid": svc.uid,
            "generation": str(svc.generation),
            "labels": dict(svc.labels),
            "annotations": dict(svc.annotations),
            "createTime": timestamp(svc.created_at),
            "updateTime": timestamp(svc.updated_at),
            "creator": CREATOR,
            "lastModifier": CREATOR,
            **rendered(kept["service"], self._ints),
            "launchStage": self._e("launch_stage", "GA"),
            "template": template,
            "scaling": _min_count(svc.min_instances),  # service-level ServiceScaling, beside the template
            "traffic": [self._target(t, svc.full_name, status=False) for t in svc.traffic],
            "observedGeneration": str(svc.observed_generation),
            "terminalCondition": self._condition("Ready", state, at, message),
            "conditions": [self._condition("RoutesReady", state, at, message),
                           self._condition("ConfigurationsReady", state, at, message)],
            "latestReadyRevision": base + svc.latest_ready if svc.latest_ready else "",
            "latestCreatedRevision": base + svc.latest_created if svc.latest_created else "",
            "trafficStatuses": [self._target(t, svc.full_name, status=True) for t in svc.serving],
            "uri": uri,
            "urls": [uri] if uri else [],
            "reconciling": bool(svc.rollout),
            "etag": svc.etag,
        }
        return {k: v for k, v in out.items() if v not in ("", {}, [])}

    def revision(self, rev: Revision, now: float) -> dict[str, Any]:
        phase = rev.phase(now)
        if phase == "ready":
            assert rev.ready_at is not None
            ready = self._condition("Ready", "CONDITION_SUCCEEDED", rev.ready_at)
            health = self._condition("ContainerHealthy", "CONDITION_SUCCEEDED", rev.ready_at)
        elif phase == "failed" and rev.failure:  # the image was never pulled: no container ran
            assert rev.failed_at is not None
            ready = self._condition("Ready", "CONDITION_FAILED", rev.failed_at, rev.failure,
                                    reason=rev.failure_reason)
            health = self._condition("ContainerHealthy", "CONDITION_FAILED", rev.failed_at, rev.failure,
                                     reason=rev.failure_reason)
        elif phase == "failed":
            assert rev.failed_at is not None
            message = f"Revision '{rev.name}' is not ready: the container failed to start and listen on PORT=8080."
            ready = self._condition("Ready", "CONDITION_FAILED", rev.failed_at, message,
                                    "HEALTH_CHECK_CONTAINER_ERROR")
            health = self._condition("ContainerHealthy", "CONDITION_FAILED", rev.failed_at, message)
        else:
            ready = self._condition("Ready", "CONDITION_RECONCILING", rev.created_at, revision_reason="PENDING")
            health = self._condition("ContainerHealthy", "CONDITION_PENDING", rev.created_at)
        resources = self._condition("ResourcesAvailable", "CONDITION_SUCCEEDED", rev.created_at)
        return {
            "name": rev.full_name,
            "uid": rev.uid,
            "generation": str(rev.generation),
            "createTime": timestamp(rev.created_at),
            "updateTime": timestamp(max(rev.created_at, rev.ready_at or rev.failed_at or rev.created_at)),
            "launchStage": self._e("launch_stage", "GA"),
            "service": rev.service,
            "scaling": {"maxInstanceCount": rev.max_instances} | _min_count(rev.min_instances),
            "timeout": "300s",
            "maxInstanceRequestConcurrency": rev.behaviour.concurrency,
            "containers": [{"image": rev.image, "ports": [{"name": "http1", "containerPort": 8080}],
                            **_env(rev.env)}],
            "executionEnvironment": self._e("execution_environment", "EXECUTION_ENVIRONMENT_GEN2"),
            "reconciling": phase == "pending",
            "conditions": [ready, health, resources],
            "observedGeneration": str(rev.generation),
            "logUri": f"https://console.cloud.google.com/logs/viewer?resource=cloud_run_revision/{rev.name}",
            "etag": f"{rev.uid[:8]}-{phase}",
        }

    def operation(self, op: Operation, svc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": op.name, "metadata": {"@type": SERVICE_TYPE, **svc}}
        if op.done_at is not None:
            out["done"] = True
            if op.error_code:
                out["error"] = {"code": op.error_code, "message": op.error_message}
            else:
                out["response"] = {"@type": SERVICE_TYPE, **svc}
        return out


def _traffic_type(value: Any, where: str) -> str:
    name = _TRAFFIC_NAMES.get(value) if isinstance(value, int) else value
    if name == "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST":
        return "LATEST"
    if name == "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION":
        return "REVISION"
    raise ApiError("INVALID_ARGUMENT", f"{where}.type must be TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST or "
                                       f"TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION, got {value!r}.")


def parse_service(body: Any) -> ServiceUpdate:
    """The mutable fields of a Service body; output-only fields are ignored like Google does."""
    if not isinstance(body, dict):
        raise ApiError("INVALID_ARGUMENT", "The request body must be a JSON object (a Service).")
    template = body.get("template") or {}
    containers = template.get("containers") or []
    image = containers[0].get("image", "") if containers and isinstance(containers[0], dict) else ""
    if not image:
        raise ApiError("INVALID_ARGUMENT", "service.template.containers[0].image is required.")
    traffic: list[Target] = []
    for i, raw in enumerate(body.get("traffic") or []):
        where = f"service.traffic[{i}]"
        try:
            percent = int(raw.get("percent", 0))
        except (TypeError, ValueError):
            raise ApiError("INVALID_ARGUMENT", f"{where}.percent must be an integer.") from None
        traffic.append(Target(_traffic_type(raw.get("type", 0), where), str(raw.get("revision", "")),
                              percent, str(raw.get("tag", ""))))
    scaling = template.get("scaling") or {}
    # A PATCH without an update mask replaces the service, and proto3 JSON leaves out zeros: a missing
    # minInstanceCount is 0, on the template (revision-level) and on the service (service-level) alike.
    service_scaling = body.get("scaling") or {}
    return ServiceUpdate(
        image=image,
        template_revision=str(template.get("revision", "")),
        traffic=traffic or [Target("LATEST", "", 100)],
        labels=dict(body.get("labels") or {}),
        annotations=dict(body.get("annotations") or {}),
        etag=str(body.get("etag", "")),
        max_instances=int(scaling["maxInstanceCount"]) if "maxInstanceCount" in scaling else None,
        min_instances=_count(service_scaling, "service.scaling"),
        template_min_instances=_count(scaling, "service.template.scaling"),
        env=parse_env(containers[0] if containers else {}, "service.template.containers[0]"),
        settings=parse_settings(body),
    )


def _count(scaling: Any, where: str) -> int:
    if not isinstance(scaling, dict):
        raise ApiError("INVALID_ARGUMENT", f"{where} must be a JSON object.")
    try:
        count = int(scaling.get("minInstanceCount", 0))
    except (TypeError, ValueError):
        raise ApiError("INVALID_ARGUMENT", f"{where}.minInstanceCount must be an integer.") from None
    if count < 0:
        raise ApiError("INVALID_ARGUMENT", f"{where}.minInstanceCount must not be negative, got {count}.")
    return count
