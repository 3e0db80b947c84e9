"""ListTimeSeries for the sandbox: Monitoring v3's filters, aligners and reducers over the series it serves.

A request is checked as Google checks it (the Aggregation reference): a filter naming one metric type
(monitoring_filter.py); an aligner other than ALIGN_NONE needs an alignment period of 60 s to 104 weeks; a
reducer needs an aligner other than ALIGN_NONE; the aligner and reducer must suit the metric's kind and value
type (monitoring_align.py). A metric type the sandbox does not know is NOT_FOUND with Google's words,
`Cannot find metric(s) that match type = "..."` (as grafana/gcx#974 quotes it).

Aligned points: one per alignment period ending at end_time and every period before it, newest first, the
oldest clipped to start_time; a period (a, b] takes the points whose end lies in it (reads are half-open,
"It includes the end time but excludes the start time": the TimeInterval reference). Cloud Run's points are
Google's by default: one DELTA point per whole minute, each visible only after an ingestion delay
(sandbox/monitoring_ingest.py), so a window of the last minute is empty or short until Monitoring has settled.
ALIGN_NONE answers raw points: Cloud Run's per point that has ended and been ingested, custom metrics' as written.
Cross-series reducers combine the aligned series that share the group_by_fields' values (all of them without
group_by_fields); a reduced series keeps its resource type, the project_id and the grouped labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from google.cloud import monitoring_v3

from sandbox.cloudrun_model import ApiError
from sandbox.histogram import Histogram
from sandbox.monitoring_align import (
    Aligner,
    Reducer,
    Value,
    align,
    aligned_type,
    reduce,
    reduced_type,
)
from sandbox.monitoring_filter import Node, canonical, filter_error, parse, required
from sandbox.monitoring_ingest import Ingestion
from sandbox.monitoring_sources import RUN_METRICS, Series, Window, cloudrun_series, distribution, instant_series

MAX_PERIOD_S = 104 * 7 * 86_400  # "The maximum value of the alignment_period is 104 weeks" (Aggregation reference)
_ADDITIVE = frozenset({Aligner.ALIGN_DELTA, Aligner.ALIGN_SUM, Aligner.ALIGN_RATE, Aligner.ALIGN_PERCENTILE_99,
                       Aligner.ALIGN_PERCENTILE_95, Aligner.ALIGN_PERCENTILE_50, Aligner.ALIGN_PERCENTILE_05})
CustomRead = Callable[[str, str], list[tuple[Series, list[tuple[float, Value]]]]]  # (project, metric) -> series


def interval(request: monitoring_v3.ListTimeSeriesRequest) -> tuple[float, float]:
    iv = request.interval
    if not iv or not iv.end_time:
        raise ApiError("INVALID_ARGUMENT", "Field interval.endTime is required.")
    end = iv.end_time.timestamp()
    start = iv.start_time.timestamp() if iv.start_time else end
    if start > end:
        raise ApiError("INVALID_ARGUMENT", "Field interval.startTime is later than interval.endTime.")
    return start, end


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _group_field(name: str) -> str:
    field = canonical(name)
    if not field.startswith(("metric.labels.", "resource.labels.")):
        raise ApiError("INVALID_ARGUMENT", f'Field aggregation.groupByFields had an invalid value of "{name}": '
                                           "a group-by field is metric.labels.KEY or resource.labels.KEY.")
    return field


def _periods(start: float, end: float, period: float) -> list[tuple[float, float]]:
    count = max(1, math.ceil((end - start) / period - 1e-9))
    spans = []
    for k in range(count):
        b = end - k * period
        a = b - period
        if k == count - 1 and start < end:
            a = max(a, start)
        spans.append((a, b))
    return spans


def _raw_points(start: float, end: float, now: float, ingestion: Ingestion) -> list[tuple[float, float]]:
    """Each Cloud Run point that has ended, whose end lies in (start, end], newest first."""
    p = float(ingestion.point_s)
    return [(e - p, e) for e in reversed(ingestion.point_ends(start, end, now))]


class Query:
    """One validated ListTimeSeries request."""

    def __init__(self, request: monitoring_v3.ListTimeSeriesRequest) -> None:
        self.request = request
        self.filter: Node = parse(request.filter)
        metric = required(self.filter, "metric.type")
        if metric is None:
            raise filter_error(request.filter, 'a time series filter must name one metric type, as '
                                               'metric.type = "TYPE".')
        self.metric = metric
        self.start, self.end = interval(request)
        agg = request.aggregation
        self.aligner = int(agg.per_series_aligner) if agg else 0
        self.reducer = int(agg.cross_series_reducer) if agg else 0
        self.group_by = [_group_field(f) for f in agg.group_by_fields] if agg and self.reducer else []
        self.period = agg.alignment_period.total_seconds() if agg and agg.alignment_period else 0.0
        if self.reducer and not self.aligner:
            raise ApiError("INVALID_ARGUMENT", f'Field aggregation.perSeriesAligner had an invalid value of '
                                               f'"ALIGN_NONE": a cross-series reducer '
                                               f'({Reducer(self.reducer).name}) needs a per-series aligner.')
        if self.aligner and not self.period:
            raise ApiError("INVALID_ARGUMENT", "Field aggregation.alignmentPeriod is required when a per-series "
                                               f"aligner ({Aligner(self.aligner).name}) is given.")
        if self.aligner and not 60 <= self.period <= MAX_PERIOD_S:
            raise ApiError("INVALID_ARGUMENT", f'Field aggregation.alignmentPeriod had an invalid value of '
                                               f'"{self.period:g}s": The alignment period must be at least 60 '
                                               "seconds and at most 104 weeks.")
        second = request.secondary_aggregation
        if second and (second.per_series_aligner or second.cross_series_reducer):
            raise ApiError("UNIMPLEMENTED", "The sandbox does not implement secondary_aggregation.")
        if request.order_by:
            raise ApiError("INVALID_ARGUMENT", 'Field orderBy had an invalid value: "Unsupported: must be left '
                                               'blank" (ListTimeSeriesRequest reference).')

    def check_types(self, kind: str, value_type: str) -> tuple[str, str]:
        """The kind and value type of the answer, or Google's INVALID_ARGUMENT for the aligner or reducer."""
        kind, value_type = aligned_type(self.aligner, kind, value_type)
        if self.reducer:
            value_type = reduced_type(self.reducer, kind, value_type)
        return kind, value_type

    def spans(self, now: float, ingestion: Ingestion) -> list[tuple[float, float]]:
        return _periods(self.start, self.end, self.period) if self.aligner else \
            _raw_points(self.start, self.end, now, ingestion)


