"""Infrastructure as one component: plan and apply Terraform per environment, remember the last known good
configuration, and restore it (the engine's InfrastructureHook, the `infra` commands and the screen)."""

from core.infra.records import HISTORY_LIMIT, INFRA_TABLE, last_good
from core.infra.service import InfraOutcome, InfrastructureService, TerraformHook
from core.infra.setup import find_infrastructure_dir, make_runner

__all__ = [
    "HISTORY_LIMIT",
    "INFRA_TABLE",
    "InfraOutcome",
    "InfrastructureService",
    "TerraformHook",
    "find_infrastructure_dir",
    "last_good",
    "make_runner",
]
