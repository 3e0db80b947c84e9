"""Metrics provider: per-revision request counts, latency distributions and instances from Cloud Monitoring v3.

One ListTimeSeries per metric and service, grouped by `resource.labels.revision_name`, never one per
revision, so 3 reads per window, or per run of windows (`window_metrics`: one aligned point a window):
request_count (ALIGN_DELTA + REDUCE_SUM, also grouped by response_code_class), request_latencies (a
DELTA distribution: ALIGN_DELTA keeps each series' distribution over the window and REDUCE_SUM merges
the series of a revision into one distribution, bucket options and counts, which the judge can add
across windows exactly; percentiles are read from it, where REDUCE_PERCENTILE_xx would cost a call
each and could not be pooled), and container/instance_count (ALIGN_MAX + REDUCE_SUM: the peak of
active plus idle instances).
Deployment events are written as points of a custom metric.

google-cloud-monitoring is imported inside the adapter's methods: RevisionMetrics and the Protocol
are read by the engine and the console, which must not load the client library for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from core.analysis.latency import BucketLayout, InvalidHistogram, LatencyHistogram, pool_histograms
from core.errors import BadInput
from core.model.metrics import GOOGLE_CLOUD_RUN_TIMING, MetricsTiming, RevisionMetrics
from core.ports import MetricsProvider
from core.providers.google_retry import RetryPolicy, call_google

if TYPE_CHECKING:
    from google.api import distribution_pb2
    from google.cloud import monitoring_v3

__all__ = ["MetricsProvider", "MonitoringAdapter", "RevisionMetrics", "latency_histogram"]

API = "Cloud Monitoring"
REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
INSTANCE_COUNT = "run.googleapis.com/container/instance_count"
DEPLOYMENT_EVENTS = "custom.googleapis.com/opsconsole/deployment_events"
REVISION = "resource.labels.revision_name"
CODE_CLASS = "metric.labels.response_code_class"
MIN_ALIGNMENT_S = 60
SAMPLING_S = 5  # Monitoring takes at most one point per 5 s in a series
MAX_EXPLICIT_BUCKETS = 10_000  # a linear layout is written out as explicit bounds; refuse absurd ones


@dataclass(frozen=True)
class DeploymentEvent:
    env: str
    component: str
    kind: str
    value: float
    at: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _layout(options: distribution_pb2.Distribution.BucketOptions) -> BucketLayout:
    which = options.WhichOneof("options")
    if which == "exponential_buckets":
        e = options.exponential_buckets
        return BucketLayout.exponential(e.scale, e.growth_factor, e.num_finite_buckets)
    if which == "linear_buckets":
        lin = options.linear_buckets
        if not 1 <= lin.num_finite_buckets <= MAX_EXPLICIT_BUCKETS:
            raise InvalidHistogram(f"A linear latency layout of {lin.num_finite_buckets} buckets is not supported.")
        return BucketLayout(explicit=tuple(lin.offset + lin.width * i for i in range(lin.num_finite_buckets + 1)))
    if which == "explicit_buckets":
        return BucketLayout(explicit=tuple(options.explicit_buckets.bounds))
    raise InvalidHistogram("A latency distribution came without bucket options.")


def latency_histogram(value: distribution_pb2.Distribution) -> LatencyHistogram | None:
    """A Monitoring Distribution as a LatencyHistogram (None when it counts no request)."""
    if not value.count or not value.bucket_counts:
        return None
    layout = _layout(value.bucket_options)
    counts = list(value.bucket_counts)[:layout.buckets]
    return LatencyHistogram.from_counts(layout, counts)


@dataclass(frozen=True)
class _Series:
    """The three grouped ListTimeSeries answers of one read."""

    requests: list[monitoring_v3.TimeSeries]
    latencies: list[monitoring_v3.TimeSeries]
    instances: list[monitoring_v3.TimeSeries]


def _revisions(read: _Series, *, by_window: bool) -> dict[datetime | None, dict[str, RevisionMetrics]]:
    """Per window (the end of each point's interval; None for all points together when not `by_window`), per
    revision: request counts by code class add, latency distributions pool (the judge adds them across windows
    exactly), instances take the peak."""
    def window(point: monitoring_v3.Point) -> datetime | None:
        return point.interval.end_time if by_window else None

    requests: dict[tuple[datetime | None, str], dict[str, int]] = {}
    for ts in read.requests:
        revision = ts.resource.labels["revision_name"]
        code = ts.metric.labels.get("response_code_class", "")
        for p in ts.points:
            counts = requests.setdefault((window(p), revision), {})
            counts[code] = counts.get(code, 0) + int(p.value.int64_value)
    latencies: dict[tuple[datetime | None, str], LatencyHistogram] = {}
    for ts in read.latencies:
        revision = ts.resource.labels["revision_name"]
        for p in ts.points:  # one point per alignment period: a span longer than one period has several
            part = latency_histogram(p.value.distribution_value)
            key = (window(p), revision)
            merged = pool_histograms([*([latencies[key]] if key in latencies else []), *([part] if part else [])])
            if merged is not None:
                latencies[key] = merged
    instances: dict[tuple[datetime | None, str], int] = {}
    for ts in read.instances:
        revision = ts.resource.labels["revision_name"]
        for p in ts.points:
            key = (window(p), revision)
            instances[key] = max(instances.get(key, 0), int(p.value.int64_value))
    out: dict[datetime | None, dict[str, RevisionMetrics]] = {}
    for key in sorted(set(requests) | set(latencies) | set(instances), key=lambda k: (k[0] is not None, k)):
        lat = latencies.get(key)
        p50, p95, p99 = (lat.percentile(q) if lat else None for q in (50, 95, 99))
        out.setdefault(key[0], {})[key[1]] = RevisionMetrics(
            revision=key[1], requests=requests.get(key, {}), p50_ms=p50, p95_ms=p95, p99_ms=p99,
            instances=instances.get(key, 0), latency=lat)
    return out


class MonitoringAdapter:
    """MetricsProvider over the official MetricServiceClient for one project (and optionally one region)."""

    def __init__(self, client: monitoring_v3.MetricServiceClient, project: str, *, region: str = "",
                 policy: RetryPolicy | None = None, now: Callable[[], datetime] = _utc_now,
                 timing: MetricsTiming = GOOGLE_CLOUD_RUN_TIMING) -> None:
        self._client = client
        self.project = project
        self.region = region
        self._policy = policy or RetryPolicy()
        self._retry = self._policy.retry()
        self._now = now  # the sandbox profile passes the sandbox clock
        self._last_point: dict[tuple[str, str, str], datetime] = {}
        self._timing = timing  # Google's; the sandbox profile passes the sandbox's points and delay

    def timing(self) -> MetricsTiming:
        return self._timing

    def _filter(self, metric: str, service: str) -> str:
        terms = [f'metric.type = "{metric}"', 'resource.type = "cloud_run_revision"',
                 f'resource.labels.service_name = "{service}"']
        if self.region:
            terms.append(f'resource.labels.location = "{self.region}"')
        return " AND ".join(terms)

    def _list(self, what: str, service: str, metric: str, start: datetime, end: datetime, period: int,
              aligner: int, reducer: int, group_by: list[str]) -> list[monitoring_v3.TimeSeries]:
        """One ListTimeSeries. `aligner` and `reducer` are Aggregation.Aligner and .Reducer members: proto-plus
        enums are IntEnums, which mypy reads as their int values."""
        from google.cloud import monitoring_v3

        request = monitoring_v3.ListTimeSeriesRequest(
            name=f"projects/{self.project}", filter=self._filter(metric, service),
            interval=monitoring_v3.TimeInterval(start_time=start, end_time=end),
            aggregation=monitoring_v3.Aggregation(alignment_period=timedelta(seconds=period),
                                                  per_series_aligner=aligner, cross_series_reducer=reducer,
                                                  group_by_fields=group_by),
            view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL)
        resource = f"service {service} in projects/{self.project}"
        return call_google(API, f"reading {what} of", resource, lambda: list(self._client.list_time_series(
            request=request, retry=self._retry, timeout=self._policy.deadline)))

    def revision_metrics(self, service: str, start: datetime, end: datetime) -> dict[str, RevisionMetrics]:
        """Per revision of `service`, what it served in [start, end): 3 batched reads in all."""
        if end <= start:
            raise BadInput(f"The metrics window for {service} ends ({end:%H:%M:%S}) before it starts "
                           f"({start:%H:%M:%S}).")
        period = max(MIN_ALIGNMENT_S, math.ceil((end - start).total_seconds()))
        return _revisions(self._read(service, start, end, period), by_window=False).get(None, {})

    def window_metrics(self, service: str, start: datetime, end: datetime,
                       window_s: int) -> dict[datetime, dict[str, RevisionMetrics]]:
        """Per window of `window_s` seconds ending at `end`, `end - window_s`, ... after `start` (by the end of each;
        a window in which nothing was served is absent), per revision: still 3 reads, however many windows.
        Monitoring aligns its points so ("one point per alignment period, ending at end_time and every period
        before it", Aggregation reference: https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list)."""
        if end <= start or window_s < MIN_ALIGNMENT_S:
            raise BadInput(f"The metrics windows for {service} ({start:%H:%M:%S} to {end:%H:%M:%S}, {window_s} s "
                           f"each) are empty or finer than Monitoring's {MIN_ALIGNMENT_S} s.")
        read = _revisions(self._read(service, start, end, window_s), by_window=True)
        return {at: metrics for at, metrics in read.items() if at is not None}

    def _read(self, service: str, start: datetime, end: datetime, period: int) -> _Series:
        from google.cloud.monitoring_v3 import Aggregation

        Aligner, Reducer = Aggregation.Aligner, Aggregation.Reducer
        return _Series(
            self._list("request counts", service, REQUEST_COUNT, start, end, period, Aligner.ALIGN_DELTA,
                       Reducer.REDUCE_SUM, [REVISION, CODE_CLASS]),
            self._list("latency distributions", service, REQUEST_LATENCIES, start, end, period, Aligner.ALIGN_DELTA,
                       Reducer.REDUCE_SUM, [REVISION]),
            self._list("instance counts", service, INSTANCE_COUNT, start, end, period, Aligner.ALIGN_MAX,
                       Reducer.REDUCE_SUM, [REVISION]))

    def write_deployment_event(self, env: str, component: str, kind: str, value: float = 1.0) -> None:
        """One point of custom.googleapis.com/opsconsole/deployment_events labelled env, component, kind."""
        from google.api import metric_pb2
        from google.cloud import monitoring_v3

        key = (env, component, kind)
        at = self._now()
        last = self._last_point.get(key)
        if last is not None and at < last + timedelta(seconds=SAMPLING_S):
            at = last + timedelta(seconds=SAMPLING_S)  # two events of a kind within 5 s: keep both, 5 s apart
        series = monitoring_v3.TimeSeries(
            metric={"type": DEPLOYMENT_EVENTS, "labels": {"env": env, "component": component, "kind": kind}},
            resource={"type": "global", "labels": {"project_id": self.project}},
            metric_kind=metric_pb2.MetricDescriptor.MetricKind.GAUGE,
            value_type=metric_pb2.MetricDescriptor.ValueType.DOUBLE,
            points=[monitoring_v3.Point(interval=monitoring_v3.TimeInterval(end_time=at),
                                        value=monitoring_v3.TypedValue(double_value=float(value)))])
        call_google(API, f"writing a {kind} deployment event of {component} in", f"projects/{self.project}",
                    lambda: self._client.create_time_series(name=f"projects/{self.project}", time_series=[series],
                                                            retry=self._retry, timeout=self._policy.deadline))
        self._last_point[key] = at

    def deployment_events(self, start: datetime, end: datetime, env: str | None = None) -> list[DeploymentEvent]:
        """Deployment events written in [start, end], oldest first."""
        from google.cloud import monitoring_v3

        terms = [f'metric.type = "{DEPLOYMENT_EVENTS}"']
        if env:
            terms.append(f'metric.labels.env = "{env}"')
        request = monitoring_v3.ListTimeSeriesRequest(
            name=f"projects/{self.project}", filter=" AND ".join(terms),
            interval=monitoring_v3.TimeInterval(start_time=start, end_time=end),
            view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL)
        series = call_google(API, "reading deployment events of", f"projects/{self.project}",
                             lambda: list(self._client.list_time_series(request=request, retry=self._retry,
                                                                        timeout=self._policy.deadline)))
        events = [DeploymentEvent(env=ts.metric.labels.get("env", ""), component=ts.metric.labels.get("component", ""),
                                  kind=ts.metric.labels.get("kind", ""), value=p.value.double_value,
                                  at=p.interval.end_time)
                  for ts in series for p in ts.points]
        return sorted(events, key=lambda e: e.at)
