"""Canary: traffic to the new revision in steps, each judged against the stable revision over an analysis window."""

from __future__ import annotations

from core.config.strategies import CanaryStrategy, LoadTest, Probes, StrategySettings
from core.model.plan import Mode, Monitoring, StageKind, Validation
from core.strategies.builder import PlanBuilder
from core.strategies.registry import Strategy

DEFAULT_STEPS = (10, 25, 50, 100)
"""The steps of a canary chosen for one deployment to an environment configured for another strategy."""


class Canary(Strategy[CanaryStrategy]):
    """Steps an operator can take by hand (production) or the judge can take on a pass (auto)."""

    settings = CanaryStrategy
    steppable_by_hand = True

    def traffic_stages(self, plan: PlanBuilder, settings: CanaryStrategy) -> None:
        if plan.first_deploy:
            plan.one_switch(settings.analysis_window_s, replacing=self.kind)
            return
        for percent in settings.steps:
            plan.add(name=f"canary {percent} %", kind=StageKind.SET_TRAFFIC, component="websocket-server",
                     traffic_percent=percent, needs_operator=plan.manual, validation=Validation(judge=True),
                     monitoring=Monitoring(window_s=settings.analysis_window_s, compare_to_stable=percent < 100))

    def settings_like(self, base: StrategySettings, window_s: int) -> CanaryStrategy:
        return CanaryStrategy(steps=list(DEFAULT_STEPS), analysis_window_s=window_s, criteria=base.criteria,
                              triggers=base.triggers)

    def window_s(self, settings: CanaryStrategy) -> int:
        return settings.analysis_window_s

    def default_mode(self, settings: CanaryStrategy) -> Mode:
        return settings.mode

    def load_test(self, settings: CanaryStrategy) -> LoadTest | None:
        return settings.load_test

    def probes(self, settings: CanaryStrategy) -> Probes | None:
        return settings.probes if settings.probes.enabled else None

    def summary(self, settings: CanaryStrategy, *, compact: bool = False) -> str:
        if compact:
            return f"canary {','.join(str(s) for s in settings.steps)} {settings.mode}"
        return f"canary {' → '.join(str(s) for s in settings.steps)}, {settings.mode}"
