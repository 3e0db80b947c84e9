"""Deployments' notifications have a lifecycle: an automatic rollback in production pages and resolves that page once
the stable revision answers healthy; a rollback a person asked for, and any dev rollback, go to Slack only; a
production deployment waiting for approval tells Slack who may approve. Asserted on what the sandbox's Slack and
PagerDuty received through the real notifiers."""

from __future__ import annotations

import json
from pathlib import Path

from core.config import ConsoleConfig
from core.engine import approve
from core.engine.rollback import rollback_deployment
from core.model.paging import deployment_dedup_key
from core.registry import DeploymentStatus
from sandbox.sinks import notifications
from tests.cli_rig import opsconsole
from tests.engine_rig import IMAGE, Rig, rig, rig_config
from tests.recovery_rig import recovery_rig, ship_bad_revision
from tests.test_engine_canary import LIVE_JUDGE_ONLY


def _paged(r: Rig) -> list[tuple[str, str]]:
    """(action, dedup key) of every PagerDuty alert event, as `opsconsole sandbox notifications --json` lists them."""
    return [(row["action"], row["dedup_key"]) for row in notifications(r.cloud.sinks.received())
            if row["channel"] == "pagerduty"]


def _slack(r: Rig) -> list[str]:
    return [m.get("text", "") for m in r.cloud.sinks.slack_messages()]


def test_an_automatic_rollback_in_production_pages_and_resolves_once_stable_is_healthy(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="canary-5xx", config=rig_config(mode="auto", criteria=LIVE_JUDGE_ONLY)) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine_for("bob"), "production")
        r.drive(deployment.id)
        assert r.deployment(deployment.id).status == DeploymentStatus.ROLLED_BACK
        key = deployment_dedup_key(deployment.id)
        assert _paged(r) == [("trigger", key), ("resolve", key)]
        assert r.cloud.sinks.alert_status(key) == "resolved"
        assert any("rolled back: canary judge" in text for text in _slack(r))
        assert any("production is healthy again after rolling back" in text for text in _slack(r))


def test_an_operators_rollback_goes_to_slack_and_pages_nobody(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "canary-5xx") as rr:
        r = rr.rig
        ship_bad_revision(rr)
        before = len(r.cloud.sinks.received())
        rollback_deployment(r.engine, "production", "websocket-server", reason="5xx after the release")
        after = notifications(r.cloud.sinks.received()[before:])
        assert [row["channel"] for row in after] == ["slack"], "Slack only: no alert, no change event"
        assert "rolled back by alice: 5xx after the release" in after[0]["summary"]
        assert _paged(r) == []


def test_a_dev_rollback_by_the_engine_goes_to_slack_only(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="canary-5xx", config=rig_config()) as r:
        deployment = r.engine.deploy_to_environment("dev", {"websocket-server": IMAGE})
        r.drive(deployment.id)
        assert r.deployment(deployment.id).status == DeploymentStatus.ROLLED_BACK
        assert _paged(r) == [], "dev never pages: nobody is woken for a developer's environment"
        assert any(f"deployment {deployment.id} to dev rolled back: canary judge" in text for text in _slack(r))


def test_a_production_deployment_waiting_for_approval_tells_slack_who_may_approve_once(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        tick = r.engine.tick(deployment.id)
        assert tick.state == "operator"
        r.engine.tick(deployment.id)  # still waiting: said once
        waiting = [t for t in _slack(r) if "waits for approval" in t]
        assert len(waiting) == 1
        assert f"deployment {deployment.id}" in waiting[0] and "who may approve: alice, bob" in waiting[0]
        assert "opsconsole approve production" in waiting[0]
        assert _paged(r) == []


def test_a_page_left_open_by_a_failed_deployment_is_resolved_by_the_next_release_that_succeeds(tmp_path: Path) -> None:
    data = rig_config().model_dump()
    data["environments"]["dev"]["notifications"]["deployment_failed"] = "error"  # this team pages for it
    with rig(tmp_path, scenario="never-ready", config=ConsoleConfig.model_validate(data)) as r:
        failed = r.engine.deploy_to_environment("dev", {"websocket-server": IMAGE})
        r.drive(failed.id)
        assert r.deployment(failed.id).status == DeploymentStatus.FAILED
        key = deployment_dedup_key(failed.id)
        assert _paged(r) == [("trigger", key)] and r.cloud.sinks.alert_status(key) == "triggered"
        r.cloud.set_scenario("healthy")
        fixed = r.engine.deploy_to_environment("dev", {"websocket-server": IMAGE.replace("v2.0.0", "v2.0.1")})
        r.drive(fixed.id)
        assert r.deployment(fixed.id).status == DeploymentStatus.SUCCEEDED
        assert _paged(r) == [("trigger", key), ("resolve", key)]
        assert any(f"deployment {fixed.id} succeeded; the page deployment {failed.id} raised is resolved" in text
                   for text in _slack(r))
        again = r.engine.deploy_to_environment("dev", {"websocket-server": IMAGE.replace("v2.0.0", "v2.0.2")})
        r.drive(again.id)
        assert _paged(r) == [("trigger", key), ("resolve", key)], "a resolved page is not resolved again"


def test_deploy_to_production_waits_for_approval_and_sandbox_notifications_shows_who_may_approve(
        tmp_path: Path) -> None:
    (tmp_path / "opsconsole.toml").write_text('[teams]\noperations = ["alice", "bob"]\n')
    env = {"OPSCONSOLE_REGISTRY": str(tmp_path / "registry.json"), "OPSCONSOLE_SANDBOX": str(tmp_path / "sandbox.json"),
           "OPSCONSOLE_OPERATOR": "alice"}
    ran = opsconsole("deploy", "production", "--set", "websocket-server=example/websocket-server:v2.0.0", "--yes",
                     cwd=tmp_path, env=env)
    assert ran.returncode == 3, ran.stderr  # waiting for a person
    ran = opsconsole("sandbox", "notifications", "--json", cwd=tmp_path, env=env)
    rows = json.loads(ran.stdout)
    waiting = [r["summary"] for r in rows if r["channel"] == "slack" and "waits for approval" in r["summary"]]
    assert len(waiting) == 1 and "who may approve: alice, bob (opsconsole approve production)" in waiting[0]
    assert [r for r in rows if r["channel"] == "pagerduty"] == [], "an approval wait pages nobody"
