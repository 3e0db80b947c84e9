"""The configuration model: the root, teams, console settings, and each environment's access,
infrastructure, application settings, secrets and deployment strategy.

Strings that name cloud resources are checked for shape here, so a typo is caught before a plan runs
against a project that does not exist. Strategy, criteria and triggers live in strategies.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from core.config.base import FrozenModel, Violation, matching, rule_error
from core.config.health import HealthSettings
from core.config.notifications import NotificationSettings
from core.config.secrets import SecretRef
from core.config.strategies import DeploymentStrategy, embeds_strategy
from core.errors import BadInput

COMPONENTS = ("websocket-server", "frontend", "infrastructure")
EnvironmentName = Literal["dev", "staging", "production"]
ENVIRONMENTS: tuple[EnvironmentName, ...] = ("dev", "staging", "production")

GcpProjectId = Annotated[
    str,
    matching(
        r"[a-z][a-z0-9-]{4,28}[a-z0-9]",
        "must be a Google Cloud project id: 6 to 30 lower-case letters, digits or hyphens, starting with a letter",
    ),
]
Region = Annotated[str, matching(r"[a-z]+-[a-z]+[0-9]+", "must be a Google Cloud region such as us-central1")]
ServiceName = Annotated[
    str,
    matching(
        r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?",
        "must be a Cloud Run service name: lower-case letters, digits and hyphens, starting with a letter",
    ),
]
CpuLimit = Annotated[
    str,
    matching(r"[1-9][0-9]*(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*|[1-9][0-9]*m", "must be CPUs such as 1, 2 or 1000m"),
]
MemoryLimit = Annotated[str, matching(r"[1-9][0-9]*(Mi|Gi|M|G)", "must be a memory size such as 512Mi or 1Gi")]
VercelProject = Annotated[
    str,
    matching(
        r"[a-z0-9][a-z0-9._-]{0,99}",
        "must be a Vercel project name: lower-case letters, digits, '.', '_', '-'",
    ),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
SecretName = Annotated[str, matching(r"[a-z][a-z0-9_]*", "secret names are lower-case letters, digits and underscores")]


def _websocket_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        well_formed = parts.scheme in ("ws", "wss") and bool(parts.hostname) and not any(c.isspace() for c in value)
    except ValueError:  # e.g. an unclosed [IPv6] host
        well_formed = False
    if not well_formed:
        raise PydanticCustomError("format", "must be a ws:// or wss:// URL such as wss://ws.agent-network.example")
    if parts.username or parts.password:
        raise PydanticCustomError(
            "secret_in_url", "must not carry credentials; keep them in a secret reference such as env:NAME"
        )
    return value


class Access(FrozenModel):
    """Who may deploy to an environment: named operators ("*" = anyone) and members of named teams."""

    operators: list[Name] = Field(default_factory=list)
    groups: list[Name] = Field(default_factory=list)

    def allows(self, operator: str, teams: Mapping[str, list[str]]) -> bool:
        if not operator:
            return False
        if "*" in self.operators or operator in self.operators:
            return True
        return any(operator in teams.get(group, ()) for group in self.groups)


class InfrastructureSettings(FrozenModel):
    """The Cloud Run service of one environment and how it scales."""

    gcp_project: GcpProjectId
    region: Region
    service_name: ServiceName
    min_instances: int = Field(ge=0)
    max_instances: int = Field(ge=1, le=1000)
    cpu_target: int = Field(ge=1, le=100, description="autoscaling CPU utilisation target, percent")
    cpu_limit: CpuLimit
    memory_limit: MemoryLimit
    failover_region: Region = Field(default="us-east1", description="where recovery fails the service over to")
    # As infrastructure/modules/websocket-server's `public` and `ingress` (its defaults too): browsers open
    # WebSocket connections directly, so the service is invokable by allUsers and takes all traffic.
    public: bool = Field(default=True, description="invokable by allUsers (roles/run.invoker); false: behind IAM")
    ingress: Literal["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"] \
        = Field(default="INGRESS_TRAFFIC_ALL", description="who may reach the service, as Cloud Run's ingress")

    @model_validator(mode="after")
    def _instances_in_order(self) -> InfrastructureSettings:
        if self.min_instances > self.max_instances:
            message = f"min_instances ({self.min_instances}) must not exceed max_instances ({self.max_instances})"
            raise rule_error([(("min_instances", "max_instances"), message)])
        return self


class ApplicationSettings(FrozenModel):
    """Where the platform's parts live: WebSocket endpoint, Vercel project, Firebase, Redis."""

    websocket_url: Annotated[str, AfterValidator(_websocket_url)]
    frontend_project: VercelProject
    firebase_project_id: GcpProjectId
    redis_connection: SecretRef


