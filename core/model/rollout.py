"""The persisted status of one rollout, and the decisions read off it: is the judge watching, what serves, what next.

Like Argo Rollouts' status: the plan, the current stage index, the stable and new revisions, the
weight, pause and abort requests, the approval, the analysis windows of the current step, the last
verification and any recorded override. It lives in the registry under `metadata["rollout"]` and
is rewritten (atomically, by the registry) after every step, so no process memory is ever needed.

The rules the engine, the CLI and the console all need (which step a promote lets run, whether the
judge holds the current step, which revision serves) are written here once; nobody else re-derives them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.analysis import DEFAULT_SETTINGS, Action, AnalysisHistory, JudgeSettings
from core.model.deployment import Deployment
from core.model.plan import DeploymentPlan, Stage, StageKind
from core.model.service import serving_revision

STABLE_TAG = "stable"
"""The Cloud Run tag on the revision serving as stable: addressable on its own URL during and after a rollout."""


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
    settling: dict[str, Any] | None = None  # the last read of a window waiting for Monitoring to settle (steps.settle)
    analysis: dict[str, Any] = Field(default_factory=dict)  # AnalysisHistory.to_dict() of this step
    verdicts: list[dict[str, Any]] = Field(default_factory=list)  # every judged window, for the screens
    undecided_told: int = -1  # the last stage whose undecided judge the operator was told about
    load_until: str | None = None  # synthetic load (strategy.load_test) has been asked for until this time
    load_failed: bool = False  # the last request for synthetic load failed (said once, not every window)
    probes: dict[str, Any] = Field(default_factory=dict)  # the probe stream of this weight (core.engine.steps.probes)
    verification: dict[str, Any] | None = None
    verification_failed: bool = False
    overrides: list[dict[str, Any]] = Field(default_factory=list)
    waiting_for: str = ""  # what the deployment waits on, in one sentence ("" when it is moving)
    waits_for_person: bool = False  # ... and it is a person's step (approve, promote, resume), not time or a judge

    @property
    def needs_driver(self) -> bool:
        """Whether the deployment moves on by itself when some console drives it (else it waits for a person)."""
        return not self.waits_for_person

    @property
    def mode(self) -> str:
        return self.plan.mode

    @property
    def current(self) -> Stage | None:
        return self.plan.stages[self.stage] if self.stage < len(self.plan.stages) else None

    # -- the judge -----------------------------------------------------------------------------------

    @property
    def judging(self) -> bool:
        """The canary judge watches the current step now: it is a judged step and the new revision takes traffic.

        A traffic step is watched once its own weight is in place; an observation step (blue-green's, or a
        first deploy's) watches the weight the step before it put in place. While judging, pausing holds the
        step but never stops the judge: a proven regression still rolls back.
        """
        stage = self.current
        if stage is None or stage.validation is None or not stage.validation.judge or self.weight <= 0:
            return False
        if stage.kind is StageKind.OBSERVE:
            return True
        return stage.kind is StageKind.SET_TRAFFIC and stage.monitoring is not None \
            and self.routed_stage == self.stage

    @property
    def settling_note(self) -> str:
        """What the judge waits for while a window's Monitoring data settles ("" when it does not wait for that)."""
        return self.waiting_for if self.settling is not None and self.judging else ""

    def judge_settings(self) -> JudgeSettings:
        """The judge's settings for this deployment: its error budgets shared among the stages it judges."""
        return DEFAULT_SETTINGS.per_step(sum(1 for stage in self.plan.stages if stage.monitoring is not None))

    def history(self, window_s: float | None = None) -> AnalysisHistory:
        """The current step's judged windows, as the judge reads them; with `window_s`, the length of the windows
        judged (the metrics provider's: whole minutes on Google Cloud), the plan counted in them."""
        settings = self.judge_settings()
        return AnalysisHistory.from_dict(self.analysis, self.plan.criteria, self.plan.triggers,
                                         settings=settings.for_window(window_s) if window_s else settings)

    def decision(self) -> tuple[Action, str] | None:
        """The judge's decision on the current step (action, explanation), or None while it is not judging.

        Read from the verdict recorded with the step's last judged window, which is exactly what the judge
        decided then, instead of replaying every window: the console asks on each refresh and keypress.
        """
        if not self.judging:
            return None
        if self.analysis.get("windows") and self.verdicts:
            last = self.verdicts[-1]
            return Action(last["action"]), str(last["decision"])
        judged = self.history().decision()  # no window of this step yet: an empty history, cheap
        return judged.action, judged.explanation

    # -- traffic -------------------------------------------------------------------------------------

    def split(self, percent: int) -> dict[str, int]:
        """The traffic split that puts `percent` on the new revision and the rest on stable."""
        if not self.new_revision:
            return {self.stable_revision: 100} if self.stable_revision else {}
        if percent >= 100 or not self.stable_revision:
            return {self.new_revision: 100}
        if percent <= 0:
            return {self.stable_revision: 100}
        return {self.new_revision: percent, self.stable_revision: 100 - percent}

    def tags(self) -> dict[str, str | None]:
        """The tags a rollout keeps on Cloud Run: the new revision's, and stable's until the new one is promoted."""
        tags: dict[str, str | None] = {}
        if self.new_tag and self.new_revision:
            tags[self.new_tag] = self.new_revision
        if self.stable_revision:
            tags[STABLE_TAG] = self.stable_revision
        return tags

    @property
    def serving_revision(self) -> str | None:
        """The revision serving most of the traffic as this rollout has routed it."""
        return serving_revision(self.split(self.weight))

    # -- the operator --------------------------------------------------------------------------------

    def next_operator_stage(self) -> int | None:
        """The first stage from here that waits for the operator and is not yet allowed to run."""
        for index in range(max(self.stage, self.approved_through + 1), len(self.plan.stages)):
            if self.plan.stages[index].needs_operator:
                return index
        return None

    @property
    def verification_blocks(self) -> bool:
        """A failed verification stops the rollout until someone overrides it (or rolls back)."""
        return self.verification_failed and not self.overridden("verification")

    def next_step(self) -> int | None:
        """The stage a promote lets run: the next one waiting for the operator; else, where the rollout is held
        (by a failed verification, or by the judge on an automatic step), the one after it."""
        waiting = self.next_operator_stage()
        if waiting is not None:
            return waiting
        if self.verification_blocks:
            return self.stage
        if self.judging:
            return self.stage + 1  # an auto step that the judge holds: only an override moves it on
        return None

    def step_name(self, index: int) -> str:
        """A stage by index, as an operator reads it ('canary 25 %'); past the end, the last one."""
        return self.plan.stages[min(index, len(self.plan.stages) - 1)].name

    def promotion_blockers(self) -> list[tuple[str, str]]:
        """What a promote would have to override, as (what, why): a failed verification, a judge that holds."""
        blockers = []
        if self.verification_blocks:
            summary = (self.verification or {}).get("summary", "")
            blockers.append(("verification", f"verification failed: {summary}"))
        decision = self.decision()
        if decision is not None and decision[0] is not Action.PROMOTE_ALLOWED \
                and not self.overridden(f"analysis@{self.stage}"):
            blockers.append((f"analysis@{self.stage}", decision[1]))
        return blockers

    def overridden(self, what: str) -> bool:
        return any(o.get("what") == what for o in self.overrides)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def of(cls, deployment: Deployment) -> Rollout:
        return cls.model_validate(deployment.metadata["rollout"])
