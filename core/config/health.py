"""An environment's `[environments.X.health]` section: the limits live health is judged against.

`page_at` says which state pages PagerDuty (core.model.health.alert_for); every change goes to Slack.

Unset limits are the environment's own rollback triggers' (a release is rolled back past them, so a serving
revision past them is degraded); `thresholds()` resolves them, so nobody else repeats that default.
"""

from __future__ import annotations

from pydantic import Field

from core.config.base import FrozenModel
from core.config.strategies import StrategySettings
from core.model.health import HealthThresholds, PageAt


class HealthSettings(FrozenModel):
    """Limits of live health; None takes the strategy's rollback trigger (5xx) or criteria (p99) limit."""

    max_5xx_rate: float | None = Field(default=None, ge=0, le=1, description="5xx share, 0..1; default: "
                                       "the rollback trigger's error_rate")
    max_p99_latency_ms: float | None = Field(default=None, gt=0, le=60000, description="default: the criteria's "
                                             "max_p99_latency_ms (the triggers only hold a ratio to stable)")
    window_s: int = Field(default=300, ge=60, le=3600, description="the Monitoring window judged, seconds")
    probe_timeout_s: float = Field(default=2.0, gt=0, le=30, description="each probe's time limit, seconds")
    interval_s: float = Field(default=10.0, ge=2, le=600, description="seconds between a console's observations")
    page_at: PageAt = Field(default="down", description="the state that pages PagerDuty: degraded, down or never "
                            "(every change is posted to Slack); the built-in environments set their own")

    def thresholds(self, strategy: StrategySettings) -> HealthThresholds:
        return HealthThresholds(
            max_5xx_rate=strategy.triggers.error_rate if self.max_5xx_rate is None else self.max_5xx_rate,
            max_p99_latency_ms=(strategy.criteria.max_p99_latency_ms if self.max_p99_latency_ms is None
                                else self.max_p99_latency_ms),
            window_s=self.window_s, probe_timeout_s=self.probe_timeout_s)

