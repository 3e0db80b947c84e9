"""The sandbox's ListTimeSeries answers Monitoring v3's filters, aligners and reducers, through the official client,
and refuses what Google refuses with Google's codes and words."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from google.api import metric_pb2
from google.api_core import exceptions as gexc
from google.cloud import monitoring_v3

from core.providers.cloudrun import CloudRunAdapter
from core.providers.monitoring import INSTANCE_COUNT, REQUEST_COUNT, REQUEST_LATENCIES, MonitoringAdapter
from core.providers.profile import GoogleClients
from sandbox.clock import SandboxClock
from sandbox.monitoring_ingest import Ingestion
from tests.google_rig import PROJECT

SERVICE = "websocket-server"
RUN = f'resource.type = "cloud_run_revision" AND resource.labels.service_name = "{SERVICE}"'
A, R = monitoring_v3.Aggregation.Aligner, monitoring_v3.Aggregation.Reducer
REVISION = "resource.labels.revision_name"
GAUGE = "custom.googleapis.com/queue_depth"


@pytest.fixture
def ingestion() -> Ingestion:
    """Google's 60 s points, visible at once: these tests read the minutes just ended (delays: another module)."""
    return Ingestion(point_s=60, delay_s=0)


def read(clients: GoogleClients, filter_: str, end: datetime, minutes: int = 5, aligner: int = 0, reducer: int = 0,
         group_by: tuple[str, ...] = (), period_s: int = 60) -> list[monitoring_v3.TimeSeries]:
    aggregation = monitoring_v3.Aggregation(
        alignment_period=timedelta(seconds=period_s) if period_s else None, per_series_aligner=aligner,
        cross_series_reducer=reducer, group_by_fields=list(group_by))
    request = monitoring_v3.ListTimeSeriesRequest(
        name=f"projects/{PROJECT}", filter=filter_,
        interval=monitoring_v3.TimeInterval(start_time=end - timedelta(minutes=minutes), end_time=end),
        aggregation=aggregation if aligner or reducer or period_s != 60 else None)
    return list(clients.metrics.list_time_series(request=request))


def canary(run: CloudRunAdapter, clock: SandboxClock, percent: int = 20) -> tuple[str, str]:
    stable = run.get_service(SERVICE).latest_ready_revision
    new = run.deploy_revision(SERVICE, "img:v2", "canary", wait=False).name
    clock.advance(30)
    run.set_traffic(SERVICE, {stable: 100 - percent, new: percent})
    clock.advance(1200)
    return stable, new


def minute_end(clock: SandboxClock) -> datetime:
    """Now, moved on to the next whole minute, so raw points and aligned periods cover the same minutes."""
    clock.advance(60 - clock.time() % 60)
    return clock.now()


def counts(series: list[monitoring_v3.TimeSeries]) -> int:
    return sum(p.value.int64_value for ts in series for p in ts.points)


@pytest.mark.parametrize("cloud", ["canary-latency"], indirect=True)
def test_p99_per_series_then_the_mean_across_revisions_shows_the_slow_canary(
        run: CloudRunAdapter, clients: GoogleClients, clock: SandboxClock) -> None:
    stable, new = canary(run, clock, 25)
    end = clock.now()
    by_revision = {ts.resource.labels["revision_name"]: ts for ts in read(
        clients, f'metric.type = "{REQUEST_LATENCIES}" AND {RUN}', end, 5, A.ALIGN_PERCENTILE_99, R.REDUCE_MEAN,
        (REVISION,))}
    assert set(by_revision) == {stable, new}
    slow, fast = by_revision[new], by_revision[stable]
    assert len(slow.points) == 5 and slow.value_type == metric_pb2.MetricDescriptor.ValueType.DOUBLE
    assert min(p.value.double_value for p in slow.points) > 2 * max(p.value.double_value for p in fast.points)


def test_a_rate_is_the_delta_over_the_period_and_sum_without_group_by_is_one_series(
        run: CloudRunAdapter, clients: GoogleClients, clock: SandboxClock) -> None:
    canary(run, clock)
    end = clock.now()
    metric = f'metric.type = "{REQUEST_COUNT}" AND {RUN}'
    (rate,) = read(clients, metric, end, 5, A.ALIGN_RATE, R.REDUCE_SUM)
    (delta,) = read(clients, metric, end, 5, A.ALIGN_DELTA, R.REDUCE_SUM)
    assert dict(rate.resource.labels) == {"project_id": PROJECT} and not rate.metric.labels
    per_second = [p.value.int64_value / 60 for p in delta.points]
    assert [p.value.double_value for p in rate.points] == pytest.approx(per_second)
    by_revision = read(clients, metric, end, 5, A.ALIGN_DELTA, R.REDUCE_SUM, (REVISION,))
    assert len(by_revision) == 2 and counts(by_revision) == counts([delta]) > 1000


