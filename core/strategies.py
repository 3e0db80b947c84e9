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

from core.config import BlueGreenStrategy, CanaryStrategy, RollingStrategy
from core.model.plan import (
    ANALYSIS_METRICS,
    COMPONENT_ORDER,
    NEW_REVISION_TAG,
    PREVIOUS_REVISION_TAG,
    SCHEMA_VERSION,
    Component,
    DeploymentPlan,
    Mode,
    Monitoring,
    PlanContext,
    PlanError,
    RollbackAction,
    RollbackProcedure,
    Stage,
    StageKind,
    Target,
    Validation,
)

__all__ = [  # the plan model lives in core.model.plan; these names stay importable from here
    "ANALYSIS_METRICS",
    "COMPONENT_ORDER",
    "NEW_REVISION_TAG",
    "PREVIOUS_REVISION_TAG",
    "SCHEMA_VERSION",
    "Component",
    "DeploymentPlan",
    "Mode",
    "Monitoring",
    "PlanContext",
    "PlanError",
    "RollbackAction",
    "RollbackProcedure",
    "Stage",
    "StageKind",
    "Target",
    "Validation",
    "generate_deployment_plan",
]


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
