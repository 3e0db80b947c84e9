"""How the Cloud Run adapter copes with what Cloud Run answers besides success, each in one sentence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.api_core import exceptions as gexc
from google.cloud import run_v2
from google.oauth2.credentials import Credentials

from core.errors import OperationFailed
from core.providers.cloudrun import CloudRunAdapter, RevisionFailed
from core.providers.profile import GoogleClients, google_clients
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.faults import ApiFaults
from tests.google_rig import FAST, PROJECT, REGION

SERVICE = "websocket-server"
NAME = f"projects/{PROJECT}/locations/{REGION}/services/{SERVICE}"


def deploy_ready(adapter: CloudRunAdapter, clock: SandboxClock, image: str, revision: str | None = None) -> str:
    rev = adapter.deploy_revision(SERVICE, image, "canary", revision=revision, wait=False)
    clock.advance(30)
    assert adapter.revision_ready(SERVICE, rev.name)
    return rev.name


def test_scaling_after_a_named_deploy_is_not_refused_as_a_named_revision(
        run: CloudRunAdapter, clients: GoogleClients, cloud: SandboxCloud, clock: SandboxClock) -> None:
    canary = deploy_ready(run, clock, "img:v2")
    raw = clients.services.get_service(name=NAME)
    assert raw.template.revision == canary  # what a read gives back after a named deploy
    raw.scaling.min_instance_count = 2
    with pytest.raises(gexc.Conflict, match="different configuration already exists"):
        clients.services.update_service(service=raw)  # the whole Service read, name included (#14259)
    state = run.set_min_instances(SERVICE, 2)
    assert run.min_instances(SERVICE) == 2 and state.latest_created_revision == canary
    assert cloud.cloudrun_requests.since()[-1].template_revision == ""


def test_traffic_updates_name_no_revision(run: CloudRunAdapter, cloud: SandboxCloud, clock: SandboxClock) -> None:
    stable = run.get_service(SERVICE).latest_ready_revision
    canary = deploy_ready(run, clock, "img:v2")
    seen = cloud.cloudrun_requests.since()[-1].seq
    run.set_traffic(SERVICE, {stable: 90, canary: 10})
    run.set_traffic(SERVICE, {canary: 100})
    sent = [e for e in cloud.cloudrun_requests.since(seen) if e.rpc == "UpdateService"]
    assert [(e.split, e.template_revision, e.status) for e in sent] == [
        ({stable: 90, canary: 10}, "", 200), ({canary: 100}, "", 200)]
    assert len(run.get_service(SERVICE).revisions) == 2  # clearing the name made no revision


def test_a_revision_name_taken_by_another_image_is_said_once_not_retried(
        run: CloudRunAdapter, cloud: SandboxCloud, clock: SandboxClock) -> None:
    deploy_ready(run, clock, "img:v2", revision="websocket-server-hotfix")
    sent = cloud.cloudrun_calls["UpdateService"]
    with pytest.raises(OperationFailed) as caught:
        run.deploy_revision(SERVICE, "img:v3", "canary", revision="websocket-server-hotfix", wait=False)
    message = str(caught.value)
    assert "revision websocket-server-hotfix already exists with a different configuration" in message
    assert "409 ALREADY_EXISTS" in message and "kept changing" not in message
    assert cloud.cloudrun_calls["UpdateService"] == sent + 1  # a 409 that retrying cannot fix is sent once


def test_an_etag_race_is_still_retried(run: CloudRunAdapter, cloud: SandboxCloud, clock: SandboxClock) -> None:
    stable = run.get_service(SERVICE).latest_ready_revision
    canary = deploy_ready(run, clock, "img:v2")
    cloud.faults.cloudrun = ApiFaults(share=1.0, kinds=("ABORTED",), methods=("UpdateService",), budget=2)
    assert run.set_traffic(SERVICE, {stable: 50, canary: 50}).traffic == {stable: 50, canary: 50}


@pytest.fixture
def fast_cloud() -> Iterator[SandboxCloud]:
    with SandboxCloud(clock=SandboxClock(speed=2000)) as sandbox:
        yield sandbox


@pytest.mark.parametrize(("kind", "words"), [
    ("missing", "Image 'img:gone' not found"),
    ("forbidden", "must have permission to read the image, img:gone"),
])
def test_an_image_cloud_run_cannot_pull_ends_the_deploy_with_googles_words(fast_cloud: SandboxCloud, kind: str,
                                                                           words: str) -> None:
    fast_cloud.cloudrun.pull.refuse("img:gone", kind)
    built = google_clients(fast_cloud.endpoints)
    adapter = CloudRunAdapter(built.services, built.revisions, PROJECT, REGION, policy=FAST)
    try:
        with pytest.raises(RevisionFailed) as caught:
            adapter.deploy_revision(SERVICE, "img:gone", "canary")
        state = adapter.get_service(SERVICE)
    finally:
        built.close()
    message = str(caught.value)
    assert message.startswith(f"Cloud Run: revision {caught.value.revision.name} of {NAME} did not become ready: ")
    assert words in message and "\n" not in message
    assert state.traffic == {state.latest_ready_revision: 100}  # nothing moved to the broken revision


def test_a_quota_refusal_is_one_line_naming_the_limit(run: CloudRunAdapter, cloud: SandboxCloud) -> None:
    cloud.cloudrun.pull.max_instances_quota = 20  # the template asks for 100 instances of 1 CPU
    with pytest.raises(OperationFailed) as caught:
        run.deploy_revision(SERVICE, "img:v2", "canary", wait=False)
    message = str(caught.value)
    assert "400 INVALID_ARGUMENT" in message and "Max instances must be set to 20 or fewer" in message
    assert "CpuAllocPerProjectRegion requested: 100000 allowed: 20000" in message and "\n" not in message


def test_a_permission_taken_away_is_named_with_what_to_do(run: CloudRunAdapter, cloud: SandboxCloud,
                                                          clock: SandboxClock) -> None:
    stable = run.get_service(SERVICE).latest_ready_revision
    canary = deploy_ready(run, clock, "img:v2")
    cloud.cloudrun.iam.caller.discard("run.services.update")
    with pytest.raises(OperationFailed) as caught:
        run.set_traffic(SERVICE, {stable: 90, canary: 10})
    assert str(caught.value) == (
        f"Cloud Run: setting traffic on {NAME} failed: 403 PERMISSION_DENIED (Permission 'run.services.update' "
        f"denied on resource '{NAME}' (or resource may not exist)); the account the console runs as needs that "
        "permission on the resource.")


def test_credentials_that_cannot_be_refreshed_end_in_one_sentence(run: CloudRunAdapter, cloud: SandboxCloud) -> None:
    cloud.faults.cloudrun = ApiFaults(share=1.0, kinds=("UNAUTHENTICATED",), budget=1)
    with pytest.raises(OperationFailed) as caught:
        run.get_service(SERVICE)  # anonymous credentials: google.auth cannot refresh them after the 401
    assert str(caught.value).startswith(f"Cloud Run: reading service {NAME} failed: the credentials were refused "
                                        "and could not be refreshed (Anonymous credentials cannot be refreshed)")


def _user_adapter(cloud: SandboxCloud) -> tuple[CloudRunAdapter, list[run_v2.ServicesClient | run_v2.RevisionsClient]]:
    base = cloud.endpoints.cloudrun_url
    creds = Credentials(token="expired-token", refresh_token="refresh-me", token_uri=f"{base}/token",
                        client_id="sandbox", client_secret="sandbox")
    options = {"api_endpoint": base}
    services = run_v2.ServicesClient(transport="rest", credentials=creds, client_options=options)
    revisions = run_v2.RevisionsClient(transport="rest", credentials=creds, client_options=options)
    return CloudRunAdapter(services, revisions, PROJECT, REGION, policy=FAST), [services, revisions]


@pytest.mark.parametrize("revoked", [False, True])
def test_an_expired_token_is_refreshed_and_a_revoked_grant_is_named(cloud: SandboxCloud, revoked: bool) -> None:
    adapter, built = _user_adapter(cloud)
    cloud.faults.cloudrun = ApiFaults(share=1.0, kinds=("UNAUTHENTICATED",), budget=1)
    cloud.cloudrun.tokens.revoked = revoked
    try:
        if not revoked:
            assert adapter.get_service(SERVICE).name == SERVICE
            assert cloud.cloudrun.tokens.issued == 1
        else:
            with pytest.raises(OperationFailed, match=r"could not be refreshed \(invalid_grant: Token has been "
                                                      r"expired or revoked\); sign in again"):
                adapter.get_service(SERVICE)
    finally:
        for client in built:
            client.transport.close()
