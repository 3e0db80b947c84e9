"""The sandbox's Monitoring serves Cloud Run's points as Google does by default: 60 s DELTA points, each visible only
after an ingestion delay of at most 180 s, read through the official client while the sandbox's clock moves on."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from google.cloud import monitoring_v3

from core.errors import BadInput
from core.model.metrics import GOOGLE_CLOUD_RUN_TIMING
from core.providers.cloudrun import CloudRunAdapter
from core.providers.monitoring import REQUEST_COUNT, MonitoringAdapter
from core.providers.profile import GoogleClients
from sandbox.clock import SandboxClock
from sandbox.monitoring_ingest import Ingestion
from tests.cli_project import run
from tests.google_rig import PROJECT, REGION

SERVICE = "websocket-server"
RUN = f'resource.type = "cloud_run_revision" AND resource.labels.service_name = "{SERVICE}"'


@pytest.fixture
def ingestion() -> Ingestion:
    return Ingestion()  # Google's: what `opsconsole sandbox serve` serves without options


def raw_points(clients: GoogleClients, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime, int]]:
    request = monitoring_v3.ListTimeSeriesRequest(
        name=f"projects/{PROJECT}", filter=f'metric.type = "{REQUEST_COUNT}" AND {RUN}',
        interval=monitoring_v3.TimeInterval(start_time=start, end_time=end))
    return [(ts.resource.labels["revision_name"], p.interval.start_time, p.interval.end_time, p.value.int64_value)
            for ts in clients.metrics.list_time_series(request=request) for p in ts.points]


def served_minute(run: CloudRunAdapter, clock: SandboxClock) -> tuple[str, datetime]:
    """A canary at 20 % for 20 minutes; the clock stopped at the end of a whole minute, which it returns."""
    stable = run.get_service(SERVICE).latest_ready_revision
    new = run.deploy_revision(SERVICE, "img:v2", "canary", wait=False).name
    clock.advance(30)
    run.set_traffic(SERVICE, {stable: 80, new: 20})
    clock.advance(1200)
    clock.advance(60 - clock.time() % 60)
    return new, clock.now()


def test_points_are_whole_minutes_and_the_last_minute_is_absent_until_its_delay_passes(
        run: CloudRunAdapter, clients: GoogleClients, clock: SandboxClock, cloud: object,
        ingestion: Ingestion) -> None:
    canary, minute = served_minute(run, clock)
    start = minute - timedelta(minutes=10)
    at_once = raw_points(clients, start, minute)
    assert at_once and all(b - a == timedelta(seconds=60) and b.second == 0 for _, a, b, _ in at_once)
    assert not [p for p in at_once if p[2] == minute], "a minute that just ended is not ingested yet"
    # The canary's point of that minute appears exactly when its drawn delay has passed, and not before.
    delay = ingestion.delay(f"{PROJECT}/{REGION}/{SERVICE}/{canary}", minute.timestamp())
    assert 0 < delay <= 180
    clock.advance(delay - 1)
    assert not [p for p in raw_points(clients, start, minute) if p[0] == canary and p[2] == minute]
    clock.advance(1)
    arrived = [p for p in raw_points(clients, start, minute) if p[0] == canary and p[2] == minute]
    assert arrived and sum(p[3] for p in arrived) > 0
    # By Google's bound every revision's minute is there, and older minutes never changed meanwhile.
    clock.advance(180)
    settled = raw_points(clients, start, minute)
    assert {p[0] for p in settled if p[2] == minute} == {p[0] for p in settled if p[2] == minute - timedelta(minutes=1)}
    assert [p for p in settled if p[2] < minute - timedelta(minutes=3)] == \
        [p for p in at_once if p[2] < minute - timedelta(minutes=3)]


def test_the_adapter_reading_the_last_minute_sees_its_count_grow_until_it_settles(
        run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    canary, minute = served_minute(run, clock)
    assert metrics.timing() == GOOGLE_CLOUD_RUN_TIMING
    seen = []
    for _ in range(8):  # every 30 s up to 210 s after the minute ended
        window = metrics.revision_metrics(SERVICE, minute - timedelta(minutes=1), minute)
        seen.append(window[canary].total if canary in window else 0)
        clock.advance(30)
    assert seen[0] == 0, "nothing of a minute is visible the moment it ends"
    assert seen == sorted(seen) and seen[-1] > 0, seen
    assert seen[-1] == seen[-2], "settled by 180 s after the minute ended"


def test_google_draws_delays_mostly_within_one_to_two_minutes_and_never_past_180_s() -> None:
    google = Ingestion()
    delays = [google.delay(f"p/r/s/rev-{i % 7}", 60.0 * i) for i in range(2000)]
    assert max(delays) <= 180 and min(delays) > 0
    assert sum(60 <= d <= 120 for d in delays) / len(delays) > 0.75
    assert google.delay("p/r/s/rev", 600.0) == Ingestion().delay("p/r/s/rev", 600.0), "the same draw on every read"


@pytest.mark.parametrize(("point_s", "delay", "words"), [
    (7, "0", "divides a minute"), (60, "soon", "number of seconds or 'google'"), (60, "-5", "0 to 3600 seconds")])
def test_a_setting_the_sandbox_cannot_serve_is_named(point_s: int, delay: str, words: str) -> None:
    with pytest.raises(BadInput, match=words):
        Ingestion.parse(point_s, delay)


def test_sandbox_serve_names_a_delay_it_cannot_serve_in_one_sentence(project: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sandbox", "serve", "--ingestion-delay", "soon")
    assert code == 2 and not out
    assert "ingestion delay must be a number of seconds or 'google', got 'soon'" in err
    assert "Traceback" not in err and not (project / "sandbox.json").exists()


def test_a_point_that_ends_as_a_frozen_clock_reaches_it_is_served_despite_float_error() -> None:
    """A console that sleeps a frozen sandbox clock exactly to a window's end (which the clock holds as
    …:39.9999998 after fractional advances) must read that window's point, or it judges empty windows forever
    (the crash loop's canary held at 10 % on "canary served 0 requests" until this)."""
    fast = Ingestion.parse(10, "0")
    end = 1_796_590_360.0
    now = end - 2e-7
    assert fast.visible("series", end, now)
    assert fast.point_ends(end - 10, end, now) == [end]
