"""Monitoring v3's aligners and reducers: which metric kinds and value types each accepts, and what it computes.

The rules are the Aggregation reference's (cloud.google.com/monitoring/api/ref_v3/rpc/google.monitoring.v3#aggregation):
ALIGN_DELTA on DELTA and CUMULATIVE metrics of any value type; ALIGN_RATE on DELTA and CUMULATIVE numbers (a
rate per second, DOUBLE); ALIGN_SUM on DELTA and GAUGE numbers and distributions; ALIGN_MEAN, MIN, MAX and
STDDEV on DELTA and GAUGE numbers; ALIGN_COUNT on DELTA and GAUGE numbers and bools (INT64);
ALIGN_NEXT_OLDER on GAUGE; ALIGN_PERCENTILE_xx on DELTA and GAUGE distributions (DOUBLE). REDUCE_SUM on numbers
and distributions (same type); REDUCE_MEAN, STDDEV and PERCENTILE_xx on numbers and distributions (DOUBLE);
REDUCE_MIN and MAX on numbers; REDUCE_COUNT on any value (INT64); the *_TRUE reducers and aligners on bools.
Anything else is Google's INVALID_ARGUMENT, worded as Google words it: `Field aggregation.perSeriesAligner had
an invalid value of "ALIGN_RATE": The aligner cannot be applied to metrics with kind DELTA and value type
DISTRIBUTION.` (grafana/grafana#22634, google/exposure-notifications-verification-server#659; the reducer's
message is the same sentence for crossSeriesReducer).

A value is an int (INT64), a float (DOUBLE) or a sandbox Histogram (DISTRIBUTION, exact counts per bucket).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from google.cloud import monitoring_v3

from sandbox.cloudrun_model import ApiError
from sandbox.histogram import Histogram

Aligner = monitoring_v3.Aggregation.Aligner
Reducer = monitoring_v3.Aggregation.Reducer
Value = int | float | Histogram
NUMBERS = frozenset({"INT64", "DOUBLE"})
_ANY = frozenset({"INT64", "DOUBLE", "DISTRIBUTION", "BOOL", "STRING"})
_DIST = frozenset({"DISTRIBUTION"})
_DELTAS = frozenset({"DELTA", "CUMULATIVE"})
_DG = frozenset({"DELTA", "GAUGE"})
_GAUGE = frozenset({"GAUGE"})
PERCENTILE_ALIGNERS = {Aligner.ALIGN_PERCENTILE_99: 99.0, Aligner.ALIGN_PERCENTILE_95: 95.0,
                       Aligner.ALIGN_PERCENTILE_50: 50.0, Aligner.ALIGN_PERCENTILE_05: 5.0}
PERCENTILE_REDUCERS = {Reducer.REDUCE_PERCENTILE_99: 99.0, Reducer.REDUCE_PERCENTILE_95: 95.0,
                       Reducer.REDUCE_PERCENTILE_50: 50.0, Reducer.REDUCE_PERCENTILE_05: 5.0}
# aligner -> (kinds, value types it accepts, output kind (None: as input), output type (None: as input))
_ALIGNERS: dict[int, tuple[frozenset[str], frozenset[str], str | None, str | None]] = {
    Aligner.ALIGN_DELTA: (_DELTAS, NUMBERS | _DIST, "DELTA", None),
    Aligner.ALIGN_RATE: (_DELTAS, NUMBERS, "GAUGE", "DOUBLE"),
    Aligner.ALIGN_SUM: (_DG, NUMBERS | _DIST, None, None),
    Aligner.ALIGN_MEAN: (_DG, NUMBERS, "GAUGE", "DOUBLE"),
    Aligner.ALIGN_MIN: (_DG, NUMBERS, "GAUGE", None),
    Aligner.ALIGN_MAX: (_DG, NUMBERS, "GAUGE", None),
    Aligner.ALIGN_STDDEV: (_DG, NUMBERS, "GAUGE", "DOUBLE"),
    Aligner.ALIGN_COUNT: (_DG, NUMBERS | {"BOOL"}, "GAUGE", "INT64"),
    Aligner.ALIGN_NEXT_OLDER: (_GAUGE, _ANY, "GAUGE", None),
    Aligner.ALIGN_COUNT_TRUE: (_DG, frozenset({"BOOL"}), "GAUGE", "INT64"),
    Aligner.ALIGN_COUNT_FALSE: (_DG, frozenset({"BOOL"}), "GAUGE", "INT64"),
    Aligner.ALIGN_FRACTION_TRUE: (_DG, frozenset({"BOOL"}), "GAUGE", "DOUBLE"),
    **{a: (_DG, _DIST, "GAUGE", "DOUBLE") for a in PERCENTILE_ALIGNERS},
}
# reducer -> (value types it accepts, output type (None: as input))
_REDUCERS: dict[int, tuple[frozenset[str], str | None]] = {
    Reducer.REDUCE_SUM: (NUMBERS | _DIST, None),
    Reducer.REDUCE_MEAN: (NUMBERS | _DIST, "DOUBLE"),
    Reducer.REDUCE_MIN: (NUMBERS, None),
    Reducer.REDUCE_MAX: (NUMBERS, None),
    Reducer.REDUCE_STDDEV: (NUMBERS | _DIST, "DOUBLE"),
    Reducer.REDUCE_COUNT: (_ANY, "INT64"),
    Reducer.REDUCE_COUNT_TRUE: (frozenset({"BOOL"}), "INT64"),
    Reducer.REDUCE_COUNT_FALSE: (frozenset({"BOOL"}), "INT64"),
    Reducer.REDUCE_FRACTION_TRUE: (frozenset({"BOOL"}), "DOUBLE"),
    **{r: (NUMBERS | _DIST, "DOUBLE") for r in PERCENTILE_REDUCERS},
}


def aligned_type(aligner: int, kind: str, value_type: str) -> tuple[str, str]:
    """The kind and value type an aligner makes of a series, or Google's INVALID_ARGUMENT when it cannot apply."""
    if aligner == Aligner.ALIGN_NONE:
        return kind, value_type
    rule = _ALIGNERS.get(aligner)
    if rule is None:  # ALIGN_INTERPOLATE, ALIGN_PERCENT_CHANGE: Google answers them, the sandbox cannot
        raise ApiError("UNIMPLEMENTED", f"The sandbox does not implement {Aligner(aligner).name}.")
    kinds, types, out_kind, out_type = rule
    if kind not in kinds or value_type not in types:
        raise ApiError("INVALID_ARGUMENT", f'Field aggregation.perSeriesAligner had an invalid value of '
                                           f'"{Aligner(aligner).name}": The aligner cannot be applied to metrics '
                                           f'with kind {kind} and value type {value_type}.')
    return out_kind or kind, out_type or value_type


