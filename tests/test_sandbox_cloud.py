"""SandboxCloud as a whole: seeding, persistence across restarts, the control API, scenarios and the clock."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import BadInput
from core.providers.cloudrun import CloudRunAdapter
from core.providers.google_retry import RetryPolicy
from core.providers.monitoring import MonitoringAdapter
from core.providers.profile import google_clients
from sandbox import control
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.monitoring_ingest import FAST as FAST_POINTS
from sandbox.scenario import TrafficModel, load_scenario, load_scenario_file, scenario_names
from sandbox.seed import EnvSeed, SeedSpec

SERVICE = "websocket-server"
FAST = RetryPolicy(initial=0.01, maximum=0.05, deadline=3.0, poll_initial=0.01, poll_maximum=0.05)
ISSUE_SCENARIOS = {"healthy", "canary-5xx", "canary-latency", "low-traffic", "never-ready", "region-outage",
                   "redis-unreachable", "instances-zero", "firebase-unreachable", "calendar-unreachable"}


def test_every_environment_is_seeded_with_a_ready_stable_revision_at_100_percent() -> None:
    with SandboxCloud(clock=SandboxClock(speed=0)) as cloud:
        clients = google_clients(cloud.endpoints)
        for project in ("ai-agent-network-dev", "ai-agent-network-staging", "ai-agent-network-prod"):
            state = CloudRunAdapter(clients.services, clients.revisions, project, "us-central1").get_service(SERVICE)
            assert state.traffic == {state.latest_ready_revision: 100}
            assert state.revisions[0].ready
        clients.close()
        assert {p.name for p in cloud.vercel.projects.values()} == {
            "agent-network-web-dev", "agent-network-web-staging", "agent-network-web"}


def test_a_seed_spec_chooses_projects_regions_and_services() -> None:
    seed = SeedSpec({"qa": EnvSeed(project="acme-qa", vercel_project="acme-web-qa", region="europe-west1",
                                   service="chat")})
    with SandboxCloud(seed=seed, clock=SandboxClock(speed=0)) as cloud:
        assert list(cloud.cloudrun.services) == ["projects/acme-qa/locations/europe-west1/services/chat"]


def test_the_cloud_survives_a_restart_with_its_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    clock = SandboxClock(speed=0)
    with SandboxCloud(clock=clock, state_file=state_file) as cloud:
        clients = google_clients(cloud.endpoints)
        run = CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-prod", "us-central1", policy=FAST)
        metrics = MonitoringAdapter(clients.metrics, "ai-agent-network-prod", policy=FAST, now=clock.now)
        stable = run.get_service(SERVICE).latest_ready_revision
        canary = run.deploy_revision(SERVICE, "img:v2", "canary", wait=False).name
        clock.advance(30)
        run.set_traffic(SERVICE, {stable: 75, canary: 25}, tags={"stable": stable})
        metrics.write_deployment_event("production", SERVICE, "started")
        cloud.set_scenario("canary-5xx")
        clock.advance(900)
        end = clock.now()
        before = metrics.revision_metrics(SERVICE, end - timedelta(minutes=15), end)
        clients.close()
    saved_time = clock.time()

    # A new process: its own clock starts at real time, behind the saved sandbox time.
    with SandboxCloud(clock=SandboxClock(speed=0, start=saved_time - 3600), state_file=state_file) as again:
        assert again.clock.time() >= saved_time  # sandbox time never runs backwards
        assert again.scenario.name == "canary-5xx"
        clients = google_clients(again.endpoints)
        run = CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-prod", "us-central1", policy=FAST)
        metrics = MonitoringAdapter(clients.metrics, "ai-agent-network-prod", policy=FAST, now=again.clock.now)
        state = run.get_service(SERVICE)
        assert state.traffic == {stable: 75, canary: 25}
        assert state.tags == {"stable": stable, "canary": canary}
        assert state.revision(canary).url  # served again, on a new port
        assert metrics.revision_metrics(SERVICE, end - timedelta(minutes=15), end) == before
        events = metrics.deployment_events(end - timedelta(hours=1), end)
        assert [e.kind for e in events] == ["started"]
        clients.close()
    assert SandboxCloud.saved_endpoints(state_file) is None  # stopped: nobody to find through the file


def test_a_damaged_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    state_file.write_text("{not json")
    with pytest.raises(BadInput, match="is not valid JSON"):
        SandboxCloud(state_file=state_file)
    state_file.write_text(json.dumps({"version": 1, "clock": 1.0}))
    with pytest.raises(BadInput, match="is damaged"):
        SandboxCloud(state_file=state_file)


def test_the_control_api_switches_scenario_on_a_running_sandbox(tmp_path: Path) -> None:
    with SandboxCloud(clock=SandboxClock(speed=0), state_file=tmp_path / "s.json") as cloud:
        url = cloud.endpoints.control_url
        assert control.fetch_endpoints(url)["cloudrun_url"] == cloud.endpoints.cloudrun_url
        assert control.switch_scenario(url, "region-outage")["name"] == "region-outage"
        assert cloud.scenario.name == "region-outage"
        with pytest.raises(BadInput, match="Unknown sandbox scenario 'nope'"):
            control.switch_scenario(url, "nope")
        before = control.fetch_status(url)["time"]
        assert control.advance_clock(url, 120) == pytest.approx(before + 120)
        control.set_faults(url, "monitoring", share=0.5, kinds=["UNAVAILABLE"])
        assert cloud.faults.monitoring.share == 0.5
        with pytest.raises(BadInput, match="Faults apply to"):
            control.set_faults(url, "vercel", share=0.5)
        # Found again through the state file, as `opsconsole sandbox scenario NAME` does.
        saved = SandboxCloud.saved_endpoints(tmp_path / "s.json")
        assert saved is not None and saved.control_url == url



def _requests_per_second(cloud: SandboxCloud, minutes: int) -> float:
    """The prod service's request rate over the last `minutes`, as the Monitoring API reports it."""
    clients = google_clients(cloud.endpoints)
    metrics = MonitoringAdapter(clients.metrics, "ai-agent-network-prod", policy=FAST, now=cloud.clock.now)
    end = cloud.clock.now()
    served = metrics.revision_metrics(SERVICE, end - timedelta(minutes=minutes), end)
    clients.close()
    return sum(m.total for m in served.values()) / (minutes * 60)


