"""A deployment plan from a strategy's settings and what is being deployed: the stages every strategy shares,
with the strategy's own traffic stages in the middle.

Order: infrastructure, then the new revision with no traffic and the frontend build, then their
verification, then the traffic stages of the strategy, then the frontend promotion (once the backend
is healthy at full traffic), then finalize.
"""

from __future__ import annotations

from core.config.strategies import StrategySettings
from core.model.plan import (
    COMPONENT_ORDER,
    NEW_REVISION_TAG,
    PREVIOUS_REVISION_TAG,
    DeploymentPlan,
    Mode,
    PlanContext,
    RollbackAction,
    StageKind,
    Validation,
)
from core.strategies.builder import PlanBuilder
from core.strategies.registry import strategy_of


def generate_deployment_plan(settings: StrategySettings, context: PlanContext) -> DeploymentPlan:
    """The stages that take `context.versions` to `context.environment` under the strategy these `settings`
    are for (see the module doc); PlanError when they are no registered strategy's settings."""
    strategy = strategy_of(settings)
    mode: Mode = context.mode or strategy.default_mode(settings)
    versions = context.versions
    plan = PlanBuilder(context, mode)
    checks = tuple(settings.criteria.required_checks)

    if "infrastructure" in versions:
        plan.undo("infrastructure", RollbackAction.REAPPLY_INFRASTRUCTURE)
        plan.add(name="apply infrastructure", kind=StageKind.APPLY_INFRASTRUCTURE, component="infrastructure",
                 needs_operator=plan.manual)
    if "websocket-server" in versions:
        plan.undo("websocket-server", RollbackAction.NOTHING_SERVED)
        plan.add(name="deploy websocket-server", kind=StageKind.DEPLOY_REVISION, component="websocket-server",
                 traffic_percent=0, tag=NEW_REVISION_TAG)
    if "frontend" in versions:
        plan.undo("frontend", RollbackAction.NOTHING_SERVED)
        plan.add(name="deploy frontend", kind=StageKind.DEPLOY_FRONTEND, component="frontend")
    if "websocket-server" in versions:
        plan.add(name="verify websocket-server on its tag URL", kind=StageKind.VERIFY,
                 component="websocket-server", validation=Validation(checks=checks, target="tag_url"))
    if "frontend" in versions:
        plan.add(name="verify frontend preview", kind=StageKind.VERIFY, component="frontend",
                 validation=Validation(checks=("health",), target="preview_url"))
    if "websocket-server" in versions:
        plan.traffic_undo()
        strategy.traffic_stages(plan, settings)
    if "frontend" in versions:
        plan.undo("frontend", RollbackAction.FRONTEND_INSTANT_ROLLBACK)
        plan.add(name="promote frontend", kind=StageKind.PROMOTE_FRONTEND, component="frontend",
                 needs_operator=plan.manual)
        plan.add(name="verify frontend in production", kind=StageKind.VERIFY, component="frontend",
                 validation=Validation(checks=("health",), target="production_url"))
    keep = strategy.keeps_previous_addressable(settings)
    plan.add(name="finalize", kind=StageKind.FINALIZE, component=None,
             tag=PREVIOUS_REVISION_TAG if keep and context.stable_revision and "websocket-server" in versions
             else None)
    return DeploymentPlan(
        environment=context.environment, service=context.service, strategy=strategy.kind, mode=mode,
        stable_revision=context.stable_revision,
        versions={c: versions[c] for c in COMPONENT_ORDER if c in versions},
        criteria=settings.criteria, triggers=settings.triggers, stages=tuple(plan.stages), notes=tuple(plan.notes),
    )
