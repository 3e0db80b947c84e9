"""A region failover serves users the way the primary did: the copy has the primary's whole configuration.

The primary is configured through the official Cloud Run client as Terraform configures production
(infrastructure/modules/websocket-server): environment variables and Secret Manager references, its own
service account, scaling, a long timeout and high concurrency, Direct VPC egress into the environment's
subnet, and a public invoker policy. After the network runbook, the service the failover region serves is
read back through the same client and compared field by field.
"""

from __future__ import annotations

from pathlib import Path

from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import duration_pb2

from core.model import frontend_env
from core.providers.cloudrun_failover import FAILOVER_LABEL, in_region
from core.recovery import begin_incident, finish_recovery, run_recovery
from tests.recovery_rig import RecoveryRig, recovery_rig

PROJECT = "ai-agent-network-prod"
PRIMARY = f"projects/{PROJECT}/locations/us-central1/services/websocket-server"
FAILOVER = f"projects/{PROJECT}/locations/us-east1/services/websocket-server"
ACCOUNT = f"websocket-server-run@{PROJECT}.iam.gserviceaccount.com"
SUBNET = "agent-network-run"


def _configure_primary(rr: RecoveryRig) -> run_v2.ServicesClient:
    """Production configured as Terraform does it, while healthy; then its region goes down."""
    services = rr.rig.wiring.clients.services
    svc = services.get_service(name=PRIMARY)
    svc.template.service_account = ACCOUNT
    svc.template.timeout = duration_pb2.Duration(seconds=3600)
    svc.template.max_instance_request_concurrency = 250
    svc.template.session_affinity = True
    svc.template.scaling = run_v2.RevisionScaling(min_instance_count=2, max_instance_count=20)
    svc.template.vpc_access = run_v2.VpcAccess(
        network_interfaces=[run_v2.VpcAccess.NetworkInterface(network="agent-network", subnetwork=SUBNET)],
        egress=run_v2.VpcAccess.VpcEgress.PRIVATE_RANGES_ONLY)
    container = svc.template.containers[0]
    del container.env[:]  # the seeded environment, replaced by Terraform's (modules/websocket-server)
    container.env.extend([
        run_v2.EnvVar(name="ENVIRONMENT", value="production"),
        run_v2.EnvVar(name="FIREBASE_PROJECT_ID", value="agent-network"),
        run_v2.EnvVar(name="FIREBASE_CREDENTIALS", value_source=run_v2.EnvVarSource(
            secret_key_ref=run_v2.SecretKeySelector(secret=f"projects/{PROJECT}/secrets/firebase-credentials",
                                                    version="3")))])
    container.resources = run_v2.ResourceRequirements(limits={"cpu": "2", "memory": "1Gi"}, cpu_idle=False)
    svc.template.revision = ""
    update = services.update_service(service=svc)
    rr.rig.sleep(30.0)  # the sandbox's clock moves only when told: the new revision starts meanwhile
    update.result()
    policy = services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=PRIMARY))
    policy.bindings.append(policy_pb2.Binding(role="roles/run.invoker", members=["allUsers"]))
    services.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=PRIMARY, policy=policy))
    rr.rig.cloud.set_scenario("region-outage")
    rr.rig.sleep(300.0)  # five minutes of the outage for the evidence to show it
    return services


def _fail_over(rr: RecoveryRig) -> list[str]:
    context = rr.context("production")
    begin_incident(context, rr.store)
    results = run_recovery(context)
    report = finish_recovery(context)
    assert report.passed, report.items
    return [r.status for r in results]


def test_the_failover_region_serves_with_the_primary_s_whole_configuration(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "healthy") as rr:
        services = _configure_primary(rr)
        primary = services.get_service(name=PRIMARY)

        assert set(_fail_over(rr)) == {"done"}

        copy = services.get_service(name=FAILOVER)
        assert copy.template.containers[0].image.endswith(":stable")
        assert list(copy.template.containers[0].env) == list(primary.template.containers[0].env)
        secret = next(e for e in copy.template.containers[0].env if e.name == "FIREBASE_CREDENTIALS")
        assert secret.value_source.secret_key_ref.version == "3" and not secret.value  # a reference, no value
        assert copy.template.service_account == ACCOUNT
        assert (copy.template.scaling.min_instance_count, copy.template.scaling.max_instance_count) == (2, 20)
        assert copy.template.timeout.seconds == 3600 and copy.template.max_instance_request_concurrency == 250
        assert copy.template.session_affinity
        assert copy.template.containers[0].resources.limits["memory"] == "1Gi"
        interface = copy.template.vpc_access.network_interfaces[0]
        assert (interface.network, interface.subnetwork) == ("agent-network", SUBNET)
        assert copy.template.vpc_access.egress == run_v2.VpcAccess.VpcEgress.PRIVATE_RANGES_ONLY
        assert copy.ingress == primary.ingress
        assert copy.labels[FAILOVER_LABEL] == "us-central1"
        invokers = services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=FAILOVER))
        assert any(b.role == "roles/run.invoker" and "allUsers" in b.members for b in invokers.bindings)

        # The frontend's variable is the one the Next.js app reads and Terraform sets.
        cloud = rr.rig.cloud
        url = cloud.service_url(FAILOVER).replace("http://", "ws://")
        assert cloud.vercel_env.value("agent-network-web", frontend_env.WEBSOCKET_URL) == url


def test_a_second_failover_changes_nothing(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "healthy") as rr:
        _configure_primary(rr)
        _fail_over(rr)
        primary, secondary = rr.rig.wiring.cloudrun("production"), rr.rig.wiring.cloudrun_in("production", "us-east1")
        before = rr.rig.wiring.clients.services.get_service(name=FAILOVER)
        image = before.template.containers[0].image
        secondary.serve_copy("websocket-server", image, source=primary)
        after = rr.rig.wiring.clients.services.get_service(name=FAILOVER)
        assert (after.generation, after.latest_created_revision) == (before.generation, before.latest_created_revision)


def test_a_copy_that_lacks_the_primary_s_environment_is_not_ready(tmp_path: Path) -> None:
    from core.recovery.actions import check_secondary

    with recovery_rig(tmp_path, "healthy") as rr:
        services = _configure_primary(rr)
        _fail_over(rr)
        copy = services.get_service(name=FAILOVER)
        del copy.template.containers[0].env[:]  # someone "fixed" the failover service by hand
        copy.template.revision = ""
        update = services.update_service(service=copy)
        rr.rig.sleep(30.0)
        update.result()
        context = rr.context("production")
        outcome = check_secondary(context, None, None)  # type: ignore[arg-type]  # the check reads neither
        assert not outcome.passed
        assert "not configured like us-central1" in outcome.detail and "env FIREBASE_CREDENTIALS" in outcome.detail


def test_regional_references_move_to_the_failover_region_and_names_stay() -> None:
    connector = "projects/p/locations/us-central1/connectors/run"
    subnet = "projects/p/regions/us-central1/subnetworks/agent-run"
    assert in_region(connector, "us-east1") == "projects/p/locations/us-east1/connectors/run"
    assert in_region(subnet, "us-east1") == "projects/p/regions/us-east1/subnetworks/agent-run"
    assert in_region("agent-run", "us-east1") == "agent-run"  # a name is looked up in the service's region
