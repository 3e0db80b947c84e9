"""Records of the sandbox's Cloud Run: services, revisions, traffic targets, operations, and the API's errors.

Plain dataclasses that serialise to JSON for the state file; the behaviour lives in cloudrun_state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from sandbox.scenario import RevisionBehaviour


class ApiError(Exception):
    """An answer the Cloud Run API refuses with: a google.rpc status name and one-sentence message."""

    HTTP: ClassVar[dict[str, int]] = {
        "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
        "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "ABORTED": 409, "RESOURCE_EXHAUSTED": 429, "UNAVAILABLE": 503,
        "DEADLINE_EXCEEDED": 504,
    }

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def http_status(self) -> int:
        return self.HTTP.get(self.status, 500)


@dataclass
class Target:
    """A traffic target: `type` is "LATEST" or "REVISION"; in statuses LATEST carries its resolved revision."""

    type: str
    revision: str
    percent: int
    tag: str = ""


@dataclass
class Revision:
    service: str  # full service name
    name: str
    uid: str
    generation: int
    image: str
    created_at: float
    behaviour: RevisionBehaviour
    ready_at: float | None
    failed_at: float | None
    max_instances: int = 100
    min_instances: int = 0  # its template's scaling.minInstanceCount, fixed when it was created
    env: list[dict[str, str]] = field(default_factory=list)  # its container's env, fixed when it was created
    # Why it failed when its image could not be pulled (Google's words), and the Condition.CommonReason name;
    # empty for a container that was pulled and then failed to start (the NOT_READY message).
    failure: str = ""
    failure_reason: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.service}/revisions/{self.name}"

    def phase(self, t: float) -> str:
        """"ready", "failed" or "pending" at sandbox time t."""
        if self.ready_at is not None and t >= self.ready_at:
            return "ready"
        if self.failed_at is not None and t >= self.failed_at:
            return "failed"
        return "pending"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["behaviour"] = self.behaviour.model_dump()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Revision:
        return cls(**{**data, "behaviour": RevisionBehaviour.model_validate(data["behaviour"])})


@dataclass
class Operation:
    name: str
    service: str
    created_at: float
    revision: str = ""
    done_at: float | None = None
    error_code: int = 0
    error_message: str = ""


@dataclass
class Service:
    project: str
    location: str
    name: str
    uid: str
    created_at: float
    updated_at: float
    image: str
    template_revision: str
    generation: int = 1
    observed_generation: int = 1
    etag: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    traffic: list[Target] = field(default_factory=list)
    serving: list[Target] = field(default_factory=list)
    latest_created: str = ""
    latest_ready: str = ""
    failure: str = ""
    rollout: str = ""  # operation name of the update waiting for its revision
    # Service-level scaling.minInstanceCount: applies to whatever revisions serve, creates no revision.
    min_instances: int = 0
    min_instances_set_at: float | None = None  # when it last changed (recovery clears instances-zero with it)
    template_min_instances: int = 0  # template.scaling.minInstanceCount: changing it creates a revision
    template_max_instances: int = 100  # template.scaling.maxInstanceCount: changing it creates a revision
    # The container's env: {"name", "value"} or {"name", "secret", "version"}; changing it creates a revision.
    env: list[dict[str, str]] = field(default_factory=list)
    # Fields kept as sent (sandbox/cloudrun_settings.py): service account, network path, limits, ingress.
    settings: dict[str, Any] = field(default_factory=dict)
    split_history: list[tuple[float, dict[str, int]]] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/services/{self.name}"

    def split_now(self) -> dict[str, int]:
        return self.split_history[-1][1] if self.split_history else {}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["split_history"] = [[t, s] for t, s in self.split_history]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Service:
        data = dict(data)
        data["traffic"] = [Target(**t) for t in data["traffic"]]
        data["serving"] = [Target(**t) for t in data["serving"]]
        data["split_history"] = [(float(t), {k: int(v) for k, v in s.items()}) for t, s in data["split_history"]]
        return cls(**data)


@dataclass
class ServiceUpdate:
    """The mutable part of a Service as sent by a client (output-only fields are ignored, as Google does)."""

    image: str | None = None
    template_revision: str = ""
    traffic: list[Target] | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    etag: str = ""
    max_instances: int | None = None
    min_instances: int | None = None  # service-level scaling; None leaves it as it is
    template_min_instances: int | None = None  # revision-level scaling; None leaves it as it is
    env: list[dict[str, str]] | None = None  # the container's env; None (not sent) empties it, as a PATCH does
    settings: dict[str, Any] | None = None  # kept fields as sent (cloudrun_settings.parse_settings); None: defaults
