"""The sandbox's Cloud Run as the official google-cloud-run client sees it: validate-only, operations, pull failures."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from google.cloud import run_v2
from google.longrunning import operations_pb2

from core.providers.profile import GoogleClients
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from tests.google_rig import PROJECT, REGION

PARENT = f"projects/{PROJECT}/locations/{REGION}"
NAME = f"{PARENT}/services/websocket-server"


def _revisions(clients: GoogleClients) -> list[str]:
    return sorted(r.name for r in clients.revisions.list_revisions(parent=NAME))


def test_validate_only_checks_an_update_and_changes_nothing(clients: GoogleClients, cloud: SandboxCloud) -> None:
    before = clients.services.get_service(name=NAME)
    revisions = _revisions(clients)
    svc = clients.services.get_service(name=NAME)
    svc.template.revision = ""
    svc.template.containers[0].image = "img:v2"
    answer = clients.services.update_service(request=run_v2.UpdateServiceRequest(service=svc, validate_only=True))
    previewed = answer.result(timeout=5)
    assert previewed.template.containers[0].image == "img:v2"  # what the update would make
    after = clients.services.get_service(name=NAME)
    assert (after.generation, after.etag, after.template.containers[0].image) == (
        before.generation, before.etag, before.template.containers[0].image)
    assert [(t.revision, t.percent) for t in after.traffic_statuses] == [
        (t.revision, t.percent) for t in before.traffic_statuses]
    assert _revisions(clients) == revisions
    listed = clients.services.list_operations(request=operations_pb2.ListOperationsRequest(name=PARENT))
    assert listed.operations == []  # a validate-only answer is not an operation anyone can find later


def test_validate_only_refuses_what_the_update_would_be_refused_for(clients: GoogleClients) -> None:
    svc = clients.services.get_service(name=NAME)
    svc.traffic = [run_v2.TrafficTarget(
        type_=run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION,
        revision="websocket-server-nope", percent=100)]
    with pytest.raises(gexc.BadRequest, match="websocket-server-nope"):
        clients.services.update_service(request=run_v2.UpdateServiceRequest(service=svc, validate_only=True))


def test_validate_only_create_creates_no_service(clients: GoogleClients) -> None:
    body = run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(image="img:v1")]))
    answer = clients.services.create_service(request=run_v2.CreateServiceRequest(
        parent=PARENT, service=body, service_id="preview-only", validate_only=True))
    assert answer.result(timeout=5).name == f"{PARENT}/services/preview-only"
    with pytest.raises(gexc.NotFound):
        clients.services.get_service(name=f"{PARENT}/services/preview-only")


def test_operations_are_listed_fetched_and_waited_on(clients: GoogleClients, clock: SandboxClock) -> None:
    svc = clients.services.get_service(name=NAME)
    svc.template.revision = ""
    svc.template.containers[0].image = "img:v2"
    lro = clients.services.update_service(service=svc)
    name = lro.operation.name
    assert name.startswith(PARENT + "/operations/") and not lro.operation.done
    got = clients.services.get_operation(request=operations_pb2.GetOperationRequest(name=name))
    assert got.name == name and not got.done
    pending = clients.services.list_operations(
        request=operations_pb2.ListOperationsRequest(name=PARENT, filter="done=false"))
    assert [o.name for o in pending.operations] == [name]
    waited = clients.services.wait_operation(request=operations_pb2.WaitOperationRequest(
        name=name, timeout={"seconds": 0, "nanos": 200_000_000}))
    assert not waited.done  # the frozen clock never let the revision start: the wait ends at its timeout
    clock.advance(30)
    waited = clients.services.wait_operation(request=operations_pb2.WaitOperationRequest(name=name))
    assert waited.done and not waited.HasField("error")
    assert run_v2.Service.deserialize(waited.response.value).template.containers[0].image == "img:v2"
    with pytest.raises(gexc.NotFound):
        clients.services.get_operation(request=operations_pb2.GetOperationRequest(name=f"{PARENT}/operations/nope"))


@pytest.mark.parametrize(("kind", "words", "reason"), [
    ("missing", "Image 'img:gone' not found.", run_v2.Condition.CommonReason.CONTAINER_MISSING),
    ("forbidden", "must have permission to read the image, img:gone.",
     run_v2.Condition.CommonReason.CONTAINER_PERMISSION_DENIED),
])
def test_an_image_that_cannot_be_pulled_fails_the_operation_in_googles_words(
        clients: GoogleClients, cloud: SandboxCloud, clock: SandboxClock, kind: str, words: str,
        reason: run_v2.Condition.CommonReason) -> None:
    cloud.cloudrun.pull.refuse("img:gone", kind)
    svc = clients.services.get_service(name=NAME)
    svc.template.revision = ""
    svc.template.containers[0].image = "img:gone"
    lro = clients.services.update_service(service=svc)  # accepted: the pull fails afterwards, as on Cloud Run
    clock.advance(5)
    with pytest.raises(gexc.GoogleAPICallError) as caught:
        lro.result(timeout=5)
    assert caught.value.code == 500 and words in caught.value.message  # google.rpc code 13, INTERNAL
    failed = clients.revisions.get_revision(name=clients.services.get_service(name=NAME).latest_created_revision)
    ready = next(c for c in failed.conditions if c.type_ == "Ready")
    assert ready.state == run_v2.Condition.State.CONDITION_FAILED and ready.reason == reason
    assert words in ready.message


def test_a_template_past_the_cpu_quota_is_refused_before_any_operation(clients: GoogleClients,
                                                                       cloud: SandboxCloud) -> None:
    cloud.cloudrun.pull.max_instances_quota = 20
    svc = clients.services.get_service(name=NAME)
    svc.template.revision = ""
    svc.template.containers[0].image = "img:v2"
    svc.template.scaling.max_instance_count = 60
    with pytest.raises(gexc.BadRequest, match="Max instances must be set to 20 or fewer") as caught:
        clients.services.update_service(service=svc)
    assert "CpuAllocPerProjectRegion requested: 60000 allowed: 20000" in caught.value.message
    assert clients.services.list_operations(request=operations_pb2.ListOperationsRequest(name=PARENT)).operations \
        == []
