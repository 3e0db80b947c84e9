"""A rollback is verified afterwards, and one whose checks fail is said to have failed: recorded as failed, the
command exits 1, and PagerDuty is paged under the deployment's one dedup key by `rollback_failed` (production's
rule pages at critical). The frontend goes back only where Vercel's rollback-candidate rule allows. Tested with the
sandbox's faults: the revision or build gone back to is broken too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.wiring import Wiring, seed_from_config
from core.config import default_config
from core.engine.rollback import rollback_deployment
from core.errors import OperationFailed
from core.model.paging import deployment_dedup_key
from core.registry import DeploymentStatus
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.sinks import notifications
from tests.cli_project import EPOCH, run
from tests.engine_rig import START, Rig, rig
from tests.recovery_rig import BAD_IMAGE, recovery_rig, ship_bad_revision

PRODUCTION_WEB = "agent-network-web"
STAGING_WEB = "agent-network-web-staging"


def _paged(r: Rig) -> list[tuple[str, str, str]]:
    """(action, dedup key, severity) of every PagerDuty alert event the sandbox's PagerDuty received."""
    records = [record for record in r.cloud.sinks.received() if record.channel == "pagerduty"]
    rows = [row for row in notifications(r.cloud.sinks.received()) if row["channel"] == "pagerduty"]
    return [(row["action"], row["dedup_key"], str((record.body.get("payload") or {}).get("severity", "")))
            for row, record in zip(rows, records, strict=True)]


def test_a_manual_rollback_to_a_revision_that_is_also_broken_is_failed_and_pages_once(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "canary-5xx") as rr:
        r = rr.rig
        ship_bad_revision(rr)
        r.cloud.set_scenario("redis-unreachable")  # the whole environment: the revision gone back to fails /readyz
        done = rollback_deployment(r.engine, "production", "websocket-server", reason="5xx after the release")
        assert done.status == DeploymentStatus.FAILED
        assert done.metadata["rollback_verified"] is False and "/readyz" in done.metadata["check"]
        (recorded,) = [e for e in r.registry.events(done.id) if e.action == "rollback"]
        assert recorded.kind == "failed"
        key = deployment_dedup_key(done.id)
        assert [(action, dedup) for action, dedup, _ in _paged(r)] == [("trigger", key)]
        slack = [m.get("text", "") for m in r.cloud.sinks.slack_messages()]
        assert any("rolled back by alice: 5xx after the release, but the checks afterwards failed" in text
                   for text in slack)


def test_a_manual_rollback_whose_checks_pass_succeeds_and_pages_nobody(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "canary-5xx") as rr:
        r = rr.rig
        ship_bad_revision(rr)
        done = rollback_deployment(r.engine, "production", "websocket-server", reason="5xx after the release")
        assert done.status == DeploymentStatus.SUCCEEDED and done.metadata["rollback_verified"] is True
        assert _paged(r) == []


