"""The sandbox state file's shape, checked before anything is restored from it: a file of the wrong shape is one
sentence naming the file and the field, never a KeyError or an overflow in a request handler later.

Mirrors what SandboxCloud.to_dict writes (tests/test_sandbox_state_file.py keeps the two equal, field for field).
Strict: in a state file "5" is not a number and true is not a count. Times are sandbox seconds (Vercel's are
milliseconds) between the epoch and the end of year 9999, so every one of them still converts to a date.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sandbox.scenario import scenario_names

LAST_SECOND = 253_402_300_799.0  # 9999-12-31T23:59:59Z
Moment = Annotated[float, Field(ge=0, le=LAST_SECOND)]
MillisMoment = Annotated[int, Field(ge=0, le=int(LAST_SECOND) * 1000)]
Count = Annotated[int, Field(ge=0, le=2**53)]
Seconds = Annotated[float, Field(ge=0, le=86_400 * 366)]
Share = Annotated[float, Field(ge=0, le=1)]
Percent = Annotated[int, Field(ge=0, le=100)]


def _known_scenario(name: str) -> str:
    if name not in scenario_names():
        raise ValueError(f"{name!r} is not a sandbox scenario (known: {', '.join(scenario_names())})")
    return name


ScenarioName = Annotated[str, AfterValidator(_known_scenario)]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Target(_Shape):
    type: Literal["LATEST", "REVISION"]
    revision: str
    percent: Percent
    tag: str = ""


class Service(_Shape):
    project: str
    location: str
    name: str
    uid: str
    created_at: Moment
    updated_at: Moment
    image: str
    template_revision: str
    generation: Count = 1
    observed_generation: Count = 1
    etag: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    traffic: list[Target] = Field(default_factory=list)
    serving: list[Target] = Field(default_factory=list)
    latest_created: str = ""
    latest_ready: str = ""
    failure: str = ""
    rollout: str = ""
    min_instances: Count = 0
    min_instances_set_at: Moment | None = None
    template_min_instances: Count = 0
    template_max_instances: Count = 100
    env: list[dict[str, str]] = Field(default_factory=list)
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    split_history: list[tuple[Moment, dict[str, Percent]]] = Field(default_factory=list)


class Behaviour(_Shape):
    """scenario.RevisionBehaviour, bounded: a saved revision serves with it, so no value may overflow later."""

    error_rate_5xx: Share = 0.002
    error_rate_4xx: Share = 0.01
    latency_p50_ms: Annotated[float, Field(gt=0, le=3_600_000)] = 35.0
    latency_p99_ms: Annotated[float, Field(gt=0, le=3_600_000)] = 180.0
    ready_after_s: Seconds = 8.0
    never_ready: bool = False
    startup_timeout_s: Annotated[float, Field(gt=0, le=86_400 * 366)] = 240.0
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 80

    @model_validator(mode="after")
    def _p99_not_below_p50(self) -> Behaviour:
        if self.latency_p99_ms < self.latency_p50_ms:
            raise ValueError("latency_p99_ms must not be below latency_p50_ms")
        return self


class Revision(_Shape):
    service: str
    name: str
    uid: str
    generation: Count
    image: str
    created_at: Moment
    behaviour: Behaviour
    ready_at: Moment | None
    failed_at: Moment | None
    max_instances: Count = 100
    min_instances: Count = 0
    env: list[dict[str, str]] = Field(default_factory=list)
    failure: str = ""
    failure_reason: Literal["", "CONTAINER_MISSING", "CONTAINER_PERMISSION_DENIED"] = ""


class Operation(_Shape):
    name: str
    service: str
    created_at: Moment
    revision: str = ""
    done_at: Moment | None = None
    error_code: Count = 0
    error_message: str = ""


class PullSettings(_Shape):
    images: dict[str, Literal["missing", "forbidden"]] = Field(default_factory=dict)
    max_instances_quota: Count | None = None


class IamBinding(_Shape):
    role: str
    members: list[str]


class IamPolicy(_Shape):
    etag: str
    version: Count = 1
    bindings: list[IamBinding] = Field(default_factory=list)


class IamPolicies(_Shape):
    policies: dict[str, IamPolicy] = Field(default_factory=dict)
    caller: list[str] = Field(default_factory=list)
    seq: Count = 0


class CloudRun(_Shape):
    version: Literal[1]
    seq: Count = 0
    services: list[Service]
    revisions: list[Revision]
    operations: list[Operation]
    pull: PullSettings = Field(default_factory=PullSettings)
    iam: IamPolicies = Field(default_factory=IamPolicies)


class CustomSeries(_Shape):
    project: str
    metric: str
    metric_labels: dict[str, str]
    resource_type: str
    resource_labels: dict[str, str]
    kind: str
    value_type: str
    points: list[tuple[Moment, float]] = Field(default_factory=list)


class HttpFaults(_Shape):
    share: Share
    statuses: list[Annotated[int, Field(ge=100, le=599)]]
    seed: Count
    retry_after: Seconds
    latency_s: Seconds = 0.0


class Timings(_Shape):
    queued_seconds: Seconds = 2.0
    build_seconds: Seconds = 40.0
    alias_seconds: Seconds = 2.0


class AliasJob(_Shape):
    """A promote or rollback job, in Vercel's own field names (as the API answers them)."""

    fromDeploymentId: str
    toDeploymentId: str
    jobStatus: Literal["in-progress", "succeeded", "failed"]
    requestedAt: MillisMoment
    type: Literal["promote", "rollback"] | None = None
    description: str | None = None


