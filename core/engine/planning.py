"""From a deploy request to the rollout status the engine starts with: the plan plus what it acts on."""

from __future__ import annotations

from collections.abc import Mapping

from core.config import EnvironmentConfig, StrategySettings
from core.errors import BadInput
from core.model.rollout import Rollout
from core.strategies import NEW_REVISION_TAG, Mode, PlanContext, generate_deployment_plan, strategy_for, window_of

_MODES: dict[str | None, Mode | None] = {None: None, "auto": "auto", "manual": "manual"}


def plan_for(config: EnvironmentConfig, versions: Mapping[str, str], *, stable: str | None,
             strategy: str | None = None, mode: str | None = None) -> Rollout:
    """The environment's strategy (or another kind, with the environment's criteria and triggers)."""
    chosen = config.strategy
    if strategy is not None and strategy != chosen.kind:
        chosen = _other_kind(strategy, config)
    if mode not in _MODES:
        raise BadInput(f"mode must be auto or manual, got {mode!r}")
    context = PlanContext(environment=config.name, service=config.infrastructure.service_name,
                          stable_revision=stable, versions=dict(versions), mode=_MODES[mode])
    plan = generate_deployment_plan(chosen, context)
    return Rollout(plan=plan, service=config.infrastructure.service_name, image=versions.get("websocket-server"),
                   frontend_ref=versions.get("frontend"), frontend_project=config.application.frontend_project,
                   infrastructure_version=versions.get("infrastructure"), stable_revision=stable,
                   new_tag=NEW_REVISION_TAG)


def _other_kind(kind: str, config: EnvironmentConfig) -> StrategySettings:
    """Another kind of strategy for one deployment, keeping the environment's criteria, triggers and window."""
    other: StrategySettings = strategy_for(kind).settings_like(config.strategy, window_of(config.strategy))
    return other  # named: the registry holds strategies of any settings type, this is one of them
