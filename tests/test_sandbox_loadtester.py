"""The sandbox's load tester: Flagger's webhook API over HTTP, and its synthetic requests in Cloud Run's metrics."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from core.providers.cloudrun import CloudRunAdapter
from core.providers.monitoring import MonitoringAdapter, RevisionMetrics
from core.providers.profile import google_clients
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.loadtester import LoadTestRefused, go_duration, parse_hey
from sandbox.monitoring_ingest import FAST as FAST_POINTS
from sandbox.traffic import RevisionTraffic, TrafficSimulator
from tests.google_rig import FAST

SERVICE = "websocket-server"
PROJECT = "ai-agent-network-prod"
SERVICE_FULL = f"projects/{PROJECT}/locations/us-central1/services/{SERVICE}"
T0 = 1_750_000_020.0  # a whole minute, so a run started on the minute fills exactly one


@pytest.fixture
def clock() -> SandboxClock:
    return SandboxClock(speed=0, start=T0)


def post(cloud: SandboxCloud, cmd: str, name: str = SERVICE) -> httpx.Response:
    payload = {"name": name, "namespace": "production", "phase": "Progressing",
               "metadata": {"type": "cmd", "cmd": cmd}}
    return httpx.post(cloud.endpoints.loadtester_url + "/", json=payload)


def idle_canary(run: CloudRunAdapter, clock: SandboxClock) -> str:
    """A ready revision with a tag and 0 % of the traffic; the clock left on the next whole minute."""
    canary = run.deploy_revision(SERVICE, "img:v2", "canary", wait=False).name
    clock.advance(30)
    assert run.get_service(SERVICE).traffic.get(canary, 0) == 0
    clock.advance(60 - clock.time() % 60)
    return canary


def at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def served(metrics: MonitoringAdapter, revision: str, start: float, end: float) -> RevisionMetrics:
    return metrics.revision_metrics(SERVICE, at(start), at(end)).get(revision, RevisionMetrics(revision))


def plain(window: dict[str, RevisionTraffic]) -> dict[str, tuple[dict[str, int], dict[int, float], dict[str, int]]]:
    """A simulator window as comparable values (histograms compare by identity)."""
    return {r: (t.codes, t.latency.counts, t.instances) for r, t in window.items()}


def within_poisson(count: int, mean: float) -> bool:
    return abs(count - mean) <= 4 * math.sqrt(mean)


def test_a_run_on_an_idle_revision_shows_its_requests_in_cloud_run_metrics(
        cloud: SandboxCloud, run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    canary = idle_canary(run, clock)
    t = clock.time()
    clock.advance(60)
    assert served(metrics, canary, t, t + 60).total == 0  # no user traffic reaches a 0 % revision
    t = clock.time()

    answer = post(cloud, f"hey -z 1m -q 5 -c 2 {cloud.revision_url(f'{SERVICE_FULL}/revisions/{canary}')}/")
    assert answer.status_code == 202, answer.text
    assert answer.text.startswith("command hey -z 1m") and answer.text.endswith("started")
    [recorded] = cloud.load_tests.runs()
    assert (recorded.target, recorded.rps, recorded.start, recorded.end) == (
        f"{SERVICE_FULL}/revisions/{canary}", 10.0, t, t + 60)
    clock.advance(60)

    c = served(metrics, canary, t, t + 60)
    assert within_poisson(c.total, 600)
    assert c.latency is not None and c.latency.total == c.total  # timed like any request
    assert c.instances >= 1  # Cloud Run starts an instance for the tag URL's requests
    assert served(metrics, canary, t + 60, t + 120).total == 0  # the run is over


def test_a_run_on_one_revision_adds_nothing_to_the_others(
        cloud: SandboxCloud, run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    stable = run.get_service(SERVICE).latest_ready_revision
    canary = idle_canary(run, clock)
    run.set_traffic(SERVICE, {stable: 90, canary: 10})
    t = clock.time()
    assert post(cloud, f"hey -z 2m -q 10 -c 2 {run.get_service(SERVICE).revision(canary).url}").status_code == 202
    clock.advance(120)

    with_load = metrics.revision_metrics(SERVICE, at(t), at(t + 120))
    without = TrafficSimulator(cloud.cloudrun, cloud.timeline).window(SERVICE_FULL, t, t + 120)  # no load tester
    assert with_load[stable].requests == {k: n for k, n in without[stable].codes.items() if n}
    assert within_poisson(with_load[canary].total - without[canary].requests, 2400)
    dev = "projects/ai-agent-network-dev/locations/us-central1/services/websocket-server"
    assert plain(cloud.traffic.window(dev, t, t + 120)) == plain(
        TrafficSimulator(cloud.cloudrun, cloud.timeline).window(dev, t, t + 120))


def test_a_run_on_the_service_url_is_split_like_user_traffic(
        cloud: SandboxCloud, run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    stable = run.get_service(SERVICE).latest_ready_revision
    canary = idle_canary(run, clock)
    run.set_traffic(SERVICE, {stable: 75, canary: 25})
    t = clock.time()
    assert post(cloud, f"hey -z 1m -q 20 -c 2 {cloud.service_url(SERVICE_FULL)}/").status_code == 202
    clock.advance(60)

    with_load = metrics.revision_metrics(SERVICE, at(t), at(t + 60))
    without = TrafficSimulator(cloud.cloudrun, cloud.timeline).window(SERVICE_FULL, t, t + 60)
    extra = {r: with_load[r].total - without[r].requests for r in (stable, canary)}
    assert within_poisson(sum(extra.values()), 2400)
    total = with_load[stable].total + with_load[canary].total
    assert abs(with_load[canary].total - 0.25 * total) <= 1  # users and load together, split 75/25


@pytest.mark.parametrize("cloud", ["canary-5xx"], indirect=True)
def test_synthetic_requests_fail_at_the_canary_5xx_rate(
        cloud: SandboxCloud, run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    canary = idle_canary(run, clock)  # created under canary-5xx: 8 % of its answers are 5xx
    t = clock.time()
    assert post(cloud, f"hey -z 2m -q 25 -c 2 {cloud.revision_url(f'{SERVICE_FULL}/revisions/{canary}')}") \
        .status_code == 202
    clock.advance(120)

    c = served(metrics, canary, t, t + 120)
    assert within_poisson(c.total, 6000)
    rate = 0.08
    assert c.error_rate is not None and abs(c.error_rate - rate) < 4 * math.sqrt(rate * (1 - rate) / c.total)


def test_requests_sent_before_the_revision_is_ready_fail_fast(
        cloud: SandboxCloud, run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    canary = run.deploy_revision(SERVICE, "img:v2", "canary", wait=False).name  # ready after 8 s (healthy)
    t = clock.time()
    assert post(cloud, f"hey -z 1m -q 50 -c 2 {cloud.revision_url(f'{SERVICE_FULL}/revisions/{canary}')}") \
        .status_code == 202
    clock.advance(60)

    c = served(metrics, canary, t, t + 60)
    assert within_poisson(c.total, 6000)
    assert within_poisson(c.errors_5xx, 800 + 0.002 * 5200)  # 8 s refused, then the healthy 0.2 %


def test_the_same_query_gives_the_same_counts_and_earlier_windows_do_not_change(
        cloud: SandboxCloud, run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    stable = run.get_service(SERVICE).latest_ready_revision
    canary = idle_canary(run, clock)
    run.set_traffic(SERVICE, {stable: 90, canary: 10})
    clock.advance(120)
    t = clock.time()
    before = metrics.revision_metrics(SERVICE, at(t - 120), at(t))  # finished minutes: cached from here on
    tenth = metrics.revision_metrics(SERVICE, at(t - 10), at(t))
    assert post(cloud, f"hey -z 90s -q 10 -c 3 {cloud.revision_url(f'{SERVICE_FULL}/revisions/{canary}')}") \
        .status_code == 202
    clock.advance(30)
    partial = served(metrics, canary, t, t + 30)
    users = TrafficSimulator(cloud.cloudrun, cloud.timeline).window(SERVICE_FULL, t, t + 30)[canary].requests
    assert within_poisson(partial.total - users, 900)
    clock.advance(90)

    assert metrics.revision_metrics(SERVICE, at(t - 120), at(t)) == before
    assert metrics.revision_metrics(SERVICE, at(t - 10), at(t)) == tenth
    assert served(metrics, canary, t, t + 30) == partial  # the same part of a minute, now finished
    windows = [metrics.revision_metrics(SERVICE, at(t + k), at(t + k + 10)) for k in (0, 40, 80)]
    assert windows == [metrics.revision_metrics(SERVICE, at(t + k), at(t + k + 10)) for k in (0, 40, 80)]
    assert [w[canary].total > w[stable].total / 2 for w in windows] == [True, True, True]


def test_a_minute_seen_whole_a_moment_early_still_gets_a_run_started_in_that_moment(cloud: SandboxCloud) -> None:
    stable = cloud.cloudrun.service(SERVICE_FULL).latest_ready
    minute_end = T0 + 120
    cloud.clock.advance(minute_end - 0.0004 - cloud.clock.time())
    first = cloud.traffic.window(SERVICE_FULL, minute_end - 60, minute_end)  # the end rounds to the whole minute
    url = cloud.revision_url(f"{SERVICE_FULL}/revisions/{stable}")
    assert post(cloud, f"hey -z 1s -q 1000 -c 100 {url}").status_code == 202  # 40 expected in the 0.4 ms left
    cloud.clock.advance(1)
    again = cloud.traffic.window(SERVICE_FULL, minute_end - 60, minute_end)
    assert within_poisson(again[stable].requests - first[stable].requests, 40)


def test_the_same_command_for_the_same_canary_is_not_started_twice_while_it_runs(
        cloud: SandboxCloud, clock: SandboxClock) -> None:
    cmd = f"hey -z 30s -q 5 -c 2 {cloud.service_url(SERVICE_FULL)}"
    assert post(cloud, cmd).text.endswith("started")
    clock.advance(10)
    again = post(cloud, cmd)
    assert again.status_code == 202 and again.text.endswith("already running")
    assert post(cloud, cmd, name="another-canary").text.endswith("started")
    clock.advance(20)
    assert post(cloud, cmd).text.endswith("started")  # the first run is over
    assert [r.start - T0 for r in cloud.load_tests.runs()] == [0, 10, 30]


def test_bad_payloads_are_refused_with_a_sentence_naming_what_is_wrong(cloud: SandboxCloud) -> None:
    url = cloud.service_url(SERVICE_FULL)
    base = cloud.endpoints.loadtester_url + "/"
    cases = [
        (httpx.post(base, content=b"hey -z 1m"), "must be a JSON object"),
        (httpx.post(base, json={"name": "x", "namespace": "y"}), "no metadata"),
        (httpx.post(base, json={"metadata": {"type": "bash", "cmd": f"hey -z 1m -q 1 {url}"}}), "metadata.type"),
        (post(cloud, f"hey -n 200 -c 2 {url}"), "no -z duration"),
        (post(cloud, f"hey -z 1x -q 1 {url}"), "-z '1x' is not a positive Go duration"),
        (post(cloud, f"hey -z 1m {url}"), "no -q rate"),
        (post(cloud, f"hey -z 1m -q 1 -m POST {url}"), "GET only"),
        (post(cloud, "hey -z 1m -q 1 http://127.0.0.1:1/"), "no revision or service URL of this sandbox"),
        (post(cloud, f"curl {url}"), "must run hey"),
    ]
    for answer, reason in cases:
        assert answer.status_code == 400
        assert reason in answer.text and answer.text.count(". ") == 0 and answer.text.endswith(".")
    assert cloud.load_tests.runs() == []


def test_hey_commands_parse_as_hey_reads_them() -> None:
    hey = parse_hey("hey -z 1m30s -q 2.5 -c 4 -host x.example.com -t 5 -H 'Accept: */*' -disable-keepalive "
                    "https://canary---svc.run.app/ping")
    assert (hey.url, hey.duration_s, hey.rps) == ("https://canary---svc.run.app/ping", 90.0, 10.0)
    assert parse_hey("hey -z=500ms -q=1 http://a/").rps == 50  # hey's default: 50 workers
    assert [go_duration(d) for d in ("10s", "1m", "1.5h", "250ms", "2m0.5s")] == [10, 60, 5400, 0.25, 120.5]
    for bad in ("hey -z 0s -q 1 http://a/", "hey -z 1m -q 1 -Y 2 http://a/", "hey -z 1m -q 1 http://a/ && rm x",
                "hey -z 1m -q 1 -c 0 http://a/"):
        with pytest.raises(LoadTestRefused):
            parse_hey(bad)


def test_runs_survive_a_restart_with_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    clock = SandboxClock(speed=0, start=T0)
    # Points visible at once (not Google's), kept in the state file: the restarted cloud serves them the same way.
    with SandboxCloud(clock=clock, state_file=state_file, ingestion=FAST_POINTS) as cloud:
        stable = cloud.cloudrun.service(SERVICE_FULL).latest_ready
        assert post(cloud, f"hey -z 2m -q 10 -c 1 {cloud.revision_url(f'{SERVICE_FULL}/revisions/{stable}')}") \
            .status_code == 202
        clock.advance(60)
        runs = cloud.load_tests.runs()
        first = plain(cloud.traffic.window(SERVICE_FULL, T0, T0 + 60))

    with SandboxCloud(clock=SandboxClock(speed=0, start=T0), state_file=state_file) as again:
        assert again.load_tests.runs() == runs
        assert plain(again.traffic.window(SERVICE_FULL, T0, T0 + 60)) == first
        assert again.endpoints.loadtester_url
        with_clients = google_clients(again.endpoints)
        again.clock.advance(60)
        metrics = MonitoringAdapter(with_clients.metrics, PROJECT, policy=FAST, now=again.clock.now)
        second_minute = metrics.revision_metrics(SERVICE, at(T0 + 60), at(T0 + 120))[stable]
        with_clients.close()
    without = TrafficSimulator(again.cloudrun, again.timeline).window(SERVICE_FULL, T0 + 60, T0 + 120)
    assert within_poisson(second_minute.total - without[stable].requests, 600)  # the run goes on after a restart
