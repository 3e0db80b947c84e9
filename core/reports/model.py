"""The typed deployment report: every figure computed once in core, then only rendered (text, JSON, Markdown, HTML)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Tier(StrEnum):
    """DORA performance tier of one figure; NONE when the range holds nothing to measure."""

    ELITE = "elite"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "no data"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeploymentFrequency(_Frozen):
    """fourkeys' bucket (daily, weekly, monthly, yearly) from days with a deployment per ISO week."""

    bucket: str  # "daily" | "weekly" | "monthly" | "yearly" | "none"
    tier: Tier
    deployments: int  # successful change deployments in the range
    deployment_days: int  # distinct UTC days with one
    weeks: int  # ISO weeks the range touches
    median_days_per_week: float
    per_week: float  # deployments / weeks


class LeadTime(_Frozen):
    """Median of (deployment end − commit time) over each component change of a successful deployment."""

    median_seconds: float | None
    bucket: str  # fourkeys: "one day" | "one week" | "one month" | "six months" | "one year" | "none"
    tier: Tier
    samples: int  # component changes measured
    without_commit_time: int  # successful deployments recording no commit time (left out)


class ChangeFailureRate(_Frozen):
    """Changes that failed in production (rolled back, rolled back later, or an incident's suspect) over changes."""

    rate: float | None
    tier: Tier
    failures: int
    changes: int  # change deployments that reached users: succeeded or rolled back
    rolled_back: int  # by the engine during the rollout
    rolled_back_later: int  # succeeded, then a manual rollback of the same component replaced it
    with_incident: int  # succeeded, and an incident names it as suspect (not already counted above)


class TimeToRestore(_Frozen):
    """Median time from a failure to recovery, over engine rollbacks and resolved incidents."""

    median_seconds: float | None
    bucket: str  # fourkeys: "one day" | "one week" | "one month" | "six months" | "one year" | "none"
    tier: Tier
    samples: int
    from_rollbacks: int
    from_incidents: int
    open_incidents: int  # started in the range, not resolved: not measured


class Dora(_Frozen):
    deployment_frequency: DeploymentFrequency
    lead_time: LeadTime
    change_failure_rate: ChangeFailureRate
    time_to_restore: TimeToRestore


class Outcomes(_Frozen):
    """How change deployments in the range ended; rates are over the finished ones that changed something (not the
    cancelled)."""

    total: int
    succeeded: int
    failed: int
    rolled_back: int
    aborted: int
    unfinished: int
    manual_rollbacks: int  # rollback operations (strategy "rollback"), not counted as changes
    success_rate: float | None
    failure_rate: float | None
    rollback_rate: float | None
    cancelled: int = 0  # ended before any change (status cancelled): finished, but neither a change nor a failure


class RollbackCause(_Frozen):
    cause: str  # normalised: "5xx", "latency", "verification failed", "operator: <reason>", ...
    count: int
    share: float  # of all rollbacks in the range
    latest: str  # id of the newest deployment rolled back for it


class DurationTrend(_Frozen):
    """Deployment durations (start to end) of one ISO week, environment and strategy."""

    week: str  # "2026-W05"
    environment: str
    strategy: str
    deployments: int
    median_seconds: float
    p90_seconds: float


class WeeklyCount(_Frozen):
    """Change deployments started in one ISO week, by how they ended (the trend chart's bars)."""

    week: str
    deployments: int
    succeeded: int
    failed: int
    rolled_back: int


class TimelineEntry(_Frozen):
    at: datetime
    ended_at: datetime | None
    kind: str  # "deployment" | "incident"
    id: str
    environment: str
    status: str
    summary: str


class DeploymentReport(_Frozen):
    """Everything `opsconsole report` and the reports screen show, for one range and environment (or all)."""

    start: datetime
    end: datetime
    environment: str | None
    generated_at: datetime
    dora: Dora
    outcomes: Outcomes
    rollback_causes: list[RollbackCause]
    durations: list[DurationTrend]
    weekly: list[WeeklyCount]
    timeline: list[TimelineEntry]  # newest first, at most `timeline_limit` entries
    timeline_total: int
    warnings: list[str]

    @property
    def scope(self) -> str:
        return self.environment or "all environments"
