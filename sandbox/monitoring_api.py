"""The sandbox's Cloud Monitoring v3 MetricService over gRPC: ListTimeSeries and CreateTimeSeries.

gRPC because google-cloud-monitoring's Python client has no REST transport: the console talks gRPC
to monitoring.googleapis.com, so the sandbox does too (a plain `grpc.server` with a generic handler
and the official protos' serializers). Metrics of Cloud Run revisions come from the traffic
simulator; custom metrics written with CreateTimeSeries are stored (and persisted) and can be read back.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.api import metric_pb2
from google.cloud import monitoring_v3
from google.protobuf import empty_pb2

from sandbox.cloudrun_model import ApiError
from sandbox.faults import MESSAGES, SandboxFaults
from sandbox.monitoring_alerts import AlertStore
from sandbox.monitoring_alerts import handlers as alert_handlers
from sandbox.monitoring_align import Value
from sandbox.monitoring_ingest import Ingestion
from sandbox.monitoring_query import run
from sandbox.monitoring_sources import Series, Window

SERVICE = "google.monitoring.v3.MetricService"
CUSTOM_PREFIXES = ("custom.googleapis.com/", "workload.googleapis.com/")
MIN_SAMPLING_S = 5.0  # Monitoring accepts at most one point per 5 s in a time series
MetricKind = metric_pb2.MetricDescriptor.MetricKind
ValueType = metric_pb2.MetricDescriptor.ValueType


@dataclass
class CustomSeries:
    project: str
    metric: str
    metric_labels: dict[str, str]
    resource_type: str
    resource_labels: dict[str, str]
    kind: str
    value_type: str
    points: list[tuple[float, float]] = field(default_factory=list)  # (end time, value), oldest first


class CustomMetrics:
    """Time series written with CreateTimeSeries, validated like Monitoring validates them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.series: list[CustomSeries] = []
        self.listeners: list[Callable[[], None]] = []

    def write(self, project: str, ts: monitoring_v3.TimeSeries) -> None:
        metric = ts.metric.type
        if not metric.startswith(CUSTOM_PREFIXES):
            raise ApiError("INVALID_ARGUMENT", f"Metric type {metric!r} is not a custom metric type.")
        if not ts.resource.type:
            raise ApiError("INVALID_ARGUMENT", f"A time series of {metric} needs a monitored resource type.")
        if len(ts.points) != 1:
            raise ApiError("INVALID_ARGUMENT",
                           f"A time series write must carry exactly one point, got {len(ts.points)}.")
        point = ts.points[0]
        kind = MetricKind.Name(ts.metric_kind or MetricKind.GAUGE)
        if kind != "GAUGE":
            raise ApiError("INVALID_ARGUMENT", f"The sandbox stores GAUGE custom metrics only, not {kind}.")
        end = point.interval.end_time.timestamp()
        if point.interval.start_time and point.interval.start_time.timestamp() != end:
            raise ApiError("INVALID_ARGUMENT", "A GAUGE point's start time must equal its end time.")
        which = point.value._pb.WhichOneof("value")
        if which not in ("int64_value", "double_value"):
            raise ApiError("INVALID_ARGUMENT", f"The sandbox stores INT64 and DOUBLE values, not {which}.")
        value_type = "INT64" if which == "int64_value" else "DOUBLE"
        value = float(getattr(point.value, which))
        labels, res_labels = dict(ts.metric.labels), dict(ts.resource.labels)
        with self._lock:
            for s in self.series:
                if s.metric == metric and s.project == project and s.value_type != value_type:
                    raise ApiError("INVALID_ARGUMENT", f"Metric {metric} has value type {s.value_type}, "
                                                       f"not {value_type}.")
            found = next((s for s in self.series if (s.project, s.metric, s.metric_labels, s.resource_type,
                                                     s.resource_labels) ==
                          (project, metric, labels, ts.resource.type, res_labels)), None)
            if found is None:
                found = CustomSeries(project, metric, labels, ts.resource.type, res_labels, kind, value_type)
                self.series.append(found)
            elif end < found.points[-1][0] + MIN_SAMPLING_S:
                raise ApiError("INVALID_ARGUMENT", "One or more points were written more frequently than the "
                                                   f"maximum sampling period configured for the metric ({metric}).")
            found.points.append((end, value))
        for listener in list(self.listeners):
            listener()

    def read(self, project: str, metric: str) -> list[tuple[Series, list[tuple[float, Value]]]]:
        """Every stored series of `metric` in `project`, with its points (end time, value) newest first."""
        with self._lock:
            return [(Series(s.metric, dict(s.metric_labels), s.resource_type, dict(s.resource_labels), s.kind,
                            s.value_type),
                     [(t, int(v) if s.value_type == "INT64" else v) for t, v in reversed(s.points)])
                    for s in self.series if s.project == project and s.metric == metric]

    def to_dict(self) -> list[dict[str, Any]]:
        with self._lock:
            return [vars(s) | {"points": [list(p) for p in s.points]} for s in self.series]

    def load(self, data: list[dict[str, Any]]) -> None:
        with self._lock:
            self.series = [CustomSeries(**{**d, "points": [(float(t), float(v)) for t, v in d["points"]]})
                           for d in data]


