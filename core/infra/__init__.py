"""Infrastructure as one component: plan and apply Terraform per environment, remember the last known good
configuration, and restore it (the engine's InfrastructureHook, the `infra` commands and the screen)."""

from core.infra.records import HISTORY_LIMIT, INFRA_TABLE, choose_good, entry_id, known_good, last_good
from core.infra.service import InfraDrift, InfraOutcome, InfrastructureService, TerraformHook, configured_settings
from core.infra.setup import find_infrastructure_dir, make_runner

__all__ = [
    "HISTORY_LIMIT",
    "INFRA_TABLE",
    "InfraDrift",
    "InfraOutcome",
    "InfrastructureService",
    "TerraformHook",
    "choose_good",
    "configured_settings",
    "entry_id",
    "find_infrastructure_dir",
    "known_good",
    "last_good",
    "make_runner",
]
