"""Rolling: traffic to the new revision a batch at a time, each batch verified, with a pause between batches."""

from __future__ import annotations

from core.config.strategies import RollingStrategy, StrategySettings
from core.model.plan import Monitoring, StageKind, Validation
from core.strategies.builder import PlanBuilder
from core.strategies.registry import Strategy

DEFAULT_BATCH_PERCENT = 25
"""The batch of a rolling release chosen for one deployment to an environment configured for another strategy."""
MIN_JUDGED_PAUSE_S = 10
"""A shorter pause is too short a window to judge: the batch is verified, not judged."""


class Rolling(Strategy[RollingStrategy]):
    """Batches of `batch_percent` up to 100 %; a pause of at least MIN_JUDGED_PAUSE_S is judged as a window."""

    settings = RollingStrategy

    def traffic_stages(self, plan: PlanBuilder, settings: RollingStrategy) -> None:
        pause = settings.pause_between_batches_s
        if plan.first_deploy:  # no window of its own to observe the one switch for: its pause, at least a minute
            plan.one_switch(max(pause, 60), replacing=self.kind)
            return
        batches = [*range(settings.batch_percent, 100, settings.batch_percent), 100]
        judged = pause >= MIN_JUDGED_PAUSE_S
        for number, percent in enumerate(batches, start=1):
            last = number == len(batches)
            plan.add(name=f"batch {number} of {len(batches)}: {percent} %", kind=StageKind.SET_TRAFFIC,
                     component="websocket-server", traffic_percent=percent, needs_operator=plan.manual,
                     validation=Validation(checks=tuple(settings.criteria.required_checks), target="tag_url",
                                           judge=judged),
                     monitoring=Monitoring(window_s=pause, compare_to_stable=percent < 100) if judged else None,
                     pause_after_s=0 if last else pause)

    def settings_like(self, base: StrategySettings, window_s: int) -> RollingStrategy:
        return RollingStrategy(batch_percent=DEFAULT_BATCH_PERCENT, pause_between_batches_s=window_s,
                               criteria=base.criteria, triggers=base.triggers)
