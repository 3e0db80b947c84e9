"""Injected API faults: the adapters' retries converge, and a call that keeps failing ends with a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from core.errors import OperationFailed
from core.providers.cloudrun import CloudRunAdapter
from core.providers.google_retry import GoogleCallFailed, RetryPolicy
from core.providers.monitoring import MonitoringAdapter
from core.providers.profile import GoogleClients
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.faults import ApiFaults
from sandbox.monitoring_ingest import FAST as FAST_POINTS

SERVICE = "websocket-server"
RESOURCE = "projects/ai-agent-network-staging/locations/us-central1/services/websocket-server"
PATIENT = RetryPolicy(initial=0.005, maximum=0.02, deadline=5.0, poll_initial=0.01,
                      poll_maximum=0.03, operation_timeout=10.0)
SHORT = RetryPolicy(initial=0.01, maximum=0.05, deadline=0.4)
TRANSIENT = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED")


@pytest.fixture
def cloud() -> Iterator[SandboxCloud]:
    sandbox = SandboxCloud(clock=SandboxClock(speed=400), ingestion=FAST_POINTS).start()  # reads the last minute
    yield sandbox
    sandbox.stop()


def test_a_30_percent_fault_rate_on_both_apis_still_converges(cloud: SandboxCloud, clients: GoogleClients) -> None:
    cloud.faults.cloudrun = ApiFaults(share=0.3, kinds=(*TRANSIENT, "ABORTED"), seed=7)
    cloud.faults.monitoring = ApiFaults(share=0.3, kinds=TRANSIENT, seed=11)
    run = CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-staging", "us-central1",
                          policy=PATIENT)
    metrics = MonitoringAdapter(clients.metrics, "ai-agent-network-staging", policy=PATIENT, now=cloud.clock.now)
    stable = run.get_service(SERVICE).latest_ready_revision
    canary = run.deploy_revision(SERVICE, "img:v2", "canary")
    for percent in (10, 25, 50, 100):
        state = run.set_traffic(SERVICE, {stable: 100 - percent, canary.name: percent})
        assert state.traffic == {r: p for r, p in {stable: 100 - percent, canary.name: percent}.items() if p}
        end = cloud.clock.now()
        for minutes in (5, 1):  # two reads per step: each is 3 grouped queries, enough for the faults to land
            assert stable in metrics.revision_metrics(SERVICE, end - timedelta(minutes=minutes), end)
    # The faults really hit both APIs, and every one of them was absorbed by a retry.
    assert cloud.faults.cloudrun.injected >= 5 and cloud.faults.monitoring.injected >= 5


@pytest.mark.parametrize("kind", TRANSIENT)
def test_a_cloud_run_call_that_keeps_failing_ends_after_its_deadline(cloud: SandboxCloud, clients: GoogleClients,
                                                                     kind: str) -> None:
    cloud.faults.cloudrun = ApiFaults(share=1.0, kinds=(kind,))
    run = CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-staging", "us-central1",
                          policy=SHORT)
    with pytest.raises(GoogleCallFailed) as caught:
        run.get_service(SERVICE)
    message = str(caught.value)
    assert message.startswith(f"Cloud Run: reading service {RESOURCE} failed after ")
    assert message.endswith(f" {kind}.")
    assert caught.value.status == kind and isinstance(caught.value, OperationFailed)
    assert cloud.cloudrun_calls["GetService"] > 1  # it was retried before giving up


def test_a_monitoring_call_that_keeps_failing_ends_after_its_deadline(cloud: SandboxCloud,
                                                                      clients: GoogleClients) -> None:
    cloud.faults.monitoring = ApiFaults(share=1.0, kinds=("RESOURCE_EXHAUSTED",))
    metrics = MonitoringAdapter(clients.metrics, "ai-agent-network-staging", policy=SHORT, now=cloud.clock.now)
    end = cloud.clock.now()
    with pytest.raises(GoogleCallFailed, match=r"^Cloud Monitoring: reading request counts of service "
                                               r"websocket-server in projects/ai-agent-network-staging failed "
                                               r"after .* s: 429 RESOURCE_EXHAUSTED\.$"):
        metrics.revision_metrics(SERVICE, end - timedelta(minutes=5), end)
    assert cloud.monitoring_calls["ListTimeSeries"] > 1


@pytest.mark.parametrize("api", ["cloudrun", "monitoring"])
def test_a_server_slower_than_the_deadline_ends_with_deadline_exceeded(cloud: SandboxCloud, clients: GoogleClients,
                                                                       api: str) -> None:
    setattr(cloud.faults, api, ApiFaults(latency_s=1.0))
    run = CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-staging", "us-central1",
                          policy=SHORT)
    metrics = MonitoringAdapter(clients.metrics, "ai-agent-network-staging", policy=SHORT, now=cloud.clock.now)
    end = cloud.clock.now()
    with pytest.raises(GoogleCallFailed, match=r"failed after .* s: .*DEADLINE_EXCEEDED\.$") as caught:
        if api == "cloudrun":
            run.get_service(SERVICE)
        else:
            metrics.revision_metrics(SERVICE, end - timedelta(minutes=5), end)
    assert caught.value.status == "DEADLINE_EXCEEDED"


def test_an_error_that_retrying_cannot_fix_fails_at_once(cloud: SandboxCloud, clients: GoogleClients) -> None:
    run = CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-staging", "us-central1",
                          policy=SHORT)
    with pytest.raises(GoogleCallFailed) as caught:
        run.get_service("no-such-service")
    assert "failed: 404 NOT_FOUND" in str(caught.value) and "no-such-service" in str(caught.value)
    assert cloud.cloudrun_calls["GetService"] == 1


def test_added_latency_slows_calls_but_they_succeed(cloud: SandboxCloud, clients: GoogleClients) -> None:
    cloud.faults.cloudrun = ApiFaults(latency_s=0.02)
    cloud.faults.monitoring = ApiFaults(latency_s=0.02)
    run = CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-staging", "us-central1",
                          policy=SHORT)
    metrics = MonitoringAdapter(clients.metrics, "ai-agent-network-staging", policy=SHORT, now=cloud.clock.now)
    assert run.get_service(SERVICE).traffic
    end = cloud.clock.now()
    assert metrics.revision_metrics(SERVICE, end - timedelta(minutes=5), end)


def test_fault_draws_are_seeded_and_budgeted() -> None:
    first = ApiFaults(share=0.5, kinds=TRANSIENT, seed=3)
    second = ApiFaults(share=0.5, kinds=TRANSIENT, seed=3)
    assert [first.draw("GetService", False) for _ in range(50)] == [second.draw("GetService", False) for _ in range(50)]
    budgeted = ApiFaults(share=1.0, budget=2)
    assert [budgeted.draw("GetService", False) for _ in range(4)] == ["UNAVAILABLE", "UNAVAILABLE", None, None]
    only_writes = ApiFaults(share=1.0, kinds=("ABORTED",))
    assert only_writes.draw("GetService", write=False) is None
    assert only_writes.draw("UpdateService", write=True) == "ABORTED"
    with pytest.raises(ValueError, match="unknown fault kind"):
        ApiFaults(kinds=("TEAPOT",))
