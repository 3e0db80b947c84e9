"""The Cloud Run adapter driving the official google-cloud-run client against the sandbox's Admin API v2."""

from __future__ import annotations

import httpx
import pytest
from google.api_core import exceptions as gexc

from core.errors import BadInput, OperationFailed
from core.providers.cloudrun import CloudRunAdapter, RevisionFailed
from core.providers.cloudrun_traffic import InvalidTrafficSplit
from core.providers.profile import GoogleClients, google_clients
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.cloudrun_state import CloudRunState
from sandbox.faults import ApiFaults
from sandbox.revision_server import REVISION_HEADER
from sandbox.scenario import RevisionBehaviour
from tests.google_rig import FAST

SERVICE = "websocket-server"


@pytest.fixture
def prod(clients: GoogleClients) -> CloudRunAdapter:
    return CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-prod", "us-central1", policy=FAST)


def deploy_ready(adapter: CloudRunAdapter, clock: SandboxClock, image: str, tag: str = "canary") -> str:
    """Deploy without waiting on a frozen clock, then move the clock past the revision's start-up."""
    rev = adapter.deploy_revision(SERVICE, image, tag, wait=False)
    assert not rev.ready
    clock.advance(30)
    assert adapter.revision_ready(SERVICE, rev.name)
    return rev.name


def test_a_seeded_service_serves_one_ready_stable_revision_at_100_percent(prod: CloudRunAdapter) -> None:
    state = prod.get_service(SERVICE)
    assert state.resource == "projects/ai-agent-network-prod/locations/us-central1/services/websocket-server"
    assert len(state.revisions) == 1
    stable = state.revisions[0]
    assert stable.ready and stable.name == state.latest_ready_revision
    assert state.traffic == {stable.name: 100}
    assert httpx.get(state.uri + "/healthz").status_code == 200


def test_a_deployed_revision_gets_no_traffic_and_answers_on_its_own_tag_url() -> None:
    with SandboxCloud(clock=SandboxClock(speed=400)) as sandbox:  # start-up takes 8 sandbox s = 20 ms here
        built = google_clients(sandbox.endpoints)
        adapter = CloudRunAdapter(built.services, built.revisions, "ai-agent-network-prod", "us-central1", policy=FAST)
        stable = adapter.get_service(SERVICE).latest_ready_revision
        rev = adapter.deploy_revision(SERVICE, "us-docker.pkg.dev/p/agent-network/websocket-server:v2", "canary")
        state = adapter.get_service(SERVICE)
        answer = httpx.get(rev.url + "/healthz")
        built.close()
    assert rev.ready and rev.tags == ("canary",) and rev.percent == 0
    assert state.traffic == {stable: 100}
    assert state.latest_created_revision == rev.name
    assert answer.status_code == 200 and answer.headers[REVISION_HEADER] == rev.name


def test_traffic_split_round_trip_keeps_the_stable_revision_tagged(prod: CloudRunAdapter, clock: SandboxClock) -> None:
    stable = prod.get_service(SERVICE).latest_ready_revision
    canary = deploy_ready(prod, clock, "img:v2")
    state = prod.set_traffic(SERVICE, {stable: 90, canary: 10}, tags={"stable": stable})
    assert state.traffic == {stable: 90, canary: 10}
    assert state.tags == {"stable": stable, "canary": canary}
    assert prod.get_service(SERVICE).traffic == {stable: 90, canary: 10}
    statuses = {(s.revision, s.percent, s.tag) for s in state.traffic_statuses}
    assert statuses == {(stable, 90, "stable"), (canary, 10, "canary")}
    assert all(s.uri.startswith("http://127.0.0.1:") for s in state.traffic_statuses)

    promoted = prod.set_traffic(SERVICE, {canary: 100})
    assert promoted.traffic == {canary: 100}
    assert promoted.tags["stable"] == stable  # the old stable stays addressable until someone removes the tag
    stable_url = promoted.revision(stable).url
    assert httpx.get(stable_url + "/healthz").headers[REVISION_HEADER] == stable


def test_setting_the_split_already_in_place_sends_nothing(prod: CloudRunAdapter, cloud: SandboxCloud,
                                                          clock: SandboxClock) -> None:
    stable = prod.get_service(SERVICE).latest_ready_revision
    canary = deploy_ready(prod, clock, "img:v2")
    prod.set_traffic(SERVICE, {stable: 50, canary: 50})
    sent = cloud.cloudrun_calls["UpdateService"]
    prod.set_traffic(SERVICE, {stable: 50, canary: 50})
    assert cloud.cloudrun_calls["UpdateService"] == sent


