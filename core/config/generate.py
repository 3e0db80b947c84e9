"""Files other tools consume, generated from the configuration: Terraform variables and the CI pipeline's
deployment settings. Secrets appear in them by name only, never by value.
"""

from __future__ import annotations

from typing import Any

from core.config.models import ConsoleConfig
from core.config.secrets import EnvRef, parse_secret_ref


def _secret_name(reference: str) -> dict[str, str]:
    parsed = parse_secret_ref(reference)
    if isinstance(parsed, EnvRef):
        return {"env_var": parsed.name}
    return {"secret": parsed.secret, "version": parsed.version, "project": parsed.project}


def generate_terraform_vars(config: ConsoleConfig, env_name: str) -> dict[str, Any]:
    """tfvars for infrastructure/environments/<env_name>.

    The CPU target is written once, as the fraction Cloud Run's autoscaling takes
    (`cpu_utilization_target = 0.7` for 70 %), so Terraform never has to convert it.
    """
    env = config.environment(env_name)
    infra, app = env.infrastructure, env.application
    references = {"redis_connection": app.redis_connection, **env.secrets}
    return {
        "project_id": infra.gcp_project,
        "region": infra.region,
        "failover_region": infra.failover_region,
        "service_name": infra.service_name,
        "min_instances": infra.min_instances,
        "max_instances": infra.max_instances,
        "cpu_utilization_target": infra.cpu_target / 100,
        "cpu_limit": infra.cpu_limit,
        "memory_limit": infra.memory_limit,
        "websocket_url": app.websocket_url,
        "frontend_project": app.frontend_project,
        "firebase_project_id": app.firebase_project_id,
        "secret_refs": {name: _secret_name(ref) for name, ref in sorted(references.items())},
    }


def generate_deployment_config(config: ConsoleConfig) -> dict[str, Any]:
    """What the CI pipeline needs per environment to deploy: strategy, checks, approval, where it goes."""
    environments: dict[str, Any] = {}
    for name, env in config.environments.items():
        strategy = env.strategy
        environments[name] = {
            "strategy": strategy.model_dump(mode="json", exclude={"criteria", "triggers"}),
            "criteria": strategy.criteria.model_dump(mode="json", exclude={"required_checks"}),
            "triggers": strategy.triggers.model_dump(mode="json"),
            "required_checks": list(strategy.criteria.required_checks),
            "requires_approval": env.requires_approval,
            "access_groups": list(env.access.groups),
            "service": env.infrastructure.service_name,
            "project": env.infrastructure.gcp_project,
            "region": env.infrastructure.region,
            "frontend_project": env.application.frontend_project,
        }
    return {"environments": environments}