def test_raw_points_are_the_minutes_that_ended_and_add_up_to_the_aligned_delta(
        run: CloudRunAdapter, clients: GoogleClients, clock: SandboxClock) -> None:
    canary(run, clock)
    end = minute_end(clock)
    metric = f'metric.type = "{REQUEST_COUNT}" AND {RUN}'
    raw = read(clients, metric, end, 5)
    assert {ts.metric.labels["response_code_class"] for ts in raw} >= {"2xx", "4xx"}
    assert {ts.resource.labels["revision_name"] for ts in raw} and all(ts.resource.labels["location"] for ts in raw)
    ends = {p.interval.end_time for ts in raw for p in ts.points}
    # The whole minutes ending in (start, end]: reads are half-open, "It includes the end time but excludes the start
    # time" (Monitoring v3's TimeInterval reference), so the minute ending at the start is not read.
    assert len(ends) == 5
    for ts in raw:
        for p in ts.points:
            assert p.interval.end_time - p.interval.start_time == timedelta(seconds=60)
    inside = [p.value.int64_value for ts in raw for p in ts.points if p.interval.end_time > end - timedelta(minutes=5)]
    assert sum(inside) == counts(read(clients, metric, end, 5, A.ALIGN_DELTA, R.REDUCE_SUM))


@pytest.mark.parametrize("cloud", ["canary-5xx"], indirect=True)
def test_filters_on_revision_and_response_class_select_those_series(
        run: CloudRunAdapter, clients: GoogleClients, clock: SandboxClock) -> None:
    stable, new = canary(run, clock)
    end = clock.now()
    only = read(clients, f'metric.type = "{REQUEST_COUNT}" AND {RUN} AND {REVISION} = "{new}" '
                         'AND metric.labels.response_code_class = "5xx"', end, 10, A.ALIGN_DELTA)
    assert [(ts.resource.labels["revision_name"], ts.metric.labels["response_code_class"]) for ts in only] == \
        [(new, "5xx")]
    errors = counts(only)
    assert errors > 20
    metric = f'metric.type = "{REQUEST_COUNT}" {RUN.replace(" AND ", " ")}'  # side by side means AND
    same = [f'{metric} {REVISION} = "{new}" NOT metric.labels.response_code_class = one_of("2xx", "4xx")',
            f'{metric} (resource.labels.revision_name = "{new}" AND metric.label.response_code_class : "5")',
            f'{metric} {REVISION} = ends_with("{new[-6:]}") metric.labels.response_code_class = '
            'monitoring.regex.full_match("5.x")',
            f'{metric} ({REVISION} = "{new}" OR {REVISION} = "nothing") AND '
            'NOT (metric.labels.response_code_class = "2xx" OR metric.labels.response_code_class = "4xx")']
    for text in same:
        assert counts(read(clients, text, end, 10, A.ALIGN_DELTA)) == errors, text
    stable_errors = read(clients, f'{metric} {REVISION} != "{new}" metric.labels.response_code_class = "5xx"', end,
                         10, A.ALIGN_DELTA)
    assert {ts.resource.labels["revision_name"] for ts in stable_errors} <= {stable}
    assert counts(stable_errors) < errors / 4  # the stable revision is healthy


def test_max_min_mean_and_count_of_a_custom_gauge(clients: GoogleClients, clock: SandboxClock) -> None:
    start = minute_end(clock)
    for value in (3.0, 9.0, 6.0):
        clock.advance(10)
        clients.metrics.create_time_series(name=f"projects/{PROJECT}", time_series=[monitoring_v3.TimeSeries(
            metric={"type": GAUGE, "labels": {"queue": "jobs"}}, resource={"type": "global", "labels": {}},
            points=[monitoring_v3.Point(interval=monitoring_v3.TimeInterval(end_time=clock.now()),
                                        value=monitoring_v3.TypedValue(double_value=value))])])
    end = start + timedelta(seconds=60)
    want = {A.ALIGN_MAX: 9.0, A.ALIGN_MIN: 3.0, A.ALIGN_MEAN: 6.0}
    for aligner, value in want.items():
        (ts,) = read(clients, f'metric.type = "{GAUGE}" AND metric.labels.queue = "jobs"', end, 1, aligner)
        assert [p.value.double_value for p in ts.points] == [value]
    (count,) = read(clients, f'metric.type = "{GAUGE}"', end, 1, A.ALIGN_COUNT, R.REDUCE_SUM)
    assert [p.value.int64_value for p in count.points] == [3]
    assert read(clients, f'metric.type = "{GAUGE}" AND metric.labels.queue = "other"', end, 1, A.ALIGN_MAX) == []