def reduced_type(reducer: int, kind: str, value_type: str) -> str:
    """The value type a reducer makes of aligned series, or Google's INVALID_ARGUMENT when it cannot apply."""
    types, out_type = _REDUCERS[reducer]
    if value_type not in types:
        raise ApiError("INVALID_ARGUMENT", f'Field aggregation.crossSeriesReducer had an invalid value of '
                                           f'"{Reducer(reducer).name}": The reducer cannot be applied to metrics '
                                           f'with kind {kind} and value type {value_type}.')
    return out_type or value_type


def merged(values: Sequence[Value]) -> Histogram:
    total = Histogram()
    for v in values:
        assert isinstance(v, Histogram)
        total.merge(v)
    return total


def _sum(values: Sequence[Value]) -> Value:
    if isinstance(values[0], Histogram):
        return merged(values)
    return sum(values)  # type: ignore[arg-type]  # numbers here, ints stay ints


def _numbers(values: Sequence[Value]) -> list[float]:
    return [float(v) for v in values]  # type: ignore[arg-type]  # the rules above let only numbers through


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile of numbers, interpolated between the closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def distribution_mean(h: Histogram) -> float:
    from sandbox.histogram import FINITE_BUCKETS, bucket_bounds

    total = h.total
    weighted = sum(w * (bucket_bounds(FINITE_BUCKETS)[1] if i > FINITE_BUCKETS else sum(bucket_bounds(i)) / 2)
                   for i, w in h.counts.items())
    return weighted / total if total else 0.0


def align(aligner: int, points: Sequence[Value], seconds: float) -> Value | None:
    """One aligned value from the points of one series in one alignment period (None: no value)."""
    if not points:
        return None
    if aligner in (Aligner.ALIGN_DELTA, Aligner.ALIGN_SUM):
        return _sum(points)
    if aligner == Aligner.ALIGN_RATE:
        return float(_sum(points)) / seconds if seconds > 0 else None  # type: ignore[arg-type]
    if aligner in PERCENTILE_ALIGNERS:
        return merged(points).percentile(PERCENTILE_ALIGNERS[aligner])
    if aligner == Aligner.ALIGN_COUNT:
        return len(points)
    if aligner == Aligner.ALIGN_NEXT_OLDER:
        return points[-1]
    numbers = _numbers(points)
    if aligner == Aligner.ALIGN_MEAN:
        return statistics.fmean(numbers)
    if aligner == Aligner.ALIGN_STDDEV:
        return statistics.pstdev(numbers)
    pick = max if aligner == Aligner.ALIGN_MAX else min
    return pick(points)  # type: ignore[type-var]  # numbers, keeping int or float


def reduce(reducer: int, values: Sequence[Value]) -> Value:
    """One value across the aligned series of a group in one period."""
    if reducer == Reducer.REDUCE_SUM:
        return _sum(values)
    if reducer == Reducer.REDUCE_COUNT:
        return len(values)
    distributions = isinstance(values[0], Histogram)
    if reducer in PERCENTILE_REDUCERS:
        q = PERCENTILE_REDUCERS[reducer]
        if distributions:
            found = merged(values).percentile(q)
            return 0.0 if found is None else found
        return percentile(_numbers(values), q)
    if reducer == Reducer.REDUCE_MEAN:
        return distribution_mean(merged(values)) if distributions else statistics.fmean(_numbers(values))
    if reducer == Reducer.REDUCE_STDDEV:
        return statistics.pstdev(_numbers(values)) if not distributions else _histogram_stddev(merged(values))
    pick = max if reducer == Reducer.REDUCE_MAX else min
    return pick(values)  # type: ignore[type-var]


def _histogram_stddev(h: Histogram) -> float:
    from sandbox.histogram import FINITE_BUCKETS, bucket_bounds

    mean, total = distribution_mean(h), h.total
    if not total:
        return 0.0
    mids = {i: bucket_bounds(FINITE_BUCKETS)[1] if i > FINITE_BUCKETS else sum(bucket_bounds(i)) / 2 for i in h.counts}
    return math.sqrt(sum(w * (mids[i] - mean) ** 2 for i, w in h.counts.items()) / total)