class Project(_Shape):
    id: str
    name: str
    created_at: MillisMoment
    updated_at: MillisMoment
    repo_id: str
    auto_assign_custom_domains: bool = True
    production_deployment_id: str | None = None
    fail_builds: bool = False
    page_fault: Literal["server-error", "missing-asset", "wrong-websocket-url"] | None = None
    last_alias_request: AliasJob | None = None
    last_rollback_target: AliasJob | None = None


class VercelDeployment(_Shape):
    id: str
    name: str
    project_id: str
    url: str
    target: str | None
    created_at: MillisMoment
    ready_state: Literal["QUEUED", "BUILDING", "READY", "ERROR", "CANCELED"]
    git_ref: str
    git_sha: str
    repo_id: str
    creator_uid: str
    creator_username: str
    auto_assign: bool
    will_fail: bool
    building_at: MillisMoment | None = None
    ready: MillisMoment | None = None
    aliases: list[str] = Field(default_factory=list)
    alias_assigned_at: MillisMoment | None = None
    served_production: bool = False
    error_message: str | None = None
    build_env: dict[str, str] = Field(default_factory=dict)
    page_fault: Literal["server-error", "missing-asset", "wrong-websocket-url"] | None = None


class Vercel(_Shape):
    version: Literal[1]
    team_id: str | None = None
    plan: Literal["hobby", "pro"] = "pro"
    timings: Timings
    faults: HttpFaults
    projects: list[Project]
    deployments: list[VercelDeployment]


class ApiFaults(_Shape):
    share: Share = 0.0
    kinds: list[str] = Field(default_factory=lambda: ["UNAVAILABLE"])
    latency_s: Seconds = 0.0
    seed: Count = 0
    methods: list[str] = Field(default_factory=list)
    budget: Count | None = None


class Faults(_Shape):
    cloudrun: ApiFaults
    monitoring: ApiFaults


class RedisInstance(_Shape):
    project: str
    location: str
    instance_id: str
    created_at: Moment
    location_id: str
    alternative_location_id: str
    keyspace: dict[str, str] = Field(default_factory=dict)
    backup: dict[str, str] = Field(default_factory=dict)
    failed_over_at: Moment | None = None
    imported_at: Moment | None = None


class Redis(_Shape):
    version: Literal[1]
    instances: list[RedisInstance]


class EnvVar(_Shape):
    value: str
    type: str
    target: list[str]


class LoadRun(_Shape):
    target: str
    rps: Annotated[float, Field(ge=0, le=1_000_000)]
    start: Moment
    end: Moment
    canary: str = ""
    cmd: str = ""