class EnvironmentConfig(FrozenModel):
    """One environment: who may deploy, where it runs, its secrets and how a release reaches it."""

    name: EnvironmentName
    purpose: str = ""
    access: Access
    infrastructure: InfrastructureSettings
    application: ApplicationSettings
    secrets: dict[SecretName, SecretRef] = Field(default_factory=dict)
    strategy: DeploymentStrategy
    requires_approval: bool = False
    # Four eyes: the approver may not be the person who deployed. None (the default) means on for production
    # when the registry is shared (identities are the database's); the embedded registry's are self-declared.
    distinct_approver: bool | None = None
    health: HealthSettings = Field(default_factory=HealthSettings)  # limits of live health (core.model.health)
    # which events page PagerDuty and at which severity (core.model.paging)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)


# GitHub's own rules: an owner is 1-39 letters, digits and single inner hyphens; a repository name is up to 100
# letters, digits, '.', '_', '-', but not "." or ".." (a path, not a repository). Empty: not set yet.
GitHubRepo = Annotated[
    str,
    matching(
        r"([A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/(?!\.\.?$)[A-Za-z0-9_.-]{1,100})?",
        "must be a GitHub repository as owner/name, such as agent-network/platform",
    ),
]
ConsoleWheelUrl = Annotated[
    str,
    matching(r"(https://[^\s#?]+/agent_network_console-[0-9][0-9A-Za-z.+!]*-py3-none-any\.whl)?",
             "must be the https URL of this project's wheel (agent_network_console-VERSION-py3-none-any.whl)"),
]
Sha256 = Annotated[str, matching(r"([0-9a-f]{64})?", "must be a sha256 digest: 64 lower-case hex digits")]
RelativePath = Annotated[
    str,
    matching(r"((?!/)(?!.*(?:^|/)\.\.(?:/|$))[A-Za-z0-9_.\-/]{1,200})?",
             "must be a path inside the repository (relative, no '..')"),
]
ImageRepository = Annotated[
    str,
    matching(r"[a-z0-9][a-z0-9-]{0,62}", "must be an Artifact Registry repository id: lower-case letters, digits, '-'"),
]
# What the deploy jobs authenticate with (Terraform's outputs in infrastructure/environments/shared).
WorkloadIdentityProvider = Annotated[
    str,
    matching(r"(projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}/providers/[a-z0-9-]{4,32})?",
             "must be a workload identity provider's full name: projects/NUMBER/locations/global/"
             "workloadIdentityPools/POOL/providers/PROVIDER (terraform output workload_identity_provider)"),
]
ServiceAccountEmail = Annotated[
    str,
    matching(r"([a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com)?",
             "must be a service account's email (NAME@PROJECT.iam.gserviceaccount.com)"),
]


def pipeline_registry(value: str) -> str:
    """The shared registry the deploy jobs record in: a postgresql:// URL with no password (the deployer
    connects with its IAM identity), so it can be a plain GitHub variable."""
    if not value:
        return value
    from core.config.registry_location import is_url, parse_postgres_url

    if not is_url(value):
        raise PydanticCustomError("pipeline_registry", "must be the team's postgresql:// registry URL: a file on a "
                                  "throwaway runner would lose the deployment when the job ends", {})
    try:
        location = parse_postgres_url(value, where=None)
    except BadInput as error:
        raise PydanticCustomError("pipeline_registry", "{problem}", {"problem": str(error)}) from None
    if location.has_password:
        raise PydanticCustomError("pipeline_registry", "must not carry a password: it becomes a GitHub variable "
                                  "anyone with read access sees; the deployer connects with its IAM identity", {})
    return value


Reviewer = Annotated[
    str,
    matching(
        r"[A-Za-z0-9](-?[A-Za-z0-9]){0,38}(/[A-Za-z0-9_.-]+)?",
        "must be a GitHub user login, or a team as org/team-slug",
    ),
]


class PipelineSettings(FrozenModel):
    """The CI/CD pipeline: the GitHub repository it runs in, who approves production, and what each stage runs.

    The generated workflows are built from this and the environments; `opsconsole pipeline configure`
    sets up the repository's GitHub environments with the token this reference resolves to.
    """

    repo: GitHubRepo = ""
    github_token: SecretRef = "env:GITHUB_TOKEN"
    github_api_url: str = "https://api.github.com"
    reviewers: list[Reviewer] = Field(default_factory=list, description="users or org/team that approve production")
    image_repository: ImageRepository = "agent-network"
    # The console the deploy jobs run, pinned: this project's wheel at a fixed version, fetched by URL and
    # checked against its sha256, and its dependencies from a hash-pinned requirements file, so pip installs
    # with --require-hashes and never resolves a bare name from an index (a name anyone could register).
    console_wheel_url: ConsoleWheelUrl = Field(default="", description="https URL of this project's wheel, "
                                               "e.g. .../agent_network_console-0.1.0-py3-none-any.whl")
    console_wheel_sha256: Sha256 = Field(default="", description="the wheel's sha256 (64 hex digits)")
    console_requirements: RelativePath = Field(
        default="", description="the console's dependencies, every one `==` pinned with --hash (e.g. `pip-compile "
                                "--generate-hashes`), relative to the application repository's root")
    # The deploy jobs' identity and registry: GitHub variables set by `pipeline configure`.
    workload_identity_provider: WorkloadIdentityProvider = ""
    deployer_service_account: ServiceAccountEmail = ""
    registry: Annotated[str, AfterValidator(pipeline_registry)] = Field(
        default="", description="the team's registry URL as the deployer connects (postgresql://DEPLOYER@/opsconsole"
                                "?cloudsql_instance=...)")
    lint_command: Name = "npm run lint"
    format_command: Name = "npm run format:check"
    unit_test_command: Name = "npm test"
    integration_test_command: Name = "npm run test:integration"
    e2e_test_command: Name = "npm run test:e2e"
    performance_test_command: Name = "npm run test:performance"


