"""Dashboards provider: one Cloud Monitoring dashboard per environment, with canary and stable panels.

Over google-cloud-monitoring-dashboards' DashboardsServiceClient (REST transport, like Cloud Run, so
the sandbox serves it with aiohttp). The dashboard's id is fixed per environment
(`projects/P/dashboards/opsconsole-<env>`), so an upsert is: get it; create it when absent; update it
with the etag just read when its content differs; leave it alone when it is the same (no write, the
etag stays). A concurrent change (ABORTED, etag mismatch) or a create that lost a race
(ALREADY_EXISTS) is answered by reading again, once.

Panels, for the canary revision and the stable revision each: 5xx rate (5xx requests / all, ALIGN_RATE
ratio), latency p50 and p99 (run.googleapis.com/request_latencies, ALIGN_PERCENTILE_xx) and requests
per second (request_count, ALIGN_RATE).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import monitoring_dashboard_v1 as dash

from core.errors import BadInput
from core.ports import DashboardsProvider
from core.providers.google_retry import RetryPolicy, call_google
from core.providers.profile import Endpoints

API = "Cloud Monitoring dashboards"
DASHBOARDS_DEFAULT = "https://monitoring.googleapis.com"
REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
ALIGNMENT = timedelta(seconds=60)
__all__ = ["DashboardsAdapter", "DashboardsProvider", "build_dashboard", "dashboard_id", "dashboards_client"]

Upsert = Literal["created", "updated", "unchanged"]
Aligner = dash.Aggregation.Aligner
Reducer = dash.Aggregation.Reducer


@dataclass(frozen=True)
class Panel:
    title: str
    dashboard_filter: str
    aggregation: dash.Aggregation
    denominator: str = ""  # for a ratio: the filter of the denominator (same aggregation)


def dashboard_id(env: str) -> str:
    return f"opsconsole-{env}"


def _revision_filter(metric: str, service: str, revision: str, extra: str = "") -> str:
    terms = [f'metric.type="{metric}"', 'resource.type="cloud_run_revision"',
             f'resource.labels.service_name="{service}"', f'resource.labels.revision_name="{revision}"']
    if extra:
        terms.append(extra)
    return " ".join(terms)


def _panels(service: str, role: str, revision: str) -> list[Panel]:
    rate = dash.Aggregation(alignment_period=ALIGNMENT, per_series_aligner=Aligner.ALIGN_RATE,
                            cross_series_reducer=Reducer.REDUCE_SUM)
    count = _revision_filter(REQUEST_COUNT, service, revision)
    return [
        Panel(f"{role} 5xx rate ({revision})",
              _revision_filter(REQUEST_COUNT, service, revision, 'metric.labels.response_code_class="5xx"'),
              rate, denominator=count),
        *(Panel(f"{role} latency {label} ({revision})", _revision_filter(REQUEST_LATENCIES, service, revision),
                dash.Aggregation(alignment_period=ALIGNMENT, per_series_aligner=aligner,
                                 cross_series_reducer=Reducer.REDUCE_MAX))
          for label, aligner in (("p50", Aligner.ALIGN_PERCENTILE_50), ("p99", Aligner.ALIGN_PERCENTILE_99))),
        Panel(f"{role} requests per second ({revision})", count, rate),
    ]


def _widget(panel: Panel) -> dash.Widget:
    if panel.denominator:
        query = dash.TimeSeriesQuery(time_series_filter_ratio=dash.TimeSeriesFilterRatio(
            numerator=dash.TimeSeriesFilterRatio.RatioPart(filter=panel.dashboard_filter,
                                                           aggregation=panel.aggregation),
            denominator=dash.TimeSeriesFilterRatio.RatioPart(filter=panel.denominator,
                                                             aggregation=panel.aggregation)))
    else:
        query = dash.TimeSeriesQuery(time_series_filter=dash.TimeSeriesFilter(filter=panel.dashboard_filter,
                                                                              aggregation=panel.aggregation))
    return dash.Widget(title=panel.title, xy_chart=dash.XyChart(data_sets=[dash.XyChart.DataSet(
        time_series_query=query, plot_type=dash.XyChart.DataSet.PlotType.LINE)]))


def build_dashboard(project: str, env: str, service: str, canary_revision: str | None,
                    stable_revision: str | None) -> dash.Dashboard:
    """The desired dashboard: a row of panels per revision (canary first), four panels to a row."""
    tiles: list[dash.MosaicLayout.Tile] = []
    rows = [("canary", canary_revision), ("stable", stable_revision)]
    y = 0
    for role, revision in rows:
        if not revision:
            continue
        for x, panel in enumerate(_panels(service, role, revision)):
            tiles.append(dash.MosaicLayout.Tile(x_pos=x * 12, y_pos=y, width=12, height=16, widget=_widget(panel)))
        y += 16
    if not tiles:
        tiles.append(dash.MosaicLayout.Tile(x_pos=0, y_pos=0, width=48, height=8, widget=dash.Widget(
            title="no revision yet", text=dash.Text(content=f"{service} has no canary or stable revision yet."))))
    return dash.Dashboard(name=f"projects/{project}/dashboards/{dashboard_id(env)}",
                          display_name=f"opsconsole {env}: {service}", labels={"opsconsole": "", env: ""},
                          mosaic_layout=dash.MosaicLayout(columns=48, tiles=tiles))


def _content(d: dash.Dashboard) -> tuple[str, Mapping[str, str], bytes]:
    """What an upsert compares: name and etag aside, the display name, labels and layout."""
    return d.display_name, dict(d.labels), dash.MosaicLayout.serialize(d.mosaic_layout)


class DashboardsAdapter:
    """DashboardsProvider over the official DashboardsServiceClient for one project."""

    def __init__(self, client: dash.DashboardsServiceClient, project: str, *, policy: RetryPolicy | None = None,
                 ) -> None:
        self._client = client
        self.project = project
        self._policy = policy or RetryPolicy()
        self._retry = self._policy.retry()

    def get(self, env: str) -> dash.Dashboard | None:
        name = f"projects/{self.project}/dashboards/{dashboard_id(env)}"
        try:
            return call_google(API, "reading", name, lambda: self._client.get_dashboard(
                name=name, retry=self._retry, timeout=self._policy.deadline), passthrough=(gexc.NotFound,))
        except gexc.NotFound:
            return None

    def upsert_environment(self, env: str, service: str, *, canary_revision: str | None,
                           stable_revision: str | None) -> Upsert:
        """Make the environment's dashboard show these revisions; idempotent (see the module doc)."""
        wanted = build_dashboard(self.project, env, service, canary_revision, stable_revision)
        for attempt in range(2):
            held = self.get(env)
            last = attempt == 1
            if held is None:
                try:
                    self._create(wanted, passthrough=() if last else (gexc.Conflict,))
                    return "created"
                except gexc.Conflict:  # ALREADY_EXISTS: another console created it first; read it
                    continue
            if _content(held) == _content(wanted):
                return "unchanged"
            update = dash.Dashboard(wanted)
            update.etag = held.etag
            try:
                self._update(update, passthrough=() if last else (gexc.Aborted, gexc.Conflict))
                return "updated"
            except (gexc.Aborted, gexc.Conflict):  # the etag moved under us: read again and retry once
                continue
        raise AssertionError("unreachable: the last attempt raises")

    def _create(self, d: dash.Dashboard, passthrough: tuple[type[BaseException], ...]) -> None:
        call_google(API, "creating", d.name, lambda: self._client.create_dashboard(
            parent=f"projects/{self.project}", dashboard=d, retry=self._retry, timeout=self._policy.deadline),
            passthrough=passthrough)

    def _update(self, d: dash.Dashboard, passthrough: tuple[type[BaseException], ...]) -> None:
        call_google(API, "updating", d.name, lambda: self._client.update_dashboard(
            request=dash.UpdateDashboardRequest(dashboard=d), retry=self._retry, timeout=self._policy.deadline),
            passthrough=passthrough)


def dashboards_client(endpoints: Endpoints) -> dash.DashboardsServiceClient:
    """The REST client for the endpoints' Dashboards address: the sandbox's (anonymous) or Google's (ADC)."""
    url = endpoints.dashboards_url
    if endpoints.credentials == "anonymous":
        if not url:
            raise BadInput("The sandbox serves no Dashboards API (its endpoints carry no dashboards_url).")
        return dash.DashboardsServiceClient(transport="rest", credentials=AnonymousCredentials(),
                                            client_options={"api_endpoint": url})
    options = {} if url in ("", DASHBOARDS_DEFAULT) else {"api_endpoint": url}
    return dash.DashboardsServiceClient(transport="rest", client_options=options)
