"""Alert policies that fire: the rule of a threshold condition, held once, and what a firing policy tells a person.

Cloud Monitoring's rule for `condition_threshold` (cloud.google.com/monitoring/alerts/concepts-indepth): each time
series, after the condition's aggregations (and divided by the denominator's for a ratio), is compared with
`threshold_value` at every alignment period; a series violates when the comparison holds for the whole
`duration` (a point in every period of it, each one crossing; no data is not a violation); the condition is met
when `trigger.count` series (default 1) or `trigger.percent` of them violate; the policy's `combiner` joins its
conditions. Both the console (core.providers.alert_policies, over ListTimeSeries) and the sandbox's stand-in
for Monitoring's evaluation (sandbox.monitoring_incidents) ask these functions.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "COMPARISON_GT": operator.gt, "COMPARISON_GE": operator.ge, "COMPARISON_LT": operator.lt,
    "COMPARISON_LE": operator.le, "COMPARISON_EQ": operator.eq, "COMPARISON_NE": operator.ne,
}
SYMBOLS = {"COMPARISON_GT": ">", "COMPARISON_GE": ">=", "COMPARISON_LT": "<", "COMPARISON_LE": "<=",
           "COMPARISON_EQ": "=", "COMPARISON_NE": "!="}
# per series (its labels), value per alignment period (0 = the newest, ending now)
PeriodValues = Mapping[Hashable, Mapping[int, float]]


@dataclass(frozen=True)
class FiringPolicy:
    """An enabled alert policy whose conditions hold now."""

    name: str  # projects/P/alertPolicies/ID
    display_name: str
    condition: str  # the display name of the condition that holds (the first, when several do)
    value: float  # the worst value of the newest period among the violating series
    threshold: float
    comparison: str  # COMPARISON_GT, ...
    since: datetime  # the condition has held at least since then (now minus its duration)

    def describe(self) -> str:
        return (f"{self.display_name}: {self.condition} is {self.value:.4g}, "
                f"{SYMBOLS.get(self.comparison, self.comparison)} {self.threshold:.4g} since {self.since:%H:%M:%S}")


def periods_needed(duration_s: float, period_s: float) -> int:
    """How many alignment periods the condition's duration covers (at least the newest one)."""
    return max(1, math.ceil(duration_s / period_s - 1e-9)) if period_s > 0 else 1


def ratio(numerator: PeriodValues, denominator: PeriodValues) -> dict[Hashable, dict[int, float]]:
    """Numerator over denominator per series and period. A period the denominator counts nothing in has no value;
    a series the numerator lacks is 0 there (no 5xx answered is a 5xx rate of 0, not a missing one)."""
    out: dict[Hashable, dict[int, float]] = {}
    for key, below in denominator.items():
        above = numerator.get(key, {})
        out[key] = {i: above.get(i, 0.0) / d for i, d in below.items() if d}
    return out


def violating(series: PeriodValues, comparison: str, threshold: float, periods: int) -> dict[Hashable, float]:
    """The series that cross the threshold in each of the newest `periods` periods, with their newest value."""
    compare = COMPARISONS[comparison]
    out = {}
    for key, values in series.items():
        window = [values.get(i) for i in range(periods)]
        if all(v is not None and compare(v, threshold) for v in window):
            out[key] = float(window[0])  # type: ignore[arg-type]  # none is None here
    return out


def condition_met(violators: int, series: int, trigger_count: int = 0, trigger_percent: float = 0.0) -> bool:
    """`trigger.count` series (default 1) or `trigger.percent` of them must violate."""
    if trigger_percent > 0:
        return series > 0 and violators * 100.0 / series >= trigger_percent
    return violators >= max(1, trigger_count)


def combine(combiner: str, met: Sequence[bool]) -> bool:
    """OR: any condition; AND (and AND_WITH_MATCHING_RESOURCE, read as AND): all of them."""
    if not met:
        return False
    return any(met) if combiner in ("OR", "COMBINE_UNSPECIFIED", "") else all(met)
