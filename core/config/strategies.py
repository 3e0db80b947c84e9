"""How a release reaches an environment: each strategy's settings (blue-green, canary, rolling), registered by
kind, with the acceptance criteria and the triggers that roll it back.

The criteria decide whether a new revision passes verification; the triggers decide when an
in-flight release is abandoned. Their defaults are the AI Agent Network's. The `strategy` table of an
environment is a union on `kind` built from the registered settings models, so a new strategy's settings
are accepted (and its errors explained) once its model is registered; core.strategies plans with them.
"""

from __future__ import annotations

import itertools
from collections.abc import KeysView
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, Field, GetCoreSchemaHandler, field_validator, model_validator
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from core.config.base import FrozenModel, rule_error

CheckName = Literal["health", "websocket", "smoke", "error_rate", "integration", "security"]
CHECKS: tuple[CheckName, ...] = ("health", "websocket", "smoke", "error_rate", "integration", "security")

WindowSeconds = Annotated[int, Field(ge=10, le=86400)]


class ValidationCriteria(FrozenModel):
    """What a new revision must show before it takes (more) traffic."""

    max_5xx_rate: float = Field(default=0.01, ge=0, le=1, description="share of requests, 0..1")
    max_p99_latency_ms: float = Field(default=1000.0, gt=0, le=60000)
    max_p99_ratio_to_stable: float = Field(default=1.5, ge=1, le=10)
    min_requests_per_window: int = Field(default=50, ge=0)
    required_checks: list[CheckName] = Field(default_factory=lambda: list[CheckName](["health"]))

    @field_validator("required_checks")
    @classmethod
    def _no_duplicates(cls, checks: list[CheckName]) -> list[CheckName]:
        seen: set[str] = set()
        for check in checks:
            if check in seen:
                raise PydanticCustomError("duplicate", "lists {check} more than once", {"check": check})
            seen.add(check)
        return checks


class RollbackTriggers(FrozenModel):
    """When an in-flight release is rolled back without waiting for a person."""

    on_failed_verification: bool = True
    error_rate: float = Field(default=0.05, ge=0, le=1, description="5xx share that triggers a rollback")
    latency_degradation_ratio: float = Field(default=2.0, gt=1, le=10, description="p99 new / p99 stable")
    consecutive_failed_windows: int = Field(default=2, ge=1, le=20)


class StrategySettings(FrozenModel):
    """What every strategy's settings share; each subclass fixes `kind` with a Literal default and is registered."""

    criteria: ValidationCriteria = Field(default_factory=ValidationCriteria)
    triggers: RollbackTriggers = Field(default_factory=RollbackTriggers)
    kind: str  # after criteria and triggers: a subclass's Literal keeps this place, so dumps list fields as before

    @model_validator(mode="after")
    def _trigger_above_criteria(self) -> StrategySettings:
        if self.triggers.error_rate < self.criteria.max_5xx_rate:
            message = (
                f"the rollback error_rate {self.triggers.error_rate} is below the criteria's max_5xx_rate "
                f"{self.criteria.max_5xx_rate}, so a release that passes verification would be rolled back"
            )
            raise rule_error([(("triggers.error_rate", "criteria.max_5xx_rate"), message)])
        return self


Settings = TypeVar("Settings", bound=StrategySettings)

STRATEGY_CLASSES: dict[str, type[StrategySettings]] = {}
"""Each strategy kind and the model of its settings, in the order they were registered."""
STRATEGY_KINDS: KeysView[str] = STRATEGY_CLASSES.keys()
"""The registered kinds; a live view, so a kind registered after import is listed too."""
_EMBEDDERS: list[type[BaseModel]] = []


def register_settings(model: type[Settings]) -> type[Settings]:
    """Accept `model` as the settings of its kind in every environment's `strategy` table (a class decorator)."""
    field = model.model_fields["kind"]
    kind = field.default
    if not isinstance(kind, str) or get_args(field.annotation) != (kind,):
        raise TypeError(f"{model.__name__} must fix its kind, e.g. kind: Literal['canary'] = 'canary'")
    if STRATEGY_CLASSES.setdefault(kind, model) is not model:
        raise ValueError(f"the strategy kind {kind!r} is already registered, by {STRATEGY_CLASSES[kind].__name__}")
    _rebuild_embedders()
    return model


