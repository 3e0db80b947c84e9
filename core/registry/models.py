"""The registry's records: they live in core.model.deployment (pure data the screens read); named here too."""

from core.model.deployment import (
    TERMINAL_STATUSES,
    Deployment,
    DeploymentDraft,
    DeploymentStatus,
    EnvironmentName,
    EnvironmentState,
    EventDraft,
    HistoryDraft,
    JsonObject,
    NonEmpty,
    StageRecord,
    StageStatus,
    StepEvent,
    UtcDatetime,
)

__all__ = [
    "TERMINAL_STATUSES",
    "Deployment",
    "DeploymentDraft",
    "DeploymentStatus",
    "EnvironmentName",
    "EnvironmentState",
    "EventDraft",
    "HistoryDraft",
    "JsonObject",
    "NonEmpty",
    "StageRecord",
    "StageStatus",
    "StepEvent",
    "UtcDatetime",
]
