"""The four DORA keys as dora-team/fourkeys computes them, with their buckets and performance tiers.

Sources: fourkeys' Grafana dashboard (dashboard/fourkeys_dashboard.json) for the deployment-frequency
rule and the lead-time, time-to-restore and change-failure buckets; the DORA State of DevOps 2021
report for the tier edges where fourkeys only colours its buckets (cited at each table below).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from core.reports.model import Tier

HOUR = 3600.0
DAY = 24 * HOUR

# fourkeys "Lead Time to Change Bucket" / "Median Time to Restore Services": < 24 h "One day",
# < 168 h "One week", < 730 h "One month", < 730×6 h "Six months", else "One year".
_BUCKETS = ((DAY, "one day"), (168 * HOUR, "one week"), (730 * HOUR, "one month"), (730 * 6 * HOUR, "six months"))

# Lead time tiers follow fourkeys' bucket colours: One day = elite (purple), One week = high (green),
# One month = medium (yellow), Six months and One year = low (red).
_LEAD_TIERS = {"one day": Tier.ELITE, "one week": Tier.HIGH, "one month": Tier.MEDIUM,
               "six months": Tier.LOW, "one year": Tier.LOW}
# Time to restore, DORA 2021: elite < 1 hour, high < 1 day, medium < 1 week (fourkeys' "One week"), low above.
_RESTORE_EDGES = ((HOUR, Tier.ELITE), (DAY, Tier.HIGH), (7 * DAY, Tier.MEDIUM))
# Change failure rate, DORA 2021: elite 0–15 % (fourkeys' green "0-15%"), high 16–30 %; fourkeys' yellow
# "16-45%" ends medium at 45 %; fourkeys' red "46-60%" and above is low.
_CFR_EDGES = ((0.15, Tier.ELITE), (0.30, Tier.HIGH), (0.45, Tier.MEDIUM))
# Deployment frequency: fourkeys labels "Daily" elite; DORA 2021 has weekly high, monthly medium, rarer low.
_FREQUENCY_TIERS = {"daily": Tier.ELITE, "weekly": Tier.HIGH, "monthly": Tier.MEDIUM, "yearly": Tier.LOW,
                    "none": Tier.NONE}


def duration_bucket(seconds: float | None) -> str:
    """fourkeys' bucket of a median duration ("none" without one)."""
    if seconds is None:
        return "none"
    for edge, name in _BUCKETS:
        if seconds < edge:
            return name
    return "one year"


def lead_time_tier(seconds: float | None) -> Tier:
    return Tier.NONE if seconds is None else _LEAD_TIERS[duration_bucket(seconds)]


def restore_tier(seconds: float | None) -> Tier:
    if seconds is None:
        return Tier.NONE
    return next((tier for edge, tier in _RESTORE_EDGES if seconds < edge), Tier.LOW)


def change_failure_tier(rate: float | None) -> Tier:
    if rate is None:
        return Tier.NONE
    return next((tier for edge, tier in _CFR_EDGES if rate <= edge), Tier.LOW)


def frequency_tier(bucket: str) -> Tier:
    return _FREQUENCY_TIERS[bucket]


def week_start(day: date) -> date:
    """Monday of the ISO week holding `day` (fourkeys truncates to BigQuery weeks; ISO weeks here)."""
    return day - timedelta(days=day.weekday())


def frequency_bucket(deployment_days: Iterable[date], first: date, last: date) -> tuple[str, float, int]:
    """(bucket, median days deployed per week, weeks) over the calendar days first..last inclusive.

    fourkeys: per week, days_deployed = distinct days with a deployment and week_deployed = 1 if any;
    "daily" when the median of days_deployed is >= 3, "weekly" when the median of week_deployed is >= 1,
    "monthly" when the median over weeks of their month's number of weeks with a deployment is >= 1,
    else "yearly". A range without a single deployment is "none".
    """
    if last < first:
        return "none", 0.0, 0
    per_week: dict[date, set[date]] = defaultdict(set)
    for day in deployment_days:
        if first <= day <= last:
            per_week[week_start(day)].add(day)
    # Every week the range touches, deployed in or not: stepping weeks, not days, keeps a range of centuries quick.
    first_week = week_start(first)
    weeks = [first_week + timedelta(weeks=n) for n in range((week_start(last) - first_week).days // 7 + 1)]
    days_deployed = [len(per_week.get(w, ())) for w in weeks]
    median_days = float(statistics.median(days_deployed))
    if not any(days_deployed):
        return "none", 0.0, len(weeks)
    week_deployed = [1 if n else 0 for n in days_deployed]
    by_month: dict[tuple[int, int], int] = defaultdict(int)
    for week, deployed in zip(weeks, week_deployed, strict=True):
        by_month[(week.year, week.month)] += deployed  # fourkeys partitions by TIMESTAMP_TRUNC(week, MONTH)
    monthly = [by_month[(w.year, w.month)] for w in weeks]
    if median_days >= 3:
        bucket = "daily"
    elif statistics.median(week_deployed) >= 1:
        bucket = "weekly"
    elif statistics.median(monthly) >= 1:
        bucket = "monthly"
    else:
        bucket = "yearly"
    return bucket, median_days, len(weeks)


def median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default, and BigQuery's PERCENTILE_CONT) of sorted values."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    position = (len(sorted_values) - 1) * q
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