@pytest.mark.parametrize(("split", "complaint"), [
    ({"STABLE": 90}, "sums to 90 %, not 100 %"),
    ({"STABLE": 50, "websocket-server-nope": 50}, "websocket-server-nope, which do not exist"),
    ({"STABLE": 101}, "each share must be a whole number from 0 to 100"),
    ({}, "is empty"),
])
def test_an_invalid_split_is_refused_with_a_clear_error_and_nothing_is_sent(
        prod: CloudRunAdapter, cloud: SandboxCloud, split: dict[str, int], complaint: str) -> None:
    stable = prod.get_service(SERVICE).latest_ready_revision
    split = {stable if k == "STABLE" else k: v for k, v in split.items()}
    with pytest.raises(InvalidTrafficSplit) as caught:
        prod.set_traffic(SERVICE, split)
    message = str(caught.value)
    assert complaint in message
    assert "projects/ai-agent-network-prod/locations/us-central1/services/websocket-server" in message
    assert isinstance(caught.value, BadInput) and caught.value.exit_code == 2
    assert cloud.cloudrun_calls["UpdateService"] == 0


def test_an_etag_conflict_is_re_read_and_retried(prod: CloudRunAdapter, cloud: SandboxCloud,
                                                 clock: SandboxClock) -> None:
    stable = prod.get_service(SERVICE).latest_ready_revision
    canary = deploy_ready(prod, clock, "img:v2")
    sent = cloud.cloudrun_calls["UpdateService"]
    # Another writer changes the service (new etag) just before our PATCH lands, once.
    cloud.faults.cloudrun = ApiFaults(share=1.0, kinds=("ABORTED",), methods=("UpdateService",), budget=1)
    state = prod.set_traffic(SERVICE, {stable: 75, canary: 25})
    assert state.traffic == {stable: 75, canary: 25}
    assert cloud.cloudrun_calls["UpdateService"] == sent + 2
    svc = cloud.cloudrun.service(state.resource)
    assert svc.annotations["sandbox.opsconsole/concurrent-writes"] == "1"  # the other writer's change survived


def test_the_api_refuses_a_stale_etag(clients: GoogleClients) -> None:
    name = "projects/ai-agent-network-dev/locations/us-central1/services/websocket-server"
    first = clients.services.get_service(name=name)
    second = clients.services.get_service(name=name)
    second.labels["team"] = "platform"
    clients.services.update_service(service=second).result(timeout=5)
    first.labels["team"] = "other"
    with pytest.raises(gexc.Conflict):
        clients.services.update_service(service=first)


def test_conflicts_that_never_stop_end_with_a_clear_error(prod: CloudRunAdapter, cloud: SandboxCloud,
                                                          clock: SandboxClock) -> None:
    stable = prod.get_service(SERVICE).latest_ready_revision
    canary = deploy_ready(prod, clock, "img:v2")
    cloud.faults.cloudrun = ApiFaults(share=1.0, kinds=("ABORTED",), methods=("UpdateService",))
    with pytest.raises(OperationFailed, match="etag conflict 5 times"):
        prod.set_traffic(SERVICE, {stable: 75, canary: 25})


@pytest.mark.parametrize("cloud", ["never-ready"], indirect=True)
def test_a_never_ready_revision_is_reported_not_ready_and_cannot_receive_traffic(
        prod: CloudRunAdapter, cloud: SandboxCloud, clock: SandboxClock) -> None:
    stable = prod.get_service(SERVICE).latest_ready_revision
    rev = prod.deploy_revision(SERVICE, "img:broken", "canary", wait=False)
    clock.advance(60)
    assert not prod.revision_ready(SERVICE, rev.name)
    with pytest.raises(InvalidTrafficSplit, match="are not ready"):
        prod.set_traffic(SERVICE, {stable: 90, rev.name: 10})
    clock.advance(300)  # past Cloud Run's start-up deadline: the revision has failed for good
    state = prod.get_service(SERVICE)
    broken = state.revision(rev.name)
    assert broken is not None and broken.failed and not broken.ready and "not ready" in broken.message
    assert state.traffic == {stable: 100}
    with pytest.raises(InvalidTrafficSplit, match="failed to start"):
        prod.set_traffic(SERVICE, {stable: 90, rev.name: 10})
    assert cloud.cloudrun_calls["UpdateService"] == 1  # only the deploy itself


