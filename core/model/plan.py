"""A deployment plan as data: its stages, how each is validated, monitored and undone, and what it was made from.

Frozen pydantic models with a JSON round trip, so the engine persists a plan in the registry before acting
and a restarted engine carries on from the same stages. Pure: no I/O, nothing from the engine or providers;
core.strategies turns a strategy and a PlanContext into one of these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from core.config.strategies import STRATEGY_KINDS, CheckName, RollbackTriggers, ValidationCriteria
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


def _registered_kind(value: object) -> str:
    """A registered strategy kind, refused in the words pydantic uses for a Literal of them."""
    if isinstance(value, str) and value in STRATEGY_KINDS:
        return value
    quoted = [repr(kind) for kind in STRATEGY_KINDS]
    expected = f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)
    raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})


StrategyKind = Annotated[str, PlainValidator(_registered_kind)]
"""The kind of a registered strategy (core.strategies), as a plan records it."""


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
    strategy: StrategyKind
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
