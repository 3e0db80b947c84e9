"""What the sandbox cloud is seeded with: per environment, a GCP project, region, Cloud Run service and Vercel project.

Defaults equal the built-in configuration. The sandbox does not read core.config itself; the
composition root turns the configuration into a SeedSpec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class EnvSeed:
    """One environment's cloud resources."""

    project: str
    vercel_project: str
    region: str = "us-central1"
    service: str = "websocket-server"
    image: str = ""
    websocket_url: str = ""  # the frontend's NEXT_PUBLIC_WEBSOCKET_URL, as infrastructure/modules/frontend sets it

    def container_env(self, environment: str) -> list[dict[str, str]]:
        """The service's environment as the environments' Terraform sets it (infrastructure/environments/*/main.tf:
        plain FIREBASE_PROJECT_ID and ENVIRONMENT, the Redis connection by Secret Manager reference)."""
        return [{"name": "ENVIRONMENT", "value": environment},
                {"name": "FIREBASE_PROJECT_ID", "value": self.project},
                {"name": "REDIS_CONNECTION", "secret": "redis-url", "version": "latest"}]

    @property
    def stable_image(self) -> str:
        return self.image or f"{self.region}-docker.pkg.dev/{self.project}/agent-network/{self.service}:stable"


def _default_envs() -> Mapping[str, EnvSeed]:
    return MappingProxyType({
        "dev": EnvSeed(project="ai-agent-network-dev", vercel_project="agent-network-web-dev"),
        "staging": EnvSeed(project="ai-agent-network-staging", vercel_project="agent-network-web-staging"),
        "production": EnvSeed(project="ai-agent-network-prod", vercel_project="agent-network-web"),
    })


@dataclass(frozen=True)
class SeedSpec:
    """Environments by name; each gets a ready stable revision at 100 % and a Vercel production deployment."""

    environments: Mapping[str, EnvSeed] = field(default_factory=_default_envs)

    def env(self, name: str) -> EnvSeed:
        return self.environments[name]