class ConsoleSettings(FrozenModel):
    """How the terminal console behaves."""

    refresh_seconds: float = Field(default=1.5, ge=0.5, le=10, description="while a deployment is in progress")
    idle_refresh_seconds: float = Field(default=5.0, ge=0.5, le=60, description="while none is (console/refresh_pace)")
    keymap: dict[Name, Name] = Field(default_factory=dict, description="binding id -> keys, e.g. ctrl+d")


def _production_guards(production: EnvironmentConfig | None) -> list[Violation]:
    """Production serves users: it keeps two instances up, and a named person approves every release."""
    if production is None:
        return []
    prefix = "environments.production"
    violations: list[Violation] = []
    if production.infrastructure.min_instances < 2:
        violations.append(
            (
                (f"{prefix}.infrastructure.min_instances",),
                "production needs at least 2 instances for high availability, "
                f"got {production.infrastructure.min_instances}",
            )
        )
    if not production.requires_approval:
        violations.append(((f"{prefix}.requires_approval",), "production must require approval before a deployment"))
    if "*" in production.access.operators:
        violations.append(
            (
                (f"{prefix}.access.operators",),
                'production must restrict access: replace "*" with named operators or groups',
            )
        )
    return violations


def registry_file(path: Path | None) -> Path | None:
    """The registry's location with ~ expanded; a directory is refused (the registry is a file beside its archive)."""
    if path is None:
        return None
    path = path.expanduser()
    if path.is_dir():
        raise PydanticCustomError("registry_file", "must be the registry's file, not the directory {path}",
                                  {"path": str(path)})
    return path


def registry_setting(value: str | None) -> str | None:
    """`registry`: a file path (the embedded registry, checked as `registry_path` is) or a postgresql:// URL."""
    if value is None:
        return None
    from core.config.registry_location import is_url, parse_postgres_url

    if is_url(value):
        try:
            parse_postgres_url(value, where=None)
        except BadInput as error:
            raise PydanticCustomError("registry_url", "{problem}", {"problem": str(error)}) from None
        return value
    path = registry_file(Path(value))
    return None if path is None else str(path)


class ConsoleConfig(FrozenModel):
    """The whole configuration: profile, registry location, teams, console settings, environments."""

    profile: Literal["sandbox", "gcp"] = "sandbox"
    # Where the registry is: a file (the embedded single-user registry) or postgresql://... (the team's).
    registry: Annotated[str | None, AfterValidator(registry_setting)] = None
    registry_path: Annotated[Path | None, Field(strict=False), AfterValidator(registry_file)] = None  # older name
    teams: dict[Name, list[Name]] = Field(default_factory=dict)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    environments: dict[EnvironmentName, EnvironmentConfig]

    @model_validator(mode="after")
    def _environments_consistent(self) -> ConsoleConfig:
        violations = _production_guards(self.environments.get("production"))
        if self.registry is not None and self.registry_path is not None:
            violations.append((("registry",), "set registry or registry_path (its older name), not both"))
        for key, env in self.environments.items():
            if env.name != key:
                violations.append(((f"environments.{key}.name",), f"name {env.name} differs from its key {key}"))
            for group in env.access.groups:
                if group not in self.teams:
                    defined = ", ".join(sorted(self.teams)) or "none"
                    violations.append(
                        (
                            (f"environments.{key}.access.groups",),
                            f"access group {group} is not defined under teams (defined: {defined})",
                        )
                    )
        if violations:
            raise rule_error(violations)
        return self

    def environment(self, name: str) -> EnvironmentConfig:
        """The named environment; BadInput naming the known ones when there is none."""
        try:
            return self.environments[name]  # type: ignore[index]
        except KeyError:
            known = ", ".join(self.environments) or "none"
            raise BadInput(f"There is no environment {name!r} in the configuration (known: {known}).") from None


embeds_strategy(EnvironmentConfig, ConsoleConfig)  # a strategy kind registered later is accepted in both
