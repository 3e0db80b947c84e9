"""The raw time series the sandbox's Monitoring serves: Cloud Run's, drawn from the traffic simulator, and custom ones.

Cloud Run's metrics, with the labels Google's metric list gives them (cloud.google.com/monitoring/api/metrics_gcp,
run.googleapis.com): request_count (DELTA INT64, by response_code_class), request_latencies (DELTA
DISTRIBUTION in ms, by response_code_class) and container/instance_count (GAUGE INT64, by state: active or
idle), each on a cloud_run_revision resource (project_id, service_name, revision_name, location,
configuration_name). The simulator times requests per revision, not per response class, so a revision's
latency histogram is shared out among its classes in proportion to their requests: each class's series counts
its own requests, and the classes of a revision add up to exactly what the revision served.

A source answers for a list of spans (the query's alignment periods, (a, b]) with the Cloud Run points whose end
lies in the span and that Monitoring has ingested by now (sandbox/monitoring_ingest.py: 60 s points, visible
after a delay, by default): each tagged with the span's index. `split_points` keeps one value per point (what MAX,
MIN, MEAN and COUNT align over); additive aligners may take the points ingested for everyone in one piece.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from google.api import distribution_pb2

from sandbox.histogram import FINITE_BUCKETS, GROWTH, SCALE_MS, Histogram, bucket_bounds
from sandbox.monitoring_align import Value
from sandbox.monitoring_ingest import Ingestion
from sandbox.traffic import RevisionTraffic

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
INSTANCE_COUNT = "run.googleapis.com/container/instance_count"
RUN_RESOURCE = "cloud_run_revision"
# metric -> (kind, value type, unit)
RUN_METRICS = {REQUEST_COUNT: ("DELTA", "INT64", "1"), REQUEST_LATENCIES: ("DELTA", "DISTRIBUTION", "ms"),
               INSTANCE_COUNT: ("GAUGE", "INT64", "1")}
Window = Callable[[str, str, str, float, float], dict[str, RevisionTraffic]]  # project, location, service, a, b


@dataclass
class Series:
    """One time series: what identifies it, its kind and type, and points (span index, start, end, value)."""

    metric: str
    metric_labels: dict[str, str]
    resource_type: str
    resource_labels: dict[str, str]
    kind: str
    value_type: str
    unit: str = ""
    points: list[tuple[int, float, float, Value]] = field(default_factory=list)

    def labels(self, project: str) -> dict[str, str]:
        """The selectors a filter compares, by name."""
        out = {"project": project, "metric.type": self.metric, "resource.type": self.resource_type}
        out.update({f"metric.labels.{k}": v for k, v in self.metric_labels.items()})
        out.update({f"resource.labels.{k}": v for k, v in self.resource_labels.items()})
        return out


def _class_shares(served: RevisionTraffic) -> dict[str, float]:
    total = served.requests
    return {code: n / total for code, n in sorted(served.codes.items()) if n} if total else {}


def _run_values(metric: str, served: RevisionTraffic) -> Iterable[tuple[dict[str, str], Value]]:
    if metric == REQUEST_COUNT:
        return [({"response_code_class": code}, n) for code, n in sorted(served.codes.items()) if n]
    if metric == REQUEST_LATENCIES:
        if served.latency.total <= 0:
            return []
        out: list[tuple[dict[str, str], Value]] = []
        for code, share in _class_shares(served).items():
            part = Histogram()
            part.counts = {i: w * share for i, w in served.latency.counts.items()}
            out.append(({"response_code_class": code}, part))
        return out
    return [({"state": state}, n) for state, n in sorted(served.instances.items())]


def _point_parts(a: float, b: float, ingestion: Ingestion, now: float,
                 split_points: bool) -> list[tuple[float, float, bool]]:
    """The parts of span (a, b] to read: (start, end, settled). A settled part holds only points every series has
    ingested (older than the delay bound) and may cover several of them unless `split_points`; each other part is
    one point, visible per series."""
    ends = ingestion.point_ends(a, b, now)
    p = float(ingestion.point_s)
    settled = [e for e in ends if e + ingestion.bound_s <= now]
    recent = [(e - p, e, False) for e in ends if e + ingestion.bound_s > now]
    if split_points:
        return [(e - p, e, True) for e in settled] + recent
    return ([(settled[0] - p, settled[-1], True)] if settled else []) + recent


def cloudrun_series(project: str, metric: str, services: Iterable[tuple[str, str]], window: Window,
                    spans: list[tuple[float, float]], split_points: bool, ingestion: Ingestion,
                    now: float) -> list[Series]:
    """The raw series of one Cloud Run metric over `services` ((location, name) pairs) for each span."""
    kind, value_type, unit = RUN_METRICS[metric]
    found: dict[tuple[str, ...], Series] = {}
    for location, service in services:
        for index, (a, b) in enumerate(spans):
            for lo, hi, settled in _point_parts(a, b, ingestion, now, split_points):
                for revision, served in sorted(window(project, location, service, lo, hi).items()):
                    if not settled and not ingestion.visible(f"{project}/{location}/{service}/{revision}", hi, now):
                        continue  # not ingested yet: absent, as Monitoring answers
                    for labels, value in _run_values(metric, served):
                        key = (location, service, revision, *labels.values())
                        series = found.get(key)
                        if series is None:
                            resource = {"project_id": project, "service_name": service, "revision_name": revision,
                                        "location": location, "configuration_name": service}
                            series = found[key] = Series(metric, labels, RUN_RESOURCE, resource, kind, value_type,
                                                         unit)
                        series.points.append((index, lo, hi, value))
    return list(found.values())


def instant_series(series: Series, times: list[tuple[float, Value]], spans: list[tuple[float, float]]) -> Series:
    """A series of instants (a custom GAUGE) with each point placed in the span that holds it: (a, b], the oldest
    span also holding its start."""
    out = Series(series.metric, series.metric_labels, series.resource_type, series.resource_labels, series.kind,
                 series.value_type, series.unit)
    oldest = len(spans) - 1
    for t, value in times:
        for index, (a, b) in enumerate(spans):
            if a < t <= b or (index == oldest and t == a):
                out.points.append((index, t, t, value))
                break
    return out


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
