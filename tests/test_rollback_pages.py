"""The page an automatic rollback opened is resolved when live health recovers after it, under the deployment's
own dedup key, once: the rollback did restore the environment, even if its stable revision was not healthy yet
when the rollback checked it. Seen where an operator sees it: `opsconsole status` observes the recovery and
`opsconsole sandbox notifications --json` lists what the sandbox's PagerDuty received."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.engine import approve
from core.model.health import health_dedup_key
from core.model.paging import deployment_dedup_key
from core.registry import DeploymentStatus
from tests.cli_project import run
from tests.engine_rig import IMAGE, rig, rig_config


def _pagerduty(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    code, out, _ = run(capsys, "sandbox", "notifications", "--json")
    assert code == 0
    return [(row["action"], row["dedup_key"]) for row in json.loads(out) if row["channel"] == "pagerduty"]


def _status(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, _ = run(capsys, "status", "production", "--json")
    assert code == 0
    return str(json.loads(out)["health"]["state"])


def test_health_recovering_after_an_automatic_rollback_resolves_its_page_once(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Redis is down for the whole environment: the new revision fails its verification, the engine rolls back,
    # and the stable revision it went back to fails its health check too, so the rollback's page stays open.
    with rig(project, scenario="redis-unreachable", config=rig_config(mode="auto"),
             state_file=project / "sandbox.json") as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine_for("bob"), "production")
        r.drive(deployment.id)
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.ROLLED_BACK and final.metadata["rollback_verified"] is False
        rollback_key, health_key = deployment_dedup_key(deployment.id), health_dedup_key("production")
        assert _pagerduty(capsys) == [("trigger", rollback_key)]

        assert _status(capsys) == "down"
        assert _pagerduty(capsys) == [("trigger", rollback_key), ("trigger", health_key)]

        r.cloud.set_scenario("healthy")
        r.sleep(600.0)  # the failing minutes leave Monitoring's recent window
        assert _status(capsys) == "ok"
        assert _pagerduty(capsys) == [("trigger", rollback_key), ("trigger", health_key), ("resolve", health_key),
                                      ("resolve", rollback_key)]
        assert r.cloud.sinks.alert_status(rollback_key) == "resolved"
        slack = [m.get("text", "") for m in r.cloud.sinks.slack_messages()]
        assert any(f"the page deployment {deployment.id} raised is resolved" in text for text in slack)

        r.sleep(60.0)
        assert _status(capsys) == "ok"
        fixed = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE.replace("v2.0.0", "v2.0.1")})
        approve(r.engine_for("bob"), "production")
        r.drive(fixed.id)
        assert r.deployment(fixed.id).status == DeploymentStatus.SUCCEEDED
        assert _pagerduty(capsys)[-1] == ("resolve", rollback_key) and len(_pagerduty(capsys)) == 4, \
            "resolved once: neither a later look at health nor the next release resolves it again"
