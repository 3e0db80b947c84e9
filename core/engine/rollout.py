"""The persisted status of one rollout: everything a restarted engine needs, kept in the deployment record.

Like Argo Rollouts' status: the plan, the current stage index, the stable and new revisions, the
weight, pause and abort requests, the approval, the analysis windows of the current step, the last
verification and any recorded override. It lives in the registry under `metadata["rollout"]` and
is rewritten (atomically, by the registry) after every step, so no process memory is ever needed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.analysis import DEFAULT_SETTINGS, JudgeSettings
from core.registry import Deployment
from core.strategies import DeploymentPlan, Stage


class Rollout(BaseModel):
    model_config = ConfigDict(extra="ignore")

    plan: DeploymentPlan
    stage: int = 0
    service: str = ""
    image: str | None = None
    frontend_ref: str | None = None
    frontend_project: str = ""
    infrastructure_version: str | None = None
    stable_revision: str | None = None
    new_revision: str | None = None
    new_tag: str | None = None
    weight: int = 0
    routed_stage: int = -1  # the last stage whose traffic was put in place
    routed_at: str | None = None
    verified_stage: int = -1  # the last stage whose verification ran
    frontend_previous: str | None = None
    frontend_new: str | None = None
    frontend_promoted: bool = False
    paused: bool = False
    approval: dict[str, Any] | None = None  # {"actor", "at"} for environments that require one
    approved_through: int = -1  # the operator has allowed every stage up to this index to run
    manual_weight: int | None = None  # a weight the operator set by hand, applied on the next tick
    abort: dict[str, Any] | None = None  # {"cause", "actor"}: roll back on the next tick
    window_start: str | None = None
    analysis: dict[str, Any] = Field(default_factory=dict)  # AnalysisHistory.to_dict() of this step
    verdicts: list[dict[str, Any]] = Field(default_factory=list)  # every judged window, for the screens
    undecided_told: int = -1  # the last stage whose undecided judge the operator was told about
    load_until: str | None = None  # synthetic load (strategy.load_test) has been asked for until this time
    load_failed: bool = False  # the last request for synthetic load failed (said once, not every window)
    verification: dict[str, Any] | None = None
    verification_failed: bool = False
    overrides: list[dict[str, Any]] = Field(default_factory=list)
    waiting_for: str = ""  # what the deployment waits on, in one sentence ("" when it is moving)

    @property
    def mode(self) -> str:
        return self.plan.mode

    @property
    def current(self) -> Stage | None:
        return self.plan.stages[self.stage] if self.stage < len(self.plan.stages) else None

    def next_operator_stage(self) -> int | None:
        """The first stage from here that waits for the operator and is not yet allowed to run."""
        for index in range(max(self.stage, self.approved_through + 1), len(self.plan.stages)):
            if self.plan.stages[index].needs_operator:
                return index
        return None

    def overridden(self, what: str) -> bool:
        return any(o.get("what") == what for o in self.overrides)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def of(cls, deployment: Deployment) -> Rollout:
        return cls.model_validate(deployment.metadata["rollout"])


def judge_settings(rollout: Rollout) -> JudgeSettings:
    """The judge's settings for this deployment: its error budgets shared among the stages it judges."""
    return DEFAULT_SETTINGS.per_step(sum(1 for stage in rollout.plan.stages if stage.monitoring is not None))