def test_the_cli_exits_1_for_a_rollback_whose_checks_failed_and_the_page_is_in_sandbox_notifications(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = default_config()
    cloud = SandboxCloud(seed=seed_from_config(config), scenario="healthy", clock=SandboxClock(speed=0, start=EPOCH),
                         state_file=project / "sandbox.json").start()
    try:
        wiring = Wiring.for_sandbox(config, cloud)
        cloudrun = wiring.cloudrun("production")
        revision = cloudrun.deploy_revision("websocket-server", BAD_IMAGE, "candidate", wait=False)
        wiring.sleep(30.0)
        cloudrun.set_traffic("websocket-server", {revision.name: 100}, {"stable": revision.name})
        cloud.set_scenario("redis-unreachable")
        wiring.close()
    finally:
        cloud.stop()
    code, out, _ = run(capsys, "rollback", "production", "--component", "websocket-server", "--reason",
                       "errors after the release", "--yes", "--json")
    result = json.loads(out.splitlines()[-1])
    assert (code, result["outcome"], result["exit_code"], result["status"]) == (1, "failed", 1, "failed")
    assert "but the checks afterwards failed" in result["reason"] and "/readyz" in result["reason"]
    code, out, _ = run(capsys, "sandbox", "notifications", "--json")
    paged = [row for row in json.loads(out) if row["channel"] == "pagerduty"]
    assert [(row["action"], row["dedup_key"]) for row in paged] == [
        ("trigger", deployment_dedup_key(result["deployment_id"]))]


def test_a_frontend_rollback_to_a_build_that_is_also_broken_is_failed_naming_the_url(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = r.engine.deploy_to_environment("staging", {"frontend": "release/2.1"})
        r.drive(deployment.id)
        assert r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED
        r.cloud.vercel.set_page_fault(STAGING_WEB, "server-error", existing=True)
        done = rollback_deployment(r.engine, "staging", "frontend", reason="agents page broken")
        assert done.status == DeploymentStatus.FAILED
        assert done.metadata["check"] == (f"frontend: https://{STAGING_WEB}.vercel.app/agents answered 500 "
                                          "(500: INTERNAL_SERVER_ERROR FUNCTION_INVOCATION_FAILED)")
        assert _paged(r) == [], "staging's rule: a failed rollback goes to Slack only"


def test_an_automatic_rollback_whose_previous_frontend_is_broken_too_is_failed_and_pages_critical(
        tmp_path: Path) -> None:
    data = default_config().model_dump()
    data["environments"]["staging"]["notifications"]["rollback_failed"] = "critical"  # this team pages for it
    from core.config import ConsoleConfig

    with rig(tmp_path, start=START, config=ConsoleConfig.model_validate(data)) as r:
        deployment = r.engine.deploy_to_environment("staging", {"frontend": "release/2.1"})
        r.tick_until(deployment.id, lambda rollout: rollout.frontend_promoted)
        r.cloud.vercel.set_page_fault(STAGING_WEB, "missing-asset", existing=True)  # the build before, too
        r.drive(deployment.id)
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.ROLLED_BACK and final.metadata["rollback_verified"] is False
        (recorded,) = [e for e in r.registry.events(deployment.id) if e.action == "rollback"]
        assert recorded.kind == "failed" and "frontend: https://" in recorded.detail["stable_check"]
        key = deployment_dedup_key(deployment.id)
        assert _paged(r) == [("trigger", key, "critical")], "paged once, not resolved: still broken"


def test_a_frontend_rollback_never_asks_vercel_for_a_deployment_it_would_refuse(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        frontend = r.wiring.frontend()
        seeded = frontend.production_deployment(STAGING_WEB)
        assert seeded is not None
        first = r.engine.deploy_to_environment("staging", {"frontend": "release/2.1"})
        r.drive(first.id)
        second = r.engine.deploy_to_environment("staging", {"frontend": "release/2.2"})
        r.drive(second.id)
        r.cloud.vercel.plan = "hobby"  # only the previous production deployment may be gone back to
        staged = frontend.create_deployment(STAGING_WEB, "release/2.3", target="production")
        with pytest.raises(OperationFailed) as refused:
            rollback_deployment(r.engine, "staging", "frontend", reason="try the seeded one", version=seeded.id)
        assert str(refused.value).startswith(f"Vercel would refuse to roll {STAGING_WEB} back to {seeded.id}")
        with pytest.raises(OperationFailed, match="does not name it a rollback candidate"):
            rollback_deployment(r.engine, "staging", "frontend", reason="the staged build", version=staged.id)
        assert all(p.last_rollback_target is None for p in r.cloud.vercel.projects.values()), "nothing was sent"
        done = rollback_deployment(r.engine, "staging", "frontend", reason="back one")
        assert done.status == DeploymentStatus.SUCCEEDED and done.versions == {"frontend": "release/2.1"}
