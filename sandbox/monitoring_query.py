"""ListTimeSeries for the sandbox: exactly the filters and aggregations the console's adapter sends, nothing else.

Supported (anything else is INVALID_ARGUMENT, so a drift between adapter and sandbox fails loudly):
- run.googleapis.com/request_count: ALIGN_DELTA + REDUCE_SUM by revision_name and response_code_class;
- run.googleapis.com/request_latencies: ALIGN_DELTA + REDUCE_SUM by revision_name (the distributions of
  all series of a revision merged: a DISTRIBUTION value with exponential bucket options and counts, as
  Monitoring answers), or + REDUCE_PERCENTILE_50/95/99 (the percentile of that merged distribution);
- run.googleapis.com/container/instance_count: ALIGN_MAX + REDUCE_SUM by revision_name;
- custom.googleapis.com/...: raw points (no aggregation), optionally filtered by metric labels.
A point covers its alignment period ending at end_time, clipped to the requested interval: Cloud Run's
metrics have no resolution under a minute in Monitoring, but the sandbox's traffic has, and clipping
keeps the engine's short analysis windows (10 s in tests and benchmarks) disjoint instead of each
re-reading the minute before it.
Filters are `key = "value"` terms joined by AND on metric.type, resource.type,
resource.labels.service_name, resource.labels.location and (custom metrics) metric.labels.*.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from google.api import distribution_pb2, metric_pb2
from google.cloud import monitoring_v3

from sandbox.cloudrun_model import ApiError
from sandbox.histogram import FINITE_BUCKETS, GROWTH, SCALE_MS, Histogram, bucket_bounds
from sandbox.traffic import RevisionTraffic

Aligner = monitoring_v3.Aggregation.Aligner
Reducer = monitoring_v3.Aggregation.Reducer
MetricKind = metric_pb2.MetricDescriptor.MetricKind
ValueType = metric_pb2.MetricDescriptor.ValueType

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
INSTANCE_COUNT = "run.googleapis.com/container/instance_count"
REVISION_LABEL = "resource.labels.revision_name"
CODE_CLASS_LABEL = "metric.labels.response_code_class"
PERCENTILES = {Reducer.REDUCE_PERCENTILE_50: 50.0, Reducer.REDUCE_PERCENTILE_95: 95.0,
               Reducer.REDUCE_PERCENTILE_99: 99.0}
_SHAPES: dict[str, tuple[Aligner, frozenset[Reducer], frozenset[str]]] = {
    REQUEST_COUNT: (Aligner.ALIGN_DELTA, frozenset({Reducer.REDUCE_SUM}),
                    frozenset({REVISION_LABEL, CODE_CLASS_LABEL})),
    REQUEST_LATENCIES: (Aligner.ALIGN_DELTA, frozenset({*PERCENTILES, Reducer.REDUCE_SUM}),
                        frozenset({REVISION_LABEL})),
    INSTANCE_COUNT: (Aligner.ALIGN_MAX, frozenset({Reducer.REDUCE_SUM}), frozenset({REVISION_LABEL})),
}
_TERM = re.compile(r'^\s*([a-z_]+(?:\.[a-z_]+)*)\s*=\s*"([^"\\]*)"\s*$')
_RESOURCE_KEYS = {"resource.labels.service_name", "resource.labels.location"}


def parse_filter(text: str) -> dict[str, str]:
    """`a = "x" AND b = "y"` as {a: x, b: y}; any other syntax is refused with the term that is not understood."""
    terms: dict[str, str] = {}
    for raw in text.split(" AND "):
        m = _TERM.match(raw)
        if not m:
            raise ApiError("INVALID_ARGUMENT", f"The sandbox does not understand the filter term {raw.strip()!r}; "
                                               'it supports key = "value" terms joined by AND.')
        if m.group(1) in terms:
            raise ApiError("INVALID_ARGUMENT", f"The filter names {m.group(1)} twice.")
        terms[m.group(1)] = m.group(2)
    if "metric.type" not in terms:
        raise ApiError("INVALID_ARGUMENT", "The filter must name a metric.type.")
    return terms


@dataclass(frozen=True)
class RunQuery:
    """A validated query on a Cloud Run metric."""

    metric: str
    service: str
    location: str
    reducer: Reducer
    period: float
    start: float
    end: float


def run_query(terms: dict[str, str], request: monitoring_v3.ListTimeSeriesRequest) -> RunQuery:
    metric = terms["metric.type"]
    if metric not in _SHAPES:
        raise ApiError("INVALID_ARGUMENT", f"The sandbox does not serve metric {metric!r}.")
    unknown = set(terms) - {"metric.type", "resource.type"} - _RESOURCE_KEYS
    if unknown:
        raise ApiError("INVALID_ARGUMENT", f"The sandbox does not support filtering {metric} on {sorted(unknown)}.")
    if terms.get("resource.type") != "cloud_run_revision":
        raise ApiError("INVALID_ARGUMENT", f'{metric} needs resource.type = "cloud_run_revision" in the filter.')
    if "resource.labels.service_name" not in terms:
        raise ApiError("INVALID_ARGUMENT", "The filter must name resource.labels.service_name.")
    aligner, reducers, group_by = _SHAPES[metric]
    agg = request.aggregation
    if request.secondary_aggregation and request.secondary_aggregation.per_series_aligner:
        raise ApiError("INVALID_ARGUMENT", "The sandbox does not support secondary_aggregation.")
    if request.order_by:
        raise ApiError("INVALID_ARGUMENT", "The sandbox does not support order_by.")
    if agg.per_series_aligner != aligner or agg.cross_series_reducer not in reducers:
        raise ApiError("INVALID_ARGUMENT", f"{metric} is served with per_series_aligner {aligner.name} and "
                                           f"cross_series_reducer {' or '.join(sorted(r.name for r in reducers))}, "
                                           f"not {Aligner(agg.per_series_aligner).name} + "
                                           f"{Reducer(agg.cross_series_reducer).name}.")
    if set(agg.group_by_fields) != group_by:
        raise ApiError("INVALID_ARGUMENT", f"{metric} is grouped by {sorted(group_by)}, "
                                           f"not {sorted(agg.group_by_fields)}.")
    period = agg.alignment_period.total_seconds() if agg.alignment_period else 0.0
    if period < 60:
        raise ApiError("INVALID_ARGUMENT", f"The alignment period must be at least 60 s, got {period:g} s.")
    start, end = interval(request)
    return RunQuery(metric, terms["resource.labels.service_name"], terms.get("resource.labels.location", ""),
                    Reducer(agg.cross_series_reducer), period, start, end)


def interval(request: monitoring_v3.ListTimeSeriesRequest) -> tuple[float, float]:
    iv = request.interval
    if not iv or not iv.end_time:
        raise ApiError("INVALID_ARGUMENT", "interval.end_time is required.")
    end = iv.end_time.timestamp()
    start = iv.start_time.timestamp() if iv.start_time else end
    if start > end:
        raise ApiError("INVALID_ARGUMENT", "interval.start_time is after interval.end_time.")
    return start, end


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def run_series(project: str, query: RunQuery,
               window: Callable[[float, float], dict[str, RevisionTraffic]]) -> list[monitoring_v3.TimeSeries]:
    """The reduced series of one query; `window(start, end)` gives what each revision served in a period."""
    series: dict[tuple[str, str], monitoring_v3.TimeSeries] = {}
    # Points end at end_time and every period before it, newest first, as Monitoring aligns them.
    count = max(1, math.ceil((query.end - query.start) / query.period - 1e-9))
    for k in range(count):
        point_end = query.end - k * query.period
        point_start = point_end - query.period
        if k == count - 1 and query.start < query.end:
            point_start = max(point_start, query.start)
        interval_ = monitoring_v3.TimeInterval(start_time=_ts(point_start), end_time=_ts(point_end))
        for revision, served in sorted(window(point_start, point_end).items()):
            for key, value in _values(query, served):
                ts = series.get((revision, key))
                if ts is None:
                    ts = series[(revision, key)] = _new_series(project, query, revision, key)
                ts.points.append(monitoring_v3.Point(interval=interval_, value=value))
    return [series[k] for k in sorted(series)]


def _values(query: RunQuery, served: RevisionTraffic) -> list[tuple[str, monitoring_v3.TypedValue]]:
    if query.metric == REQUEST_COUNT:
        return [(code, monitoring_v3.TypedValue(int64_value=n)) for code, n in sorted(served.codes.items()) if n]
    if query.metric == REQUEST_LATENCIES and query.reducer == Reducer.REDUCE_SUM:
        if served.latency.total <= 0:
            return []
        return [("", monitoring_v3.TypedValue(distribution_value=distribution(served.latency)))]
    if query.metric == REQUEST_LATENCIES:
        value = served.latency.percentile(PERCENTILES[query.reducer])
        return [] if value is None else [("", monitoring_v3.TypedValue(double_value=value))]
    instances = sum(served.instances.values())
    return [("", monitoring_v3.TypedValue(int64_value=instances))]


def distribution(histogram: Histogram) -> distribution_pb2.Distribution:
    """A histogram as Monitoring's Distribution: count, mean, exponential bucket options, counts up to the last."""
    counts = [0] * (FINITE_BUCKETS + 2)
    total = weighted = 0.0
    for i, w in histogram.counts.items():
        counts[i] += round(w)
        low, high = bucket_bounds(min(i, FINITE_BUCKETS))
        total += w
        weighted += w * (high if i > FINITE_BUCKETS else (low + high) / 2)
    while counts and counts[-1] == 0:
        counts.pop()
    options = distribution_pb2.Distribution.BucketOptions(
        exponential_buckets=distribution_pb2.Distribution.BucketOptions.Exponential(
            num_finite_buckets=FINITE_BUCKETS, growth_factor=GROWTH, scale=SCALE_MS))
    return distribution_pb2.Distribution(count=sum(counts), mean=weighted / total if total else 0.0,
                                         bucket_options=options, bucket_counts=counts)


def _new_series(project: str, query: RunQuery, revision: str, code_class: str) -> monitoring_v3.TimeSeries:
    labels = {"response_code_class": code_class} if code_class else {}
    latency_type = ValueType.DISTRIBUTION if query.reducer == Reducer.REDUCE_SUM else ValueType.DOUBLE
    kind, value_type, unit = {
        REQUEST_COUNT: (MetricKind.DELTA, ValueType.INT64, "1"),
        REQUEST_LATENCIES: (MetricKind.DELTA, latency_type, "ms"),
        INSTANCE_COUNT: (MetricKind.GAUGE, ValueType.INT64, "1"),
    }[query.metric]
    return monitoring_v3.TimeSeries(
        metric={"type": query.metric, "labels": labels},
        resource={"type": "cloud_run_revision", "labels": {"project_id": project, "revision_name": revision}},
        metric_kind=kind, value_type=value_type, unit=unit,
    )