def unregister_settings(kind: str) -> None:
    """Stop accepting `kind` (a strategy removed at run time, e.g. by a test that added one)."""
    if STRATEGY_CLASSES.pop(kind, None) is not None:
        _rebuild_embedders()


def embeds_strategy(*models: type[BaseModel]) -> None:
    """Models whose schema holds DeploymentStrategy, innermost first: rebuilt when the registered kinds change.

    Pydantic builds a model's validator once, from the union as it was then; the built-in kinds are all
    registered before any embedder exists, so only a kind registered later costs a rebuild.
    """
    _EMBEDDERS.extend(models)


def _rebuild_embedders() -> None:
    for model in _EMBEDDERS:
        model.model_rebuild(force=True)


class _RegisteredKinds:
    """The union on `kind` of the registered settings models, made when a model using it is built."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        # The tagged union pydantic makes for Field(discriminator="kind"), from a list known only at run time.
        choices = {kind: handler.generate_schema(model) for kind, model in STRATEGY_CLASSES.items()}
        return core_schema.tagged_union_schema(choices, discriminator="kind")


DeploymentStrategy = Annotated[StrategySettings, _RegisteredKinds()]
"""A strategy's settings, chosen by their `kind` key (the seed's name for it) among the registered kinds."""


class Probes(FrozenModel):
    """The engine's own bursts of real requests to the new and the stable revision's tag URLs, one per window.

    A second evidence stream beside Cloud Monitoring, which on Google Cloud serves a window a minute or more
    after it ends (core.engine.steps.probes): a proven regression in the probes rolls back, but only
    Monitoring's users' traffic lets a step pass, since probes are synthetic and few.
    """

    enabled: bool = True
    # 50, the criteria's default min_requests_per_window: one burst is judged in full, not only sequentially.
    requests: int = Field(default=50, ge=2, le=500,
                          description="GETs sent to EACH of the new and the stable revision's tag URL per window")
    timeout_s: float = Field(default=2.0, gt=0, le=30, description="seconds one probe may take before it fails")


@register_settings
class BlueGreenStrategy(StrategySettings):
    """Deploy beside the live revision, verify it, switch all traffic at once, keep the old one ready."""

    kind: Literal["blue-green"] = "blue-green"
    observation_window_s: WindowSeconds
    keep_previous_addressable: bool = True
    probes: Probes = Field(default_factory=Probes)


class LoadTest(FrozenModel):
    """Synthetic requests during canary analysis, through a Flagger-style load tester (its webhook runs `hey`).

    A quiet service gives a 10 % step too few requests to judge within a window or two; the same rate sent to
    the canary's and the stable revision's own URLs adds evidence on both sides, so the comparison stays fair.
    """

    rps: float = Field(gt=0, le=1000, description="requests per second sent to EACH of the canary and stable revision")
    url: str = Field(default="", description="the load tester's webhook; empty: the sandbox's own")


@register_settings
class CanaryStrategy(StrategySettings):
    """Move traffic to the new revision in steps (percent), judging it against the stable one each time."""

    kind: Literal["canary"] = "canary"
    steps: list[int]
    analysis_window_s: WindowSeconds
    mode: Literal["manual", "auto"] = "manual"
    load_test: LoadTest | None = None
    probes: Probes = Field(default_factory=Probes)

    @field_validator("steps")
    @classmethod
    def _steps_reach_100(cls, steps: list[int]) -> list[int]:
        if not steps:
            raise PydanticCustomError("canary_steps", "must list at least one traffic percentage, ending at 100")
        for step in steps:
            if not 1 <= step <= 100:
                raise PydanticCustomError(
                    "canary_steps",
                    "each step is a traffic percentage from 1 to 100, got {step}",
                    {"step": step},
                )
        for before, after in itertools.pairwise(steps):
            if after <= before:
                raise PydanticCustomError(
                    "canary_steps",
                    "must be strictly increasing, but {after} follows {before}",
                    {"after": after, "before": before},
                )
        if steps[-1] != 100:
            raise PydanticCustomError(
                "canary_steps",
                "must end at 100 so the release finishes with all traffic, got {last}",
                {"last": steps[-1]},
            )
        return steps


@register_settings
class RollingStrategy(StrategySettings):
    """Replace instances a batch at a time."""

    kind: Literal["rolling"] = "rolling"
    batch_percent: int = Field(ge=1, le=100)
    pause_between_batches_s: int = Field(ge=0, le=86400)
