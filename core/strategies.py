"""Deployment plans: a strategy and what is being deployed, turned into the explicit stages the engine runs.

A plan is data (frozen pydantic models, JSON round trip), so the engine can persist it in the registry
before acting and a restarted engine carries on from the same stages. Each stage says what it does,
the new revision's traffic share after it, how it is validated (verification checks and/or the canary
judge), what is monitored and for how long, whether an operator must start it, and how to undo the
release if it fails there. Rollback procedures accumulate: a stage lists everything needed to undo the
release up to that point, newest first (frontend before backend, backend before infrastructure).

Order: infrastructure, then the new revision with no traffic and the frontend build, then their
verification, then the traffic stages of the strategy, then the frontend promotion (once the backend
is healthy at full traffic), then finalize.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from core.config import BlueGreenStrategy, CanaryStrategy, RollbackTriggers, RollingStrategy, ValidationCriteria
from core.config.strategies import CheckName
from core.errors import BadInput

Component = Literal["websocket-server", "frontend", "infrastructure"]
COMPONENT_ORDER: tuple[Component, ...] = ("infrastructure", "websocket-server", "frontend")
Mode = Literal["auto", "manual"]
Target = Literal["tag_url", "preview_url", "production_url"]
NEW_REVISION_TAG = "candidate"
"""Cloud Run tag of the revision being released: it is reachable on its tag URL before it takes traffic."""
PREVIOUS_REVISION_TAG = "previous"
"""Tag the replaced revision keeps after finalize, so a switch-back needs no redeploy."""
ANALYSIS_METRICS = ("request_count", "5xx_rate", "latency_p50", "latency_p99")
SCHEMA_VERSION = 1


class PlanError(BadInput):
    """A plan cannot be made (or read back) from what was given."""


class StageKind(StrEnum):
    APPLY_INFRASTRUCTURE = "apply_infrastructure"
    DEPLOY_REVISION = "deploy_revision"
    DEPLOY_FRONTEND = "deploy_frontend"
    VERIFY = "verify"
    SET_TRAFFIC = "set_traffic"
    OBSERVE = "observe"
    PROMOTE_FRONTEND = "promote_frontend"
    FINALIZE = "finalize"


class RollbackAction(StrEnum):
    NOTHING_SERVED = "nothing_served"
    TRAFFIC_TO_STABLE = "traffic_to_stable"
    NO_PREVIOUS_REVISION = "no_previous_revision"
    FRONTEND_INSTANT_ROLLBACK = "frontend_instant_rollback"
    REAPPLY_INFRASTRUCTURE = "reapply_infrastructure"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Validation(_Model):
    """How a stage is judged: verification checks on a URL, and/or the canary judge on its monitoring window."""

    checks: tuple[CheckName, ...] = ()
    target: Target | None = None
    judge: bool = False
    """Judge the window with core.analysis: against stable while it serves traffic, else on the ceilings."""


class Monitoring(_Model):
    """What is watched during a stage, over which window, and whether stable is the comparison."""

    metrics: tuple[str, ...] = ANALYSIS_METRICS
    window_s: int
    compare_to_stable: bool


class RollbackProcedure(_Model):
    """How to undo one component's part of the release."""

    component: Component
    action: RollbackAction
    description: str
    target_revision: str | None = None
    keep_new_revision_tagged: bool = False


class Stage(_Model):
    name: str
    kind: StageKind
    component: Component | None
    traffic_percent: int | None = None
    """The new revision's share of traffic once this stage is done (None: the stage does not change it)."""
    tag: str | None = None
    """The Cloud Run tag this stage sets: the new revision's when deploying it, the replaced revision's
    when finalizing (so it stays addressable for an instant switch-back)."""
    validation: Validation | None = None
    monitoring: Monitoring | None = None
    needs_operator: bool = False
    """The stage starts only when an operator says so (a manual step)."""
    pause_after_s: int = 0
    rollback: tuple[RollbackProcedure, ...] = ()
    """Everything needed to undo the release if it fails at this stage, newest change first."""


class DeploymentPlan(_Model):
    """Every stage of one deployment, with the criteria and triggers it was planned under."""

    schema_version: int = SCHEMA_VERSION
    environment: str
    service: str
    strategy: Literal["blue-green", "canary", "rolling"]
    mode: Mode
    stable_revision: str | None
    versions: dict[Component, str]
    criteria: ValidationCriteria
    triggers: RollbackTriggers
    stages: tuple[Stage, ...]
    notes: tuple[str, ...] = ()

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise PlanError(f"The plan has no stage named {name!r}.")

    @property
    def traffic_steps(self) -> list[int]:
        """The new revision's traffic share after each traffic stage, in order."""
        return [s.traffic_percent for s in self.stages if s.kind is StageKind.SET_TRAFFIC and s.traffic_percent]

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> DeploymentPlan:
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the plan"
            raise PlanError(f"The stored deployment plan is not valid at {where}: {first['msg']}.") from None


