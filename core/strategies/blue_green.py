"""Blue-green: the new revision beside the live one, verified, then all traffic at once; the old one kept ready."""

from __future__ import annotations

from core.config.strategies import BlueGreenStrategy, Probes, StrategySettings
from core.strategies.builder import PlanBuilder
from core.strategies.registry import Strategy


class BlueGreen(Strategy[BlueGreenStrategy]):
    """One switch to 100 %, then an observation window judged on the ceilings."""

    settings = BlueGreenStrategy

    def traffic_stages(self, plan: PlanBuilder, settings: BlueGreenStrategy) -> None:
        plan.one_switch(settings.observation_window_s)  # a first deploy changes nothing: it is one switch anyway

    def settings_like(self, base: StrategySettings, window_s: int) -> BlueGreenStrategy:
        return BlueGreenStrategy(observation_window_s=window_s, criteria=base.criteria, triggers=base.triggers)

    def window_s(self, settings: BlueGreenStrategy) -> int:
        return settings.observation_window_s

    def keeps_previous_addressable(self, settings: BlueGreenStrategy) -> bool:
        return settings.keep_previous_addressable

    def probes(self, settings: BlueGreenStrategy) -> Probes | None:
        return settings.probes if settings.probes.enabled else None