def test_waiting_for_a_never_ready_revision_ends_with_revision_failed() -> None:
    with SandboxCloud(clock=SandboxClock(speed=2000), scenario="never-ready") as sandbox:
        built = google_clients(sandbox.endpoints)
        adapter = CloudRunAdapter(built.services, built.revisions, "ai-agent-network-dev", "us-central1", policy=FAST)
        with pytest.raises(RevisionFailed) as caught:
            adapter.deploy_revision(SERVICE, "img:broken", "canary")
        built.close()
    assert caught.value.revision.failed
    assert "did not become ready" in str(caught.value)
    assert "projects/ai-agent-network-dev/locations/us-central1/services/websocket-server" in str(caught.value)


def test_deploying_the_same_image_and_tag_again_reuses_the_revision(prod: CloudRunAdapter, cloud: SandboxCloud,
                                                                    clock: SandboxClock) -> None:
    first = deploy_ready(prod, clock, "img:v2")
    again = prod.deploy_revision(SERVICE, "img:v2", "canary", wait=False)
    assert again.name == first
    assert len(prod.get_service(SERVICE).revisions) == 2
    assert cloud.cloudrun_calls["UpdateService"] == 1


def test_raising_min_instances_creates_no_revision_and_leaves_the_split_alone(
        prod: CloudRunAdapter, clients: GoogleClients, cloud: SandboxCloud, clock: SandboxClock) -> None:
    stable = prod.get_service(SERVICE).latest_ready_revision
    canary = deploy_ready(prod, clock, "img:v2")
    before = prod.set_traffic(SERVICE, {stable: 90, canary: 10}, tags={"stable": stable})
    after = prod.set_min_instances(SERVICE, 2)
    assert [r.name for r in after.revisions] == [r.name for r in before.revisions]
    assert after.latest_created_revision == canary
    assert after.traffic == {stable: 90, canary: 10} and after.tags == before.tags
    assert prod.min_instances(SERVICE) == 2
    raw = clients.services.get_service(name=before.resource)  # what Cloud Run reports, field by field
    assert raw.scaling.min_instance_count == 2 and raw.template.scaling.min_instance_count == 0
    sent = cloud.cloudrun_calls["UpdateService"]
    prod.set_min_instances(SERVICE, 2)
    assert cloud.cloudrun_calls["UpdateService"] == sent  # already so: nothing sent
    reloaded = CloudRunState(clock, RevisionBehaviour)
    reloaded.load(cloud.cloudrun.to_dict())
    assert reloaded.services[before.resource].min_instances == 2  # the sandbox's state file keeps it


def test_a_template_scaling_change_makes_a_new_revision_that_pinned_traffic_ignores(
        prod: CloudRunAdapter, clients: GoogleClients, clock: SandboxClock) -> None:
    """Why recovery scales the service and not its template: the sandbox behaves like Cloud Run here."""
    stable = prod.get_service(SERVICE).latest_ready_revision
    canary = deploy_ready(prod, clock, "img:v2")
    pinned = prod.set_traffic(SERVICE, {stable: 90, canary: 10})
    raw = clients.services.get_service(name=pinned.resource)
    raw.template.scaling.min_instance_count = 2  # template.revision still names the canary
    with pytest.raises(gexc.Conflict, match="different configuration already exists"):
        clients.services.update_service(service=raw)
    raw.template.revision = ""
    clients.services.update_service(service=raw)
    clock.advance(30)
    state = prod.get_service(SERVICE)
    assert len(state.revisions) == 3 and state.latest_created_revision not in (stable, canary)
    assert state.traffic == {stable: 90, canary: 10}  # the new revision, the only one kept warm, serves nothing
    assert prod.min_instances(SERVICE) == 0


@pytest.mark.parametrize("cloud", ["instances-zero"], indirect=True)
def test_service_level_min_instances_brings_a_pinned_scaled_to_zero_service_back(
        prod: CloudRunAdapter, clients: GoogleClients, clock: SandboxClock) -> None:
    stable = prod.get_service(SERVICE).latest_ready_revision
    state = prod.set_traffic(SERVICE, {stable: 100}, tags={"stable": stable})
    assert httpx.get(state.uri + "/healthz").status_code == 503
    raw = clients.services.get_service(name=state.resource)
    raw.template.revision = ""
    raw.template.scaling.min_instance_count = 2
    clients.services.update_service(service=raw)
    clock.advance(30)
    assert httpx.get(state.uri + "/healthz").status_code == 503  # the warm new revision gets no traffic
    prod.set_min_instances(SERVICE, 2)
    answer = httpx.get(state.uri + "/healthz")
    assert answer.status_code == 200 and answer.headers[REVISION_HEADER] == stable
