"""The Monitoring adapter driving the official google-cloud-monitoring client (gRPC) against the sandbox."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from google.api import distribution_pb2

from core.analysis.latency import pool_histograms
from core.errors import BadInput
from core.providers.cloudrun import CloudRunAdapter
from core.providers.monitoring import MonitoringAdapter, latency_histogram
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud

SERVICE = "websocket-server"
PROJECT = "ai-agent-network-prod"


def start_canary(run: CloudRunAdapter, clock: SandboxClock, percent: int, image: str = "img:v2") -> tuple[str, str]:
    stable = run.get_service(SERVICE).latest_ready_revision
    canary = run.deploy_revision(SERVICE, image, "canary", wait=False).name
    clock.advance(30)
    run.set_traffic(SERVICE, {stable: 100 - percent, canary: percent})
    return stable, canary


@pytest.mark.parametrize("cloud", ["canary-5xx"], indirect=True)
def test_the_canary_5xx_share_is_the_scenario_rate_within_sampling_error(
        run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    stable, canary = start_canary(run, clock, 10)
    clock.advance(1800)
    end = clock.now()
    by_revision = metrics.revision_metrics(SERVICE, end - timedelta(minutes=30), end)
    c = by_revision[canary]
    assert c.total > 1000
    rate = 0.08  # canary-5xx.toml
    assert abs(c.errors_5xx / c.total - rate) < 4 * math.sqrt(rate * (1 - rate) / c.total)
    s = by_revision[stable]
    assert s.error_rate is not None and s.error_rate < 0.01
    assert 7 < s.total / c.total < 12  # a 90/10 split


def test_one_batched_read_per_metric_and_service_however_many_revisions(
        run: CloudRunAdapter, metrics: MonitoringAdapter, cloud: SandboxCloud, clock: SandboxClock) -> None:
    stable, canary = start_canary(run, clock, 20)
    third = run.deploy_revision(SERVICE, "img:v3", "next", wait=False).name
    clock.advance(30)
    run.set_traffic(SERVICE, {stable: 60, canary: 20, third: 20})
    clock.advance(600)
    before = cloud.monitoring_calls["ListTimeSeries"]
    end = clock.now()
    by_revision = metrics.revision_metrics(SERVICE, end - timedelta(minutes=10), end)
    assert set(by_revision) == {stable, canary, third}
    assert cloud.monitoring_calls["ListTimeSeries"] - before == 3  # counts, latency distributions, instances


def test_a_run_of_windows_is_three_reads_and_each_window_is_what_reading_it_alone_gives(
        run: CloudRunAdapter, metrics: MonitoringAdapter, cloud: SandboxCloud, clock: SandboxClock) -> None:
    clock.advance(120)
    stable, canary = start_canary(run, clock, 10)
    clock.advance(600 - clock.now().timestamp() % 60)  # on a minute: the windows Monitoring aligns to
    end = clock.now()
    before = cloud.monitoring_calls["ListTimeSeries"]
    windows = metrics.window_metrics(SERVICE, end - timedelta(minutes=15), end, 60)
    assert cloud.monitoring_calls["ListTimeSeries"] - before == 3  # counts, latency distributions, instances
    assert sorted(windows)[-1] == end and all((end - at).total_seconds() % 60 == 0 for at in windows)
    assert len(windows) == 15  # the sandbox serves every minute: none is absent
    assert canary not in windows[end - timedelta(minutes=14)]  # before the canary existed: not served
    for at in (end, end - timedelta(minutes=7)):
        alone = metrics.revision_metrics(SERVICE, at - timedelta(seconds=60), at)
        for revision in (stable, canary):
            together = windows[at][revision]
            assert (together.requests, together.p99_ms, together.instances) == \
                (alone[revision].requests, alone[revision].p99_ms, alone[revision].instances)
    with pytest.raises(BadInput, match="finer than Monitoring's 60 s"):
        metrics.window_metrics(SERVICE, end - timedelta(minutes=5), end, 10)


def test_a_revision_latency_comes_as_one_distribution_whose_counts_match_its_requests(
        run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    stable, canary = start_canary(run, clock, 10)
    clock.advance(600)
    end = clock.now()
    by_revision = metrics.revision_metrics(SERVICE, end - timedelta(minutes=10), end)
    for served in by_revision.values():
        assert served.latency is not None
        assert served.latency.total == served.total  # every request timed, once
        assert served.p99_ms == served.latency.percentile(99)
    assert by_revision[canary].latency.layout == by_revision[stable].latency.layout  # type: ignore[union-attr]


def test_short_windows_add_up_to_the_span_they_cover(run: CloudRunAdapter, metrics: MonitoringAdapter,
                                                     clock: SandboxClock) -> None:
    # 10 s windows do not overlap: six of them hold the minute's requests (each part rounds its share of the
    # minute's demand to whole requests, hence the slack of one per part), not six minutes' worth.
    stable, _ = start_canary(run, clock, 10)
    clock.advance(120)
    end = clock.now()
    whole = metrics.revision_metrics(SERVICE, end - timedelta(seconds=60), end)[stable]
    parts = [metrics.revision_metrics(SERVICE, end - timedelta(seconds=60 - 10 * k),
                                      end - timedelta(seconds=50 - 10 * k))[stable] for k in range(6)]
    assert abs(sum(p.total for p in parts) - whole.total) <= 6
    pooled = pool_histograms(p.latency for p in parts if p.latency is not None)
    assert pooled is not None and pooled.total == sum(p.total for p in parts)


@pytest.mark.parametrize("cloud", ["canary-latency"], indirect=True)
def test_a_p99_regression_of_the_canary_shows_in_its_latency(
        run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    stable, canary = start_canary(run, clock, 25)
    clock.advance(1200)
    end = clock.now()
    by_revision = metrics.revision_metrics(SERVICE, end - timedelta(minutes=20), end)
    s, c = by_revision[stable], by_revision[canary]
    assert s.p99_ms is not None and c.p99_ms is not None
    assert 120 < s.p99_ms < 260  # healthy: 180 ms
    assert c.p99_ms > 2.5 * s.p99_ms  # canary-latency.toml: 900 ms
    assert s.p50_ms is not None and s.p50_ms < s.p95_ms < s.p99_ms  # type: ignore[operator]
    assert c.latency is not None and s.latency is not None
    bound = s.latency.bucket_at(99)  # a twentieth of a second above stable's p99: 1 % of stable, far more of the canary
    assert c.latency.above(bound) / c.latency.total > 5 * s.latency.above(bound) / s.latency.total


@pytest.mark.parametrize("cloud", ["low-traffic"], indirect=True)
def test_low_traffic_is_under_one_request_per_second(metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    clock.advance(600)
    end = clock.now()
    (only,) = metrics.revision_metrics(SERVICE, end - timedelta(minutes=10), end).values()
    assert 0 < only.total < 600


@pytest.mark.parametrize("cloud", ["instances-zero"], indirect=True)
def test_with_no_instances_every_request_fails_and_no_instance_is_counted(
        metrics: MonitoringAdapter, cloud: SandboxCloud, clock: SandboxClock) -> None:
    clock.advance(600)
    end = clock.now()
    (only,) = metrics.revision_metrics(SERVICE, end - timedelta(minutes=5), end).values()
    assert only.total > 0 and only.errors_5xx == only.total
    assert only.instances == 0
    cloud.set_scenario("healthy")
    clock.advance(600)
    end = clock.now()
    (healthy,) = metrics.revision_metrics(SERVICE, end - timedelta(minutes=5), end).values()
    assert healthy.instances >= 1 and healthy.error_rate is not None and healthy.error_rate < 0.02


def test_the_same_query_gives_the_same_answer(run: CloudRunAdapter, metrics: MonitoringAdapter,
                                              clock: SandboxClock) -> None:
    start_canary(run, clock, 10)
    clock.advance(900)
    end = clock.now()
    first = metrics.revision_metrics(SERVICE, end - timedelta(minutes=15), end)
    clock.advance(300)
    assert metrics.revision_metrics(SERVICE, end - timedelta(minutes=15), end) == first


def test_deployment_events_are_written_and_read_back(metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    start = clock.now()
    metrics.write_deployment_event("production", SERVICE, "started")
    metrics.write_deployment_event("production", SERVICE, "started")  # same second: kept, 5 s later
    metrics.write_deployment_event("production", SERVICE, "promoted", 100.0)
    metrics.write_deployment_event("staging", SERVICE, "started")
    events = metrics.deployment_events(start, clock.now() + timedelta(seconds=10), env="production")
    assert [(e.kind, e.value) for e in events] == [("started", 1.0), ("promoted", 100.0), ("started", 1.0)]
    assert {e.env for e in events} == {"production"}


def test_a_window_that_ends_before_it_starts_is_bad_input(metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    end = clock.now()
    with pytest.raises(BadInput, match="ends"):
        metrics.revision_metrics(SERVICE, end, end - timedelta(minutes=5))


def test_every_bucket_layout_monitoring_uses_is_read() -> None:
    options = distribution_pb2.Distribution.BucketOptions
    linear = distribution_pb2.Distribution(count=10, bucket_options=options(
        linear_buckets=options.Linear(num_finite_buckets=4, width=50.0, offset=0.0)), bucket_counts=[0, 5, 5])
    explicit = distribution_pb2.Distribution(count=10, bucket_options=options(
        explicit_buckets=options.Explicit(bounds=[0.0, 50.0, 100.0, 150.0, 200.0])), bucket_counts=[0, 5, 5])
    read = [latency_histogram(d) for d in (linear, explicit)]
    assert read[0] == read[1]  # the same buckets, described two ways
    assert read[0] is not None and read[0].total == 10 and read[0].percentile(50) == pytest.approx(50.0)
    assert latency_histogram(distribution_pb2.Distribution(count=0)) is None
