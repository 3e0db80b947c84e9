"""IAM on the sandbox's Cloud Run services and the auth faults it injects, through the official client."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exceptions
from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.oauth2.credentials import Credentials

from core.providers.profile import GoogleClients
from sandbox.cloud import SandboxCloud
from sandbox.faults import ApiFaults
from tests.google_rig import PROJECT, REGION

NAME = f"projects/{PROJECT}/locations/{REGION}/services/websocket-server"


def test_a_policy_is_read_changed_with_its_etag_and_read_back(clients: GoogleClients) -> None:
    seeded = clients.services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=NAME))
    # As Terraform's websocket-server module leaves it: public (allUsers may invoke it).
    assert [(b.role, list(b.members)) for b in seeded.bindings] == [("roles/run.invoker", ["allUsers"])]
    private = policy_pb2.Policy(etag=seeded.etag)
    private.bindings.add(role="roles/run.invoker", members=["group:oncall@example.com"])
    written = clients.services.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=NAME,
                                                                                          policy=private))
    assert written.etag != seeded.etag
    read = clients.services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=NAME))
    assert [(b.role, list(b.members)) for b in read.bindings] == [("roles/run.invoker", ["group:oncall@example.com"])]
    assert read.etag == written.etag


def test_a_policy_written_from_a_stale_read_is_aborted(clients: GoogleClients) -> None:
    first = clients.services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=NAME))
    second = policy_pb2.Policy()
    second.CopyFrom(first)
    second.bindings.add(role="roles/run.invoker", members=["group:oncall@example.com"])
    clients.services.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=NAME, policy=second))
    first.bindings.add(role="roles/run.invoker", members=["allUsers"])
    with pytest.raises(gexc.Conflict, match="concurrent policy changes"):
        clients.services.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=NAME, policy=first))
    read = clients.services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=NAME))
    assert [list(b.members) for b in read.bindings] == [["allUsers"], ["group:oncall@example.com"]]  # the other's stays


def test_a_malformed_member_is_refused(clients: GoogleClients) -> None:
    policy = policy_pb2.Policy()
    policy.bindings.add(role="roles/run.invoker", members=["oncall@example.com"])
    with pytest.raises(gexc.BadRequest, match=re.escape("Invalid member 'oncall@example.com'")):
        clients.services.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=NAME, policy=policy))


def test_test_iam_permissions_answers_what_the_caller_holds(clients: GoogleClients, cloud: SandboxCloud) -> None:
    asked = ["run.services.get", "run.services.update"]
    held = clients.services.test_iam_permissions(request=iam_policy_pb2.TestIamPermissionsRequest(
        resource=NAME, permissions=asked))
    assert list(held.permissions) == asked
    cloud.cloudrun.iam.caller.discard("run.services.update")  # the deployer's role was narrowed
    held = clients.services.test_iam_permissions(request=iam_policy_pb2.TestIamPermissionsRequest(
        resource=NAME, permissions=asked))
    assert list(held.permissions) == ["run.services.get"]
    svc = clients.services.get_service(name=NAME)
    refusal = f"Permission 'run.services.update' denied on resource '{NAME}'"
    with pytest.raises(gexc.Forbidden, match=re.escape(refusal)):
        clients.services.update_service(service=svc)


def test_an_injected_permission_fault_names_the_permission_the_method_needs(clients: GoogleClients,
                                                                            cloud: SandboxCloud) -> None:
    cloud.faults.cloudrun = ApiFaults(share=1.0, kinds=("PERMISSION_DENIED",), methods=("ListRevisions",))
    with pytest.raises(gexc.Forbidden, match=re.escape("Permission 'run.revisions.list' denied")):
        list(clients.revisions.list_revisions(parent=NAME))
    assert clients.services.get_service(name=NAME).name == NAME  # other methods are untouched


@pytest.fixture
def user_credentials(cloud: SandboxCloud) -> Iterator[run_v2.ServicesClient]:
    """A client with refreshable user credentials whose token endpoint is the sandbox's."""
    base = cloud.endpoints.cloudrun_url
    creds = Credentials(token="expired-token", refresh_token="refresh-me", token_uri=f"{base}/token",
                        client_id="sandbox", client_secret="sandbox")
    client = run_v2.ServicesClient(transport="rest", credentials=creds, client_options={"api_endpoint": base})
    yield client
    client.transport.close()


def test_an_expired_access_token_is_refreshed_and_the_call_goes_through(
        user_credentials: run_v2.ServicesClient, cloud: SandboxCloud) -> None:
    cloud.faults.cloudrun = ApiFaults(share=1.0, kinds=("UNAUTHENTICATED",), budget=1)
    assert user_credentials.get_service(name=NAME).name == NAME
    assert cloud.cloudrun.tokens.issued == 1
    assert cloud.cloudrun_calls["GetService"] == 2  # the refused call, then the same call with the new token


def test_a_revoked_grant_ends_in_a_refresh_error(user_credentials: run_v2.ServicesClient,
                                                 cloud: SandboxCloud) -> None:
    cloud.faults.cloudrun = ApiFaults(share=1.0, kinds=("UNAUTHENTICATED",), budget=1)
    cloud.cloudrun.tokens.revoked = True
    with pytest.raises(auth_exceptions.RefreshError, match="invalid_grant"):
        user_credentials.get_service(name=NAME)