def test_instances_grouped_by_state(run: CloudRunAdapter, clients: GoogleClients, clock: SandboxClock) -> None:
    canary(run, clock)
    states = read(clients, f'metric.type = "{INSTANCE_COUNT}" AND {RUN}', clock.now(), 5, A.ALIGN_MAX, R.REDUCE_SUM,
                  ("metric.labels.state",))
    assert {ts.metric.labels["state"] for ts in states} == {"active", "idle"}


REFUSED = [
    (f'metric.type = "{REQUEST_LATENCIES}"', A.ALIGN_RATE, 0, gexc.InvalidArgument,
     'Field aggregation.perSeriesAligner had an invalid value of "ALIGN_RATE": The aligner cannot be applied to '
     "metrics with kind DELTA and value type DISTRIBUTION."),
    (f'metric.type = "{REQUEST_COUNT}"', A.ALIGN_PERCENTILE_99, 0, gexc.InvalidArgument,
     "kind DELTA and value type INT64"),
    (f'metric.type = "{INSTANCE_COUNT}"', A.ALIGN_DELTA, 0, gexc.InvalidArgument, "kind GAUGE and value type INT64"),
    (f'metric.type = "{REQUEST_LATENCIES}"', A.ALIGN_DELTA, R.REDUCE_MAX, gexc.InvalidArgument,
     'crossSeriesReducer had an invalid value of "REDUCE_MAX"'),
    (f'metric.type = "{REQUEST_COUNT}"', 0, R.REDUCE_SUM, gexc.InvalidArgument, "needs a per-series aligner"),
    (f'metric.type = "{REQUEST_COUNT}" AND (resource.type = "cloud_run_revision"', A.ALIGN_DELTA, 0,
     gexc.InvalidArgument, "Field filter had an invalid value of"),
    (f'metric.type = "{REQUEST_COUNT}" AND revision_name = "x"', A.ALIGN_DELTA, 0, gexc.InvalidArgument,
     "is not a selector"),
    ('resource.type = "cloud_run_revision"', A.ALIGN_DELTA, 0, gexc.InvalidArgument, "one metric type"),
    ('metric.type = "run.googleapis.com/request_counts"', 0, 0, gexc.NotFound,
     'Cannot find metric(s) that match type = "run.googleapis.com/request_counts".'),
]


@pytest.mark.parametrize(("filter_", "aligner", "reducer", "error", "words"), REFUSED)
def test_what_google_refuses_is_refused_with_its_code_and_words(
        clients: GoogleClients, clock: SandboxClock, filter_: str, aligner: int, reducer: int,
        error: type[Exception], words: str) -> None:
    with pytest.raises(error) as caught:
        read(clients, filter_, clock.now(), 5, aligner, reducer)
    assert words in str(caught.value)


@pytest.mark.parametrize("period_s", [0, 30])
def test_an_aligner_needs_an_alignment_period_of_a_minute_or_more(clients: GoogleClients, clock: SandboxClock,
                                                                  period_s: int) -> None:
    with pytest.raises(gexc.InvalidArgument, match="alignmentPeriod"):
        read(clients, f'metric.type = "{REQUEST_COUNT}"', clock.now(), 5, A.ALIGN_DELTA, period_s=period_s)


def test_the_adapter_reads_the_same_numbers_as_a_hand_written_query(
        run: CloudRunAdapter, metrics: MonitoringAdapter, clients: GoogleClients, clock: SandboxClock) -> None:
    stable, new = canary(run, clock)
    end = clock.now()
    seen = metrics.revision_metrics(SERVICE, end - timedelta(minutes=10), end)
    for revision in (stable, new):
        hand = read(clients, f'metric.type = "{REQUEST_COUNT}" AND {REVISION} = "{revision}"', end, 10,
                    A.ALIGN_DELTA, R.REDUCE_SUM, period_s=600)
        assert counts(hand) == seen[revision].total