class MonitoringServer:
    """Serves MetricService on 127.0.0.1 from a thread pool; `target` is host:port for a gRPC channel."""

    def __init__(self, window: Window, projects: Callable[[], set[str]], custom: CustomMetrics, faults: SandboxFaults,
                 services: Callable[[str], list[tuple[str, str]]], now: Callable[[], float],
                 alerts: AlertStore | None = None, max_workers: int = 8,
                 ingestion: Callable[[], Ingestion] = Ingestion) -> None:
        self._window = window  # (project, location, service, start, end) -> per revision
        self._services = services  # project -> its Cloud Run services as (location, name)
        self._now = now  # the sandbox clock: raw points are the minutes that have ended
        self._projects = projects
        self._ingestion = ingestion  # Cloud Run's point length and ingestion delay (Google's by default)
        self.custom = custom
        self._faults = faults
        self.calls: Counter[str] = Counter()  # per RPC name, injected faults included
        handlers = {
            "ListTimeSeries": grpc.unary_unary_rpc_method_handler(
                self._guard("ListTimeSeries", self.list_time_series),
                request_deserializer=monitoring_v3.ListTimeSeriesRequest.deserialize,
                response_serializer=monitoring_v3.ListTimeSeriesResponse.serialize),
            "CreateTimeSeries": grpc.unary_unary_rpc_method_handler(
                self._guard("CreateTimeSeries", self.create_time_series),
                request_deserializer=monitoring_v3.CreateTimeSeriesRequest.deserialize,
                response_serializer=empty_pb2.Empty.SerializeToString),
        }
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="monitoring"))
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        # Monitoring serves its alerting APIs on the same host (monitoring.googleapis.com), so the sandbox does too.
        for service, methods in (alert_handlers(alerts) if alerts is not None else {}).items():
            table = {method: grpc.unary_unary_rpc_method_handler(self._guard(method, fn),
                                                                  request_deserializer=cls.deserialize,
                                                                  response_serializer=serialize)
                     for method, (fn, cls, serialize) in methods.items()}
            self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, table),))
        port = self._server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{port}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=0.5).wait(5)

    def _guard(self, method: str, fn: Callable[[Any], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def handler(request: Any, context: grpc.ServicerContext) -> Any:
            self.calls[method] += 1
            faults = self._faults.monitoring
            if faults.latency_s:
                time.sleep(faults.latency_s)
            kind = faults.draw(method, write=False)
            if kind is not None:
                context.abort(grpc.StatusCode[kind], MESSAGES[kind])
            try:
                return fn(request)
            except ApiError as exc:
                context.abort(grpc.StatusCode[exc.status], exc.message)

        return handler

    def _project(self, name: str) -> str:
        project = name.removeprefix("projects/")
        if not name.startswith("projects/") or "/" in project or not project:
            raise ApiError("INVALID_ARGUMENT", f"name must be projects/PROJECT_ID, got {name!r}.")
        if project not in self._projects():
            raise ApiError("NOT_FOUND", f"Project {project!r} is not known to the sandbox.")
        return project

    def list_time_series(self, request: monitoring_v3.ListTimeSeriesRequest) -> monitoring_v3.ListTimeSeriesResponse:
        project = self._project(request.name)
        series = self.answer(project, request)
        if request.view == monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.HEADERS:
            for ts in series:
                del ts.points[:]
        size = request.page_size or 1000
        offset = int(request.page_token or "0")
        page = series[offset:offset + size]
        token = str(offset + size) if offset + size < len(series) else ""
        return monitoring_v3.ListTimeSeriesResponse(time_series=page, next_page_token=token)

    def answer(self, project: str, request: monitoring_v3.ListTimeSeriesRequest) -> list[monitoring_v3.TimeSeries]:
        """The series a ListTimeSeries request selects (no paging): also what alert conditions are evaluated on."""
        return run(project, request, services=self._services, window=self._window, custom=self.custom.read,
                   now=self._now(), custom_prefixes=CUSTOM_PREFIXES, ingestion=self._ingestion())

    def create_time_series(self, request: monitoring_v3.CreateTimeSeriesRequest) -> empty_pb2.Empty:
        project = self._project(request.name)
        if not 0 < len(request.time_series) <= 200:
            raise ApiError("INVALID_ARGUMENT", "A CreateTimeSeries request carries 1 to 200 time series.")
        for ts in request.time_series:
            self.custom.write(project, ts)
        return empty_pb2.Empty()
