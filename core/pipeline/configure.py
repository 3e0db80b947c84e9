"""configure_deployment_pipeline: what an environment's GitHub environment must hold, what differs, and applying it.

The desired state comes from the configuration: the environment itself, its required reviewers (only
where the environment requires approval), the non-secret settings the workflow reads as variables,
and the secrets it reads as `${{ secrets.NAME }}` (each an `env:` reference of the configuration, resolved
where the command runs). A plan lists the changes by name; it never holds a secret's value, which is
resolved only while applying and handed straight to the GitHub client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from core.config.models import ConsoleConfig, EnvironmentConfig
from core.errors import BadInput
from core.pipeline.workflow import env_secret_names
from core.providers.github import GitHubEnvironmentState
from core.strategies import summary_of

ChangeKind = Literal["create_environment", "set_reviewers", "add_variable", "update_variable", "set_secret"]


class GitHubEnvironments(Protocol):
    def read_environment(self, name: str) -> GitHubEnvironmentState: ...
    def put_environment(self, name: str, reviewers: tuple[str, ...]) -> None: ...
    def set_variable(self, environment: str, name: str, value: str, *, exists: bool) -> None: ...
    def set_secret(self, environment: str, name: str, value: str) -> None: ...


@dataclass(frozen=True)
class DesiredEnvironment:
    """What the GitHub environment of one configured environment must hold."""

    name: str
    reviewers: tuple[str, ...]
    variables: dict[str, str]
    secrets: dict[str, str]  # GitHub secret name -> the configuration's reference (never a value)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    name: str
    detail: str  # one phrase for the operator; names and references only

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "detail": self.detail}


@dataclass(frozen=True)
class PipelinePlan:
    repo: str
    environment: DesiredEnvironment
    changes: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"repo": self.repo, "environment": self.environment.name,
                "changes": [c.to_dict() for c in self.changes]}


def _strategy_variable(env: EnvironmentConfig) -> str:
    return summary_of(env.strategy, compact=True)


def desired_environment(config: ConsoleConfig, env_name: str) -> DesiredEnvironment:
    env = config.environment(env_name)
    reviewers = tuple(sorted(config.pipeline.reviewers)) if env.requires_approval else ()
    if env.requires_approval and not reviewers:
        raise BadInput(f"{env_name} requires approval, so [pipeline] reviewers must name at least one GitHub "
                       "user or org/team to approve its deployments.")
    infra = env.infrastructure
    variables = {
        "GCP_PROJECT": infra.gcp_project,
        "GCP_REGION": infra.region,
        "SERVICE_NAME": infra.service_name,
        "IMAGE_REPOSITORY": config.pipeline.image_repository,
        "FRONTEND_PROJECT": env.application.frontend_project,
        "WEBSOCKET_URL": env.application.websocket_url,
        "DEPLOY_STRATEGY": _strategy_variable(env),
    }
    # What the deploy jobs authenticate and record with: set only once the team has them (terraform output).
    pipeline = config.pipeline
    for name, value in (("GCP_WORKLOAD_IDENTITY_PROVIDER", pipeline.workload_identity_provider),
                        ("GCP_SERVICE_ACCOUNT", pipeline.deployer_service_account),
                        ("OPSCONSOLE_REGISTRY", pipeline.registry)):
        if value:
            variables[name] = value
    secrets = {secret: f"env:{var}" for var, secret in env_secret_names(env).items()}
    return DesiredEnvironment(env_name, reviewers, variables, secrets)


def plan_changes(desired: DesiredEnvironment, current: GitHubEnvironmentState, repo: str) -> PipelinePlan:
    """The changes that make `current` what `desired` says; secrets are always (re)set, since GitHub never
    shows a secret's value to compare with."""
    changes: list[Change] = []
    if not current.exists:
        changes.append(Change("create_environment", desired.name, f"create environment {desired.name} in {repo}"))
    if tuple(sorted(current.reviewers)) != desired.reviewers and (current.exists or desired.reviewers):
        who = ", ".join(desired.reviewers) or "none (deploys without approval)"
        changes.append(Change("set_reviewers", desired.name, f"required reviewers: {who}"))
    for name, value in desired.variables.items():
        if name not in current.variables:
            changes.append(Change("add_variable", name, f"add variable {name} = {value}"))
        elif current.variables[name] != value:
            changes.append(Change("update_variable", name,
                                  f"update variable {name}: {current.variables[name]} -> {value}"))
    for name, ref in desired.secrets.items():
        verb = "replace" if name in current.secret_names else "set"
        changes.append(Change("set_secret", name, f"{verb} secret {name} from {ref}"))
    return PipelinePlan(repo, desired, changes)


def configure_deployment_pipeline(config: ConsoleConfig, env_name: str, github: GitHubEnvironments, repo: str,
                                  resolve: Callable[[str], str] | None = None) -> PipelinePlan:
    """Plan the changes for `env_name`; with `resolve` (a secret resolver) apply them too. Returns the plan."""
    desired = desired_environment(config, env_name)
    current = github.read_environment(env_name)
    plan = plan_changes(desired, current, repo)
    if resolve is None:
        return plan
    kinds = {c.kind for c in plan.changes}
    if kinds & {"create_environment", "set_reviewers"}:
        github.put_environment(env_name, desired.reviewers)
    for change in plan.changes:
        if change.kind in ("add_variable", "update_variable"):
            github.set_variable(env_name, change.name, desired.variables[change.name],
                                exists=change.kind == "update_variable")
        elif change.kind == "set_secret":
            github.set_secret(env_name, change.name, resolve(desired.secrets[change.name]))
    return plan