_NAME = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class PlanContext:
    """What is being deployed where: environment, Cloud Run service, current stable revision (None on a first
    deploy), each component's version (image, git ref, ...) and an optional auto/manual override."""

    environment: str
    service: str
    stable_revision: str | None
    versions: Mapping[str, str] = field(default_factory=dict)
    mode: Mode | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.environment or ""):
            raise PlanError(f"The environment name {self.environment!r} is not a lower-case name such as staging.")
        if not _NAME.fullmatch(self.service or ""):
            raise PlanError(f"The Cloud Run service name {self.service!r} is not valid (lower-case letters, "
                            "digits and hyphens, starting with a letter).")
        if self.stable_revision is not None and (not isinstance(self.stable_revision, str)
                                                 or not self.stable_revision.strip()):
            raise PlanError("The stable revision name is empty; pass None for a first deploy.")
        if not self.versions:
            raise PlanError("Nothing to deploy: name at least one component version, e.g. websocket-server=IMAGE.")
        for component, version in self.versions.items():
            if component not in COMPONENT_ORDER:
                raise PlanError(f"Unknown component {component!r}; known: {', '.join(COMPONENT_ORDER)}.")
            if not isinstance(version, str) or not version.strip():
                raise PlanError(f"The version of {component} is empty.")
        if self.mode not in (None, "auto", "manual"):
            raise PlanError(f"The mode must be auto or manual, got {self.mode!r}.")
        object.__setattr__(self, "versions", dict(self.versions))  # a caller's later edits must not change the plan


class _Builder:
    """Appends stages while tracking what each component would need to be undone."""

    def __init__(self, context: PlanContext) -> None:
        self.context = context
        self.stages: list[Stage] = []
        self._undo: dict[Component, RollbackProcedure] = {}

    def undo(self, component: Component, action: RollbackAction) -> None:
        stable = self.context.stable_revision
        descriptions = {
            RollbackAction.NOTHING_SERVED: {
                "websocket-server": "The new revision serves no traffic yet: nothing to undo; it stays tagged "
                                    "for inspection.",
                "frontend": "The new frontend deployment is not promoted: nothing to undo; it stays a preview.",
            }.get(component, "Nothing was changed yet."),
            RollbackAction.TRAFFIC_TO_STABLE: f"Send 100 % of traffic back to {stable}, keeping the new revision "
                                              f"tagged {NEW_REVISION_TAG} for inspection.",
            RollbackAction.NO_PREVIOUS_REVISION: "There is no previous revision to return to (first deploy): keep "
                                                 "serving the new one and fix forward.",
            RollbackAction.FRONTEND_INSTANT_ROLLBACK: "Instant rollback of the frontend to the previous production "
                                                      "deployment on Vercel.",
            RollbackAction.REAPPLY_INFRASTRUCTURE: "Apply the last known good infrastructure configuration.",
        }
        self._undo.pop(component, None)  # re-inserted last: the newest change is undone first
        self._undo[component] = RollbackProcedure(
            component=component, action=action, description=descriptions[action],
            target_revision=stable if action is RollbackAction.TRAFFIC_TO_STABLE else None,
            keep_new_revision_tagged=action is RollbackAction.TRAFFIC_TO_STABLE,
        )

    def traffic_undo(self) -> None:
        if self.context.stable_revision:
            self.undo("websocket-server", RollbackAction.TRAFFIC_TO_STABLE)
        else:
            self.undo("websocket-server", RollbackAction.NO_PREVIOUS_REVISION)

    def add(self, **fields: object) -> None:
        rollback = tuple(reversed(self._undo.values()))
        self.stages.append(Stage.model_validate({**fields, "rollback": rollback}))


