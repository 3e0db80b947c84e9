"""The crash-safe deployment registry: a TinyDB hot file of active work plus monthly JSON Lines archives."""

from core.config.registry_location import PostgresLocation, registry_location
from core.registry.errors import (
    DeploymentFinished,
    RegistryCorrupt,
    RegistryLocked,
    RegistryRecordDamaged,
    RegistrySchemaTooNew,
    RegistryUnavailable,
    UnknownDeployment,
)
from core.registry.ids import is_deployment_id, month_of, new_deployment_id, started_at_of
from core.registry.models import (
    TERMINAL_STATUSES,
    Deployment,
    DeploymentStatus,
    EnvironmentState,
    StageRecord,
    StageStatus,
    StepEvent,
)
from core.registry.open import open_registry
from core.registry.protocol import Lease, Registry
from core.registry.registry import DeploymentRegistry, archive_dir_for, default_registry_path
from core.registry.storage import SCHEMA_VERSION, AtomicJSONStorage

__all__ = [
    "SCHEMA_VERSION",
    "TERMINAL_STATUSES",
    "AtomicJSONStorage",
    "Deployment",
    "DeploymentFinished",
    "DeploymentRegistry",
    "DeploymentStatus",
    "EnvironmentState",
    "Lease",
    "PostgresLocation",
    "Registry",
    "RegistryCorrupt",
    "RegistryLocked",
    "RegistryRecordDamaged",
    "RegistrySchemaTooNew",
    "RegistryUnavailable",
    "StageRecord",
    "StageStatus",
    "StepEvent",
    "UnknownDeployment",
    "archive_dir_for",
    "default_registry_path",
    "is_deployment_id",
    "month_of",
    "new_deployment_id",
    "open_registry",
    "registry_location",
    "started_at_of",
]