def run(project: str, request: monitoring_v3.ListTimeSeriesRequest, *, services: Callable[[str], list[tuple[str, str]]],
        window: Window, custom: CustomRead, now: float, custom_prefixes: tuple[str, ...],
        ingestion: Ingestion | None = None) -> list[monitoring_v3.TimeSeries]:
    """The answer to one ListTimeSeries request."""
    query = Query(request)
    ingestion = ingestion or Ingestion()
    if query.metric in RUN_METRICS:
        kind, value_type, _ = RUN_METRICS[query.metric]
        out_kind, out_type = query.check_types(kind, value_type)
        wanted = [(loc, svc) for loc, svc in services(project)
                  if required(query.filter, "resource.labels.service_name") in (None, svc)
                  and required(query.filter, "resource.labels.location") in (None, loc)]
        spans = query.spans(now, ingestion)
        raw = cloudrun_series(project, query.metric, wanted, window, spans, ingestion=ingestion, now=now,
                              split_points=bool(query.aligner) and query.aligner not in _ADDITIVE)
    elif query.metric.startswith(custom_prefixes):
        stored = custom(project, query.metric)
        if not stored:
            return []  # a custom metric with nothing written yet selects no series
        out_kind, out_type = query.check_types(stored[0][0].kind, stored[0][0].value_type)
        if query.aligner:
            spans = query.spans(now, ingestion)
            raw = [instant_series(s, times, spans) for s, times in stored]
        else:  # raw points as written, newest first, both ends of the interval included
            spans = []
            raw = [Series(s.metric, s.metric_labels, s.resource_type, s.resource_labels, s.kind, s.value_type,
                          s.unit, [(0, t, t, v) for t, v in times if query.start <= t <= query.end])
                   for s, times in stored]
    else:
        raise ApiError("NOT_FOUND", f'Cannot find metric(s) that match type = "{query.metric}".')
    selected = [s for s in raw if s.points and query.filter.matches(s.labels(project))]
    if query.aligner:
        selected = [_aligned(s, query.aligner, spans, out_kind, out_type if not query.reducer else None)
                    for s in selected]
        selected = [s for s in selected if s.points]
    if query.reducer:
        selected = _reduced(project, selected, query, out_type)
    # Custom series read raw come in the order they were first written, as they always have.
    order = selected if not query.aligner and query.metric not in RUN_METRICS else \
        sorted(selected, key=lambda s: (sorted(s.resource_labels.items()), sorted(s.metric_labels.items())))
    return [_proto(s, raw_instants=not query.aligner and s.kind == "GAUGE") for s in order]


