"""From a deploy request to the rollout status the engine starts with: the plan plus what it acts on."""

from __future__ import annotations

from collections.abc import Mapping

from core.config import BlueGreenStrategy, CanaryStrategy, EnvironmentConfig, RollingStrategy
from core.errors import BadInput
from core.model.rollout import Rollout
from core.strategies import NEW_REVISION_TAG, PlanContext, generate_deployment_plan


def plan_for(config: EnvironmentConfig, versions: Mapping[str, str], *, stable: str | None,
             strategy: str | None = None, mode: str | None = None) -> Rollout:
    """The environment's strategy (or another kind, with the environment's criteria and triggers)."""
    chosen = config.strategy
    if strategy is not None and strategy != chosen.kind:
        chosen = _other_kind(strategy, config)
    if mode not in (None, "auto", "manual"):
        raise BadInput(f"mode must be auto or manual, got {mode!r}")
    context = PlanContext(environment=config.name, service=config.infrastructure.service_name,
                          stable_revision=stable, versions=dict(versions), mode=mode)  # type: ignore[arg-type]
    plan = generate_deployment_plan(chosen, context)
    return Rollout(plan=plan, service=config.infrastructure.service_name, image=versions.get("websocket-server"),
                   frontend_ref=versions.get("frontend"), frontend_project=config.application.frontend_project,
                   infrastructure_version=versions.get("infrastructure"), stable_revision=stable,
                   new_tag=NEW_REVISION_TAG)


def _other_kind(kind: str, config: EnvironmentConfig) -> BlueGreenStrategy | CanaryStrategy | RollingStrategy:
    """Another kind of strategy for one deployment, keeping the environment's criteria, triggers and window."""
    base = config.strategy
    window = getattr(base, "analysis_window_s", None) or getattr(base, "observation_window_s", None) or 300
    shared = {"criteria": base.criteria, "triggers": base.triggers}
    if kind == "blue-green":
        return BlueGreenStrategy(observation_window_s=window, **shared)
    if kind == "canary":
        return CanaryStrategy(steps=[10, 25, 50, 100], analysis_window_s=window, **shared)
    if kind == "rolling":
        return RollingStrategy(batch_percent=25, pause_between_batches_s=window, **shared)
    raise BadInput(f"unknown strategy {kind!r}; choose blue-green, canary or rolling")
