"""Guided recovery of each sandbox failure scenario, end to end: classify, plan, run to recovery, validate.

The sandbox clears a fault only when the real remedy reaches its API (min instances through the Cloud
Run Admin API, a service in another region plus the frontend's WebSocket URL through Vercel, a replica
failover through Memorystore, traffic back to the stable revision), so a passing validation means the
recovery really changed the cloud.
"""

from __future__ import annotations

from pathlib import Path

from core.model.paging import incident_dedup_key as dedup_key
from core.recovery import begin_incident, finish_recovery, run_recovery
from core.recovery.execute import execute_recovery_step, plan_of
from core.recovery.incident import TABLE
from tests.recovery_rig import RecoveryRig, recovery_rig, ship_bad_revision

PROJECT = "ai-agent-network-prod"


def _recover(rr: RecoveryRig) -> tuple[dict, list[str]]:
    context = rr.context("production")
    incident = begin_incident(context, rr.store)
    results = run_recovery(context)
    report = finish_recovery(context)
    assert report.passed, report.items
    stored = rr.rig.registry.get_record(TABLE, incident.id)
    assert stored is not None
    return stored, [r.status for r in results]


def test_instances_at_zero_is_compute_and_raising_min_instances_brings_the_service_back(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "instances-zero") as rr:
        record, statuses = _recover(rr)
        assert record["classification"]["failure_type"] == "compute"
        assert "instances_zero" in record["classification"]["signals"]
        assert record["severity"] == "SEV1"  # production answers nothing at all
        assert [s["id"] for s in record["plan"]["steps"]] == [
            "approve-changes", "raise-min-instances", "verify-health", "verify-delivery"]
        assert statuses == ["done"] * 4
        assert record["status"] == "resolved" and record["resolved_at"] and record["time_to_restore_s"] is not None
        scaled = [r for r in rr.rig.cloud.cloudrun_requests.since(0) if r.rpc == "UpdateService"]
        assert len(scaled) == 1 and scaled[0].status == 200
        service = next(s for s in rr.rig.cloud.cloudrun.services.values() if s.project == PROJECT)
        assert service.min_instances == 2  # the configured production minimum
        # PagerDuty was paged at the start and resolved at the end, under the incident's key.
        events = [e for e in rr.rig.cloud.sinks.pagerduty_events() if e.get("dedup_key") == dedup_key(record["id"])]
        assert [e["event_action"] for e in events] == ["trigger", "resolve"]
        assert any(record["id"] in m.get("text", "") for m in rr.rig.cloud.sinks.slack_messages())


def test_bad_canary_is_compute_with_the_deployment_as_suspect_and_traffic_goes_back(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "canary-5xx") as rr:
        suspect = ship_bad_revision(rr)
        bad = next(iter(rr.rig.served()))
        record, statuses = _recover(rr)
        c = record["classification"]
        assert c["failure_type"] == "compute" and c["suspect_revision"] == bad
        assert record["suspect_deployment_id"] == suspect
        assert {"bad_revision", "suspect_deployment"} <= set(c["signals"])
        assert "raise-min-instances" in record["plan"]["dropped"]
        assert "route-to-healthy-revision" in [s["id"] for s in record["plan"]["steps"]]
        assert set(statuses) == {"done"}
        served = rr.rig.served()
        assert bad not in served and sum(served.values()) == 100
        assert record["severity"] == "SEV2"  # degraded, not down


def test_region_outage_is_network_and_fails_over_to_the_secondary_region(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "region-outage") as rr:
        record, statuses = _recover(rr)
        assert record["classification"]["failure_type"] == "network"
        assert record["classification"]["scope"]["regions"] == ["us-central1"]
        assert "checkpoint-point-frontend" in [s["id"] for s in record["plan"]["steps"]]  # inserted by the planner
        assert set(statuses) == {"done"}
        cloud = rr.rig.cloud
        secondary = cloud.cloudrun.services[f"projects/{PROJECT}/locations/us-east1/services/websocket-server"]
        assert secondary.image.endswith(":stable")
        url = cloud.service_url(secondary.full_name).replace("http://", "ws://")
        assert cloud.vercel_env.value("agent-network-web", "NEXT_PUBLIC_WEBSOCKET_URL") == url
        redeploy = next(e for e in record["timeline"] if e["step"] == "redeploy-frontend" and e["kind"] == "done")
        live = rr.rig.wiring.frontend().production_deployment("agent-network-web")
        assert live is not None and live.id == redeploy["outputs"]["deployment"]


def test_redis_unreachable_is_storage_and_a_replica_failover_keeps_every_key(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "redis-unreachable") as rr:
        record, statuses = _recover(rr)
        assert record["classification"]["failure_type"] == "storage"
        assert {"redis_unreachable", "delivery_lost"} <= set(record["classification"]["signals"])
        by_step = {s["id"]: st for s, st in zip(record["plan"]["steps"], statuses, strict=True)}
        assert by_step["promote-replica"] == "done" and by_step["restore-backup"] == "skipped"
        assert [c.rpc for c in rr.rig.cloud.redis.requests] == ["FailoverInstance"]
        keys = next(e for e in record["timeline"] if e["step"] == "verify-keys" and e["kind"] == "done")
        assert keys["outputs"]["keys"] == record["baseline"]["redis_keys"] == 10


def test_redis_keys_that_cannot_be_counted_leave_the_step_failed_not_done(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "redis-unreachable") as rr:
        context = rr.context("production")
        incident = begin_incident(context, rr.store)
        # Redis was down when the incident began: the service still told the counts it had last read.
        assert incident.record["baseline"]["redis_key_counts"] == {"agent": 8, "fanout": 1, "sessions": 1}
        assert incident.record["baseline"]["redis_keys_read_at"]
        rr.rig.cloud.set_scenario("region-outage")  # now the service's /readyz answers nobody's dependencies
        step = next(s for s in plan_of(incident).steps if s.id == "verify-keys")
        result = execute_recovery_step(step, context)
        assert result.status == "failed"
        assert result.detail.endswith("Redis key counts could not be measured: /readyz answered 503 without the "
                                      "dependencies it checked")
        assert result.outputs == {"measured": False}
        assert not any(e["step"] == "verify-keys" and e["kind"] == "done" for e in incident.record["timeline"])