def _aligned(series: Series, aligner: int, spans: list[tuple[float, float]], kind: str,
             value_type: str | None) -> Series:
    by_span: dict[int, list[Value]] = {}
    for index, _, _, value in series.points:
        by_span.setdefault(index, []).append(value)
    out = Series(series.metric, series.metric_labels, series.resource_type, series.resource_labels, kind,
                 value_type or aligned_type(aligner, series.kind, series.value_type)[1], _unit(series.unit, aligner))
    for index in sorted(by_span):
        a, b = spans[index]
        value = align(aligner, by_span[index], b - a)
        if value is not None:
            out.points.append((index, a, b, value))
    return out


def _unit(unit: str, aligner: int) -> str:
    if aligner == Aligner.ALIGN_RATE:
        return f"{unit}/s"
    return "1" if aligner == Aligner.ALIGN_COUNT else unit


def _reduced(project: str, series: Iterable[Series], query: Query, value_type: str) -> list[Series]:
    groups: dict[tuple[str, ...], list[Series]] = {}
    for s in series:
        labels = s.labels(project)
        groups.setdefault(tuple(labels.get(f, "") for f in query.group_by), []).append(s)
    out = []
    for key, members in sorted(groups.items()):
        first = members[0]
        resource = {"project_id": project}
        metric_labels = {}
        for field, value in zip(query.group_by, key, strict=True):
            if field.startswith("resource.labels."):
                resource[field.removeprefix("resource.labels.")] = value
            else:
                metric_labels[field.removeprefix("metric.labels.")] = value
        unit = "1" if query.reducer == Reducer.REDUCE_COUNT else first.unit
        reduced = Series(first.metric, metric_labels, first.resource_type, resource, first.kind, value_type, unit)
        by_span: dict[int, tuple[float, float, list[Value]]] = {}
        for s in members:
            for index, a, b, value in s.points:
                by_span.setdefault(index, (a, b, []))[2].append(value)
        for index in sorted(by_span):
            a, b, values = by_span[index]
            reduced.points.append((index, a, b, reduce(query.reducer, values)))
        out.append(reduced)
    return out


def _typed(value: Value, value_type: str) -> monitoring_v3.TypedValue:
    if value_type == "DISTRIBUTION":
        assert isinstance(value, Histogram)
        return monitoring_v3.TypedValue(distribution_value=distribution(value))
    if value_type == "INT64":
        return monitoring_v3.TypedValue(int64_value=int(value))  # type: ignore[arg-type]
    return monitoring_v3.TypedValue(double_value=float(value))  # type: ignore[arg-type]


def _proto(series: Series, raw_instants: bool) -> monitoring_v3.TimeSeries:
    from google.api import metric_pb2

    kinds, types = metric_pb2.MetricDescriptor.MetricKind, metric_pb2.MetricDescriptor.ValueType
    points = []
    for _, a, b, value in series.points:
        iv = monitoring_v3.TimeInterval(end_time=_ts(b)) if raw_instants or a == b else \
            monitoring_v3.TimeInterval(start_time=_ts(a), end_time=_ts(b))
        points.append(monitoring_v3.Point(interval=iv, value=_typed(value, series.value_type)))
    return monitoring_v3.TimeSeries(
        metric={"type": series.metric, "labels": series.metric_labels},
        resource={"type": series.resource_type, "labels": series.resource_labels},
        metric_kind=kinds.Value(series.kind), value_type=types.Value(series.value_type), unit=series.unit,
        points=points)
