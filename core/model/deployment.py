"""What the registry records, as pure data: deployments, their stages and step events, environments."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, StringConstraints


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is a valid time whose UTC is not a datetime
        raise ValueError("is outside the calendar once converted to UTC") from None


# Every stored moment is time-zone aware and kept in UTC, so ids, files and reports agree.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
EnvironmentName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# JsonValue (not Any) so that metadata can always be written to disk, and so that validation copies it:
# a caller mutating a returned model can never change the registry's cached state.
JsonObject = dict[str, JsonValue]


class DeploymentStatus(StrEnum):
    """Where a deployment is in its life; the last five are terminal.

    CANCELLED: ended before anything was sent to the cloud for it (no write-ahead intent in its log), e.g. a
    production deployment rolled back while it waited for approval. It changed nothing, so it is not a change
    that failed (the reports leave it out of the change failure rate, as fourkeys counts only deployments).
    """

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"
    CANCELLED = "cancelled"


TERMINAL_STATUSES: frozenset[DeploymentStatus] = frozenset(
    {
        DeploymentStatus.SUCCEEDED,
        DeploymentStatus.FAILED,
        DeploymentStatus.ROLLED_BACK,
        DeploymentStatus.ABORTED,
        DeploymentStatus.CANCELLED,
    }
)


class StageStatus(StrEnum):
    """Where one stage of a deployment plan is."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class StageRecord(BaseModel):
    """One stage of a deployment's plan (e.g. "canary 25%") as it was carried out."""

    model_config = ConfigDict(extra="forbid")

    name: NonEmpty
    status: StageStatus = StageStatus.PENDING
    started_at: UtcDatetime | None = None
    ended_at: UtcDatetime | None = None
    detail: JsonObject = Field(default_factory=dict)


class Deployment(BaseModel):
    """One deployment of one or more components to an environment."""

    id: str
    environment: EnvironmentName
    versions: Annotated[dict[NonEmpty, NonEmpty], Field(min_length=1)]
    status: DeploymentStatus
    strategy: NonEmpty
    actor: NonEmpty
    started_at: UtcDatetime
    ended_at: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    stages: list[StageRecord] = Field(default_factory=list)
    rollback_cause: str | None = None
    metadata: JsonObject = Field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        """Whether the deployment has finished (and is therefore final)."""
        return self.status in TERMINAL_STATUSES


class DeploymentDraft(BaseModel):
    """What a caller supplies to register a deployment; the registry adds id and timestamps."""

    model_config = ConfigDict(extra="forbid")

    environment: EnvironmentName
    versions: Annotated[dict[NonEmpty, NonEmpty], Field(min_length=1)]
    status: DeploymentStatus = DeploymentStatus.PENDING
    strategy: NonEmpty
    actor: NonEmpty
    started_at: UtcDatetime | None = None
    ended_at: UtcDatetime | None = None
    stages: list[StageRecord] = Field(default_factory=list)
    rollback_cause: str | None = None
    metadata: JsonObject = Field(default_factory=dict)


class EventDraft(BaseModel):
    """A step event of an imported (historical) deployment; ``at`` defaults to its start."""

    model_config = ConfigDict(extra="forbid")

    kind: NonEmpty
    action: NonEmpty
    actor: NonEmpty
    at: UtcDatetime | None = None
    detail: JsonObject = Field(default_factory=dict)


class HistoryDraft(DeploymentDraft):
    """A finished deployment imported from elsewhere, with its step events."""

    events: list[EventDraft] = Field(default_factory=list)


class StepEvent(BaseModel):
    """One append-only entry of a deployment's step log (intent, done, failed, note...)."""

    deployment_id: str
    seq: Annotated[int, Field(ge=1)]
    at: UtcDatetime
    kind: NonEmpty
    action: NonEmpty
    actor: NonEmpty
    detail: JsonObject = Field(default_factory=dict)


class EnvironmentState(BaseModel):
    """What an environment looks like now, built from the hot registry file only.

    ``last`` is the newest finished deployment (by id); ``active`` lists unfinished ones, newest first;
    ``current_versions`` maps each component to the version of the deployment that most recently
    succeeded with it; ``statistics`` counts deployments in total and by current status.
    """

    name: EnvironmentName
    active: list[Deployment] = Field(default_factory=list)
    current_versions: dict[str, str] = Field(default_factory=dict)
    health: str = "unknown"
    last: Deployment | None = None
    statistics: dict[str, int] = Field(default_factory=dict)