def _traffic_stages(builder: _Builder, strategy: BlueGreenStrategy | CanaryStrategy | RollingStrategy,
                    mode: Mode, notes: list[str]) -> None:
    manual = mode == "manual"
    first_deploy = builder.context.stable_revision is None
    builder.traffic_undo()

    def observe(window_s: int) -> None:
        builder.add(name=f"observe for {window_s} s", kind=StageKind.OBSERVE, component="websocket-server",
                    validation=Validation(judge=True),
                    monitoring=Monitoring(window_s=window_s, compare_to_stable=False))

    if first_deploy or isinstance(strategy, BlueGreenStrategy):
        if first_deploy and not isinstance(strategy, BlueGreenStrategy):
            notes.append(f"First deploy: there is no stable revision to split traffic with, so the {strategy.kind} "
                         "steps are replaced by one switch to 100 %.")
        if isinstance(strategy, BlueGreenStrategy):
            window = strategy.observation_window_s
        elif isinstance(strategy, CanaryStrategy):
            window = strategy.analysis_window_s
        else:  # rolling has no observation window of its own: its pause, at least a minute
            window = max(strategy.pause_between_batches_s, 60)
        builder.add(name="switch 100 % to the new revision", kind=StageKind.SET_TRAFFIC, component="websocket-server",
                    traffic_percent=100, needs_operator=manual)
        observe(window)
        return
    if isinstance(strategy, CanaryStrategy):
        for percent in strategy.steps:
            builder.add(name=f"canary {percent} %", kind=StageKind.SET_TRAFFIC, component="websocket-server",
                        traffic_percent=percent, needs_operator=manual, validation=Validation(judge=True),
                        monitoring=Monitoring(window_s=strategy.analysis_window_s, compare_to_stable=percent < 100))
        return
    batches = [*range(strategy.batch_percent, 100, strategy.batch_percent), 100]
    pause = strategy.pause_between_batches_s
    for number, percent in enumerate(batches, start=1):
        last = number == len(batches)
        builder.add(name=f"batch {number} of {len(batches)}: {percent} %", kind=StageKind.SET_TRAFFIC,
                    component="websocket-server", traffic_percent=percent, needs_operator=manual,
                    validation=Validation(checks=tuple(strategy.criteria.required_checks), target="tag_url",
                                          judge=pause >= 10),
                    monitoring=Monitoring(window_s=pause, compare_to_stable=percent < 100) if pause >= 10 else None,
                    pause_after_s=0 if last else pause)


def generate_deployment_plan(strategy: BlueGreenStrategy | CanaryStrategy | RollingStrategy,
                             context: PlanContext) -> DeploymentPlan:
    """The stages that take `context.versions` to `context.environment` under `strategy` (see the module doc)."""
    if not isinstance(strategy, BlueGreenStrategy | CanaryStrategy | RollingStrategy):
        raise PlanError(
            f"Cannot plan with {type(strategy).__name__}: expected a blue-green, canary or rolling strategy."
        )
    default_mode: Mode = strategy.mode if isinstance(strategy, CanaryStrategy) else "auto"
    mode: Mode = context.mode or default_mode
    manual = mode == "manual"
    versions = context.versions
    builder = _Builder(context)
    notes: list[str] = []
    checks = tuple(strategy.criteria.required_checks)

    if "infrastructure" in versions:
        builder.undo("infrastructure", RollbackAction.REAPPLY_INFRASTRUCTURE)
        builder.add(name="apply infrastructure", kind=StageKind.APPLY_INFRASTRUCTURE, component="infrastructure",
                    needs_operator=manual)
    if "websocket-server" in versions:
        builder.undo("websocket-server", RollbackAction.NOTHING_SERVED)
        builder.add(name="deploy websocket-server", kind=StageKind.DEPLOY_REVISION, component="websocket-server",
                    traffic_percent=0, tag=NEW_REVISION_TAG)
    if "frontend" in versions:
        builder.undo("frontend", RollbackAction.NOTHING_SERVED)
        builder.add(name="deploy frontend", kind=StageKind.DEPLOY_FRONTEND, component="frontend")
    if "websocket-server" in versions:
        builder.add(name="verify websocket-server on its tag URL", kind=StageKind.VERIFY,
                    component="websocket-server", validation=Validation(checks=checks, target="tag_url"))
    if "frontend" in versions:
        builder.add(name="verify frontend preview", kind=StageKind.VERIFY, component="frontend",
                    validation=Validation(checks=("health",), target="preview_url"))
    if "websocket-server" in versions:
        _traffic_stages(builder, strategy, mode, notes)
    if "frontend" in versions:
        builder.undo("frontend", RollbackAction.FRONTEND_INSTANT_ROLLBACK)
        builder.add(name="promote frontend", kind=StageKind.PROMOTE_FRONTEND, component="frontend",
                    needs_operator=manual)
        builder.add(name="verify frontend in production", kind=StageKind.VERIFY, component="frontend",
                    validation=Validation(checks=("health",), target="production_url"))
    keep = not isinstance(strategy, BlueGreenStrategy) or strategy.keep_previous_addressable
    builder.add(name="finalize", kind=StageKind.FINALIZE, component=None,
                tag=PREVIOUS_REVISION_TAG if keep and context.stable_revision and "websocket-server" in versions
                else None)
    return DeploymentPlan(
        environment=context.environment, service=context.service, strategy=strategy.kind, mode=mode,
        stable_revision=context.stable_revision,
        versions={c: versions[c] for c in COMPONENT_ORDER if c in versions},
        criteria=strategy.criteria, triggers=strategy.triggers, stages=tuple(builder.stages), notes=tuple(notes),
    )