def test_a_traffic_override_sets_the_request_rate_of_every_scenario() -> None:
    start = 1_793_577_600.0
    flat = TrafficModel(rps=1000.0, daily_amplitude=0.0, noise=0.0)
    # Points visible at once (not Google's): the rate is read over the minutes just ended.
    with SandboxCloud(clock=SandboxClock(speed=0, start=start), ingestion=FAST_POINTS) as plain, \
            SandboxCloud(clock=SandboxClock(speed=0, start=start), traffic=flat, ingestion=FAST_POINTS) as busy:
        assert _requests_per_second(plain, 5) < 30  # healthy's 20 rps, give or take the daily swing
        assert _requests_per_second(busy, 5) == pytest.approx(1000, rel=0.03)
        busy.set_scenario("low-traffic")  # 0.5 rps of its own: the override still decides
        busy.clock.advance(300)
        assert _requests_per_second(busy, 5) == pytest.approx(1000, rel=0.03)
        assert busy.scenario.name == "low-traffic" and busy.scenario.traffic == flat

def test_every_scenario_of_the_issue_ships_and_validates() -> None:
    assert set(scenario_names()) >= ISSUE_SCENARIOS
    for name in scenario_names():
        assert load_scenario(name).description
    assert load_scenario("canary-5xx").new_revision.error_rate_5xx == 0.08
    assert load_scenario("low-traffic").traffic.rps < 1
    assert load_scenario("firebase-unreachable").environment.firebase_down
    assert load_scenario("calendar-unreachable").environment.calendar_down


@pytest.mark.parametrize(("text", "complaint"), [
    ("description = 'x'\n[new_revision]\nerror_rate_5xx = 2.0\n", "field new_revision.error_rate_5xx"),
    ("description = 'x'\n[new_revision]\nlatency_p50_ms = 90.0\nlatency_p99_ms = 10.0\n", "latency_p99_ms"),
    ("description = 'x'\n[environment]\nflood = true\n", "field environment.flood"),
    ("[traffic]\nrps = 1.0\n", "field description"),
    ("description = \n", "is not valid TOML"),
])
def test_a_bad_scenario_file_names_the_file_and_the_field(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(BadInput) as caught:
        load_scenario_file(path)
    assert str(path) in str(caught.value) and complaint in str(caught.value)


def test_the_clock_runs_at_its_speed_and_only_forward() -> None:
    frozen = SandboxClock(speed=0, start=1_000.0)
    assert frozen.time() == 1_000.0
    assert frozen.advance(60) == 1_060.0
    assert frozen.now().timestamp() == 1_060.0
    frozen.advance_to(1_000.0)
    assert frozen.time() == 1_060.0
    with pytest.raises(ValueError, match="backwards"):
        frozen.advance(-1)
    fast = SandboxClock(speed=1000, start=0.0)
    first = fast.time()
    assert fast.time() >= first