class Endpoints(_Shape):
    cloudrun_url: str
    monitoring_target: str
    vercel_url: str
    slack_url: str
    pagerduty_url: str
    credentials: Literal["anonymous", "adc"]
    control_url: str = ""
    secretmanager_url: str = ""
    redis_url: str = ""
    dashboards_url: str = ""
    loadtester_url: str = ""
    vercel_pages_url: str = ""


class Incident(_Shape):
    id: str
    policy: str
    display_name: str
    summary: str
    opened_at: Moment
    closed_at: Moment | None = None
    failures: list[str] = Field(default_factory=list)


class AlertStoreState(_Shape):
    policies: list[str]  # AlertPolicy as Monitoring's JSON
    channels: list[str]  # NotificationChannel as Monitoring's JSON, sensitive labels masked


class MonitoringAlerts(_Shape):
    store: AlertStoreState
    incidents: list[Incident]


class SinkRecord(_Shape):
    """sinks.SinkRecord: one request Slack or PagerDuty received (routing keys and webhook secrets left out)."""

    channel: Literal["slack", "pagerduty", "pagerduty-change"]
    path: str
    body: Any
    status: Annotated[int, Field(ge=100, le=599)]
    answer: str
    at: Moment


class Sinks(_Shape):
    records: list[SinkRecord]
    alerts: dict[str, Literal["triggered", "acknowledged", "resolved"]]


class MonitoringIngestion(_Shape):
    """How Monitoring serves Cloud Run's points (sandbox/monitoring_ingest.py): seconds per point, delay (None: drawn
    like Google's), the draw's seed."""

    point_s: Annotated[int, Field(ge=1, le=60)]
    delay_s: Annotated[float, Field(ge=0, le=3600)] | None
    seed: int


class SandboxState(_Shape):
    """The whole file, as SandboxCloud.to_dict writes it (redis, vercel_env and load_tests came later)."""

    version: Literal[1]
    clock: Moment
    scenarios: Annotated[list[tuple[Moment, ScenarioName]], Field(min_length=1)]
    strikes: list[tuple[Count, list[str]]] | None = None  # [switch index, revisions] of `--now` switches (came later)
    cloudrun: CloudRun
    custom_metrics: list[CustomSeries]
    vercel: Vercel
    faults: Faults
    redis: Redis | None = None
    vercel_env: dict[str, dict[str, EnvVar]] | None = None
    load_tests: list[LoadRun] | None = None
    monitoring_alerts: MonitoringAlerts | None = None  # alert policies, channels and incidents (came later)
    sinks: Sinks | None = None  # what Slack and PagerDuty received (came later)
    monitoring_ingestion: MonitoringIngestion | None = None  # Cloud Run's points in Monitoring (came later)
    endpoints: Endpoints | None = None


def field_names() -> dict[str, set[str]]:
    """Each record's fields by the name of the sandbox class that writes it (for the test that keeps them equal)."""
    pairs: dict[str, type[BaseModel]] = {
        "Target": Target, "Service": Service, "Revision": Revision, "Operation": Operation,
        "CustomSeries": CustomSeries, "Timings": Timings, "Project": Project, "Deployment": VercelDeployment,
        "RedisInstance": RedisInstance, "LoadRun": LoadRun, "Endpoints": Endpoints, "RevisionBehaviour": Behaviour,
    }
    return {name: set(model.model_fields) for name, model in pairs.items()}


def describe(error: Any) -> str:
    """One phrase for a pydantic error of the state file: the field (dotted) and what is wrong with it."""
    where = ".".join(_part(part) for part in error["loc"]) or "(top level)"
    message = str(error["msg"])
    return f"field {where}: {message[:1].lower() + message[1:]}"


def _part(part: Any) -> str:
    """A location's part as written in a message: keys with dots, control characters or nothing shown quoted."""
    text = str(part)
    return text if isinstance(part, int) or (text.isprintable() and text and "." not in text) else repr(text)
