"""The integration and security checks measure, against the sandbox's real servers through the official clients:
each dependency its scenario breaks fails by name, who may invoke the service and its environment come from
Cloud Run, and what could not be measured never passes."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2

from core.config import EnvironmentConfig, default_config
from core.providers.cloudrun import CloudRunAdapter, RevisionState
from core.providers.profile import GoogleClients
from core.verify import CheckResult, VerifyTarget, verify_revision
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud

SERVICE = "websocket-server"
PRODUCTION: EnvironmentConfig = default_config().environment("production")
LEAKED_KEY = "AIzaSyD4-not-a-real-key-but-shaped-12345"


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check(name: str, target: VerifyTarget, clock: SandboxClock, run: CloudRunAdapter | None = None,
          config_timeout: float = 2.0) -> CheckResult:
    end = clock.now()
    report = verify_revision(target, [name], metrics=None, criteria=PRODUCTION.strategy.criteria,
                             window=(end - timedelta(seconds=300), end), profile="sandbox", timeout=config_timeout,
                             now=clock.now, cloudrun=run)
    found = report.result(name)
    assert found is not None
    return found


def tagged(run: CloudRunAdapter, clock: SandboxClock, image: str = "us-docker.pkg.dev/p/ws:v2") -> RevisionState:
    """A new revision of production's service, ready, with its own tag URL and no traffic."""
    rev = run.deploy_revision(SERVICE, image, "canary", wait=False)
    clock.advance(30)
    state = run.get_service(SERVICE).revision(rev.name)
    assert state is not None and state.ready and state.url
    return state


@pytest.mark.parametrize(("scenario", "named"), [("firebase-unreachable", "Firebase"),
                                                 ("calendar-unreachable", "Google Calendar"),
                                                 ("redis-unreachable", "Redis")])
def test_each_dependency_its_scenario_breaks_fails_integration_by_name(
        cloud: SandboxCloud, run: CloudRunAdapter, clock: SandboxClock, scenario: str, named: str) -> None:
    rev = tagged(run, clock)
    assert check("integration", VerifyTarget.from_revision(PRODUCTION, rev), clock).passed
    cloud.set_scenario(scenario)
    found = check("integration", VerifyTarget.from_revision(PRODUCTION, rev), clock)
    assert found.outcome == "fail"
    assert found.summary.startswith(f"{named} is unreachable from {rev.name} (")  # one sentence, naming it
    failing = [i["name"] for i in found.details["items"] if i["status"] == "fail"]
    assert len(failing) == 1


def test_an_unreachable_readiness_endpoint_measures_nothing_and_does_not_pass(
        cloud: SandboxCloud, run: CloudRunAdapter, clock: SandboxClock) -> None:
    rev = tagged(run, clock)
    cloud.set_scenario("region-outage")  # every endpoint answers 503 without its dependencies
    outage = check("integration", VerifyTarget.from_revision(PRODUCTION, rev), clock)
    assert outage.outcome == "fail"
    assert outage.summary == ("no integration could be measured: /readyz answered 503 without the dependencies it "
                              "checked")
    nobody = VerifyTarget("production", SERVICE, rev.name, f"http://127.0.0.1:{closed_port()}", PRODUCTION)
    refused = check("integration", nobody, clock)
    assert refused.outcome == "fail" and refused.summary.startswith("no integration could be measured: /readyz "
                                                                    "could not be reached (ConnectError")
    assert not any(i["status"] == "pass" for i in refused.details["items"] if i["name"] != "redis_connection")


def _set_invokers(clients: GoogleClients, run: CloudRunAdapter, members: list[str]) -> None:
    resource = run.resource(SERVICE)
    policy = clients.services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=resource))
    del policy.bindings[:]
    policy.bindings.add(role="roles/run.invoker", members=members)
    clients.services.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=resource, policy=policy))


def test_the_invoker_policy_is_read_from_cloud_run_and_compared_with_the_configuration(
        clients: GoogleClients, run: CloudRunAdapter, clock: SandboxClock) -> None:
    rev = tagged(run, clock)
    public = VerifyTarget.from_revision(PRODUCTION, rev)
    assert check("security", public, clock, run).passed  # seeded as Terraform leaves it: allUsers may invoke

    _set_invokers(clients, run, ["group:oncall@example.com"])
    closed = check("security", public, clock, run)
    assert closed.outcome == "fail"
    assert closed.summary == ("websocket-server is not invokable by allUsers, but its configuration says it is "
                              "public (browsers connect to it directly)")

    private_config = PRODUCTION.model_copy(update={"infrastructure": PRODUCTION.infrastructure.model_copy(
        update={"public": False})})
    private = VerifyTarget.from_revision(private_config, rev)
    assert check("security", private, clock, run).passed
    _set_invokers(clients, run, ["allUsers", "group:oncall@example.com"])
    exposed = check("security", private, clock, run)
    assert exposed.outcome == "fail"
    assert exposed.summary == "allUsers may invoke websocket-server, but its configuration says it is not public"


def test_ingress_other_than_configured_fails_and_no_cloud_run_client_measures_nothing(
        clients: GoogleClients, run: CloudRunAdapter, clock: SandboxClock) -> None:
    rev = tagged(run, clock)
    internal = PRODUCTION.model_copy(update={"infrastructure": PRODUCTION.infrastructure.model_copy(
        update={"ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY"})})
    found = check("security", VerifyTarget.from_revision(internal, rev), clock, run)
    assert found.outcome == "fail"
    assert found.summary == ("the ingress of websocket-server is INGRESS_TRAFFIC_ALL, configured "
                             "INGRESS_TRAFFIC_INTERNAL_ONLY")
    blind = check("security", VerifyTarget.from_revision(PRODUCTION, rev), clock)
    assert blind.outcome == "fail" and "could not be read: the check was given no Cloud Run client" in blind.summary


def test_a_plain_variable_holding_a_secret_is_found_in_the_deployed_revision(
        clients: GoogleClients, run: CloudRunAdapter, clock: SandboxClock) -> None:
    service = clients.services.get_service(name=run.resource(SERVICE))
    service.template.revision = ""
    service.template.containers[0].env.extend([
        run_v2.EnvVar(name="FIREBASE_API_KEY", value=LEAKED_KEY), run_v2.EnvVar(name="LOG_LEVEL", value="info"),
        run_v2.EnvVar(name="REDIS_URL", value_source=run_v2.EnvVarSource(
            secret_key_ref=run_v2.SecretKeySelector(secret="redis-url", version="3")))])
    clients.services.update_service(service=service)  # its operation ends on the sandbox clock, moved below
    rev = tagged(run, clock)  # the new revision carries the template's environment
    assert rev.secret_env == {"REDIS_CONNECTION": "redis-url@latest", "REDIS_URL": "redis-url@3"}
    target = VerifyTarget.from_revision(PRODUCTION, rev)  # no environment handed in: Cloud Run's is read
    found = check("security", target, clock, run)
    assert found.outcome == "fail"
    assert found.details["leaked_variables"] == ["FIREBASE_API_KEY"]
    assert found.summary == ("literal secret values in plain environment variables: FIREBASE_API_KEY (has the shape "
                             "of a Google API key)")
    assert LEAKED_KEY not in repr(rev) + repr(target) + str(found)
