"""After a deployment ends, the engine points its environment's dashboard at the canary and stable revisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.model.events import Note
from core.providers.dashboards import DashboardsAdapter, dashboards_client
from core.providers.google_retry import RetryPolicy
from core.registry import DeploymentStatus
from core.reports import generate_report
from sandbox.dashboards_api import describe
from sandbox.faults import ApiFaults
from tests.engine_rig import IMAGE, START, rig

STAGING_DASHBOARD = "projects/ai-agent-network-staging/dashboards/opsconsole-staging"


def test_a_finished_deployment_updates_the_dashboard_and_feeds_lead_time(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        old = next(iter(r.served("staging")))
        committed = r.wiring.now() - timedelta(hours=5)
        deployment = r.engine.deploy_to_environment("staging", {"websocket-server": IMAGE},
                                                    commit_times={"websocket-server": committed})
        assert r.drive(deployment.id).state == "finished"

        new = r.rollout(deployment.id).new_revision
        panels = describe(r.cloud.dashboards)[STAGING_DASHBOARD]["panels"]
        assert panels[0] == f"canary 5xx rate ({new})" and panels[4] == f"stable 5xx rate ({old})"
        finished = r.deployment(deployment.id)
        assert finished.status == DeploymentStatus.SUCCEEDED
        assert finished.metadata["commit_times"] == {"websocket-server": committed.isoformat()}

        day = datetime.fromtimestamp(START, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        report = generate_report(r.registry, day - timedelta(days=1), day + timedelta(days=2), "staging")
        assert report.dora.lead_time.samples == 1
        expected = (finished.ended_at - committed).total_seconds()  # type: ignore[operator]
        assert report.dora.lead_time.median_seconds == expected


def test_a_dashboard_that_cannot_be_written_is_a_note_not_a_failed_deployment(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        r.cloud.dashboards.faults = ApiFaults(share=1.0, kinds=("RESOURCE_EXHAUSTED",), methods=("GetDashboard",))
        client = dashboards_client(r.cloud.endpoints)
        fast = RetryPolicy(initial=0.01, maximum=0.02, deadline=0.2)  # give up on the quota in 0.2 s, not 30 s
        r.engine.ports.dashboards = lambda env: DashboardsAdapter(client, "ai-agent-network-staging", policy=fast)
        deployment = r.engine.deploy_to_environment("staging", {"websocket-server": IMAGE})

        assert r.drive(deployment.id).state == "finished"
        assert r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED
        notes = [e.message for e in r.events if isinstance(e, Note) and "dashboard" in e.message]
        assert notes and "dashboard of staging not updated" in notes[0] and "429" in notes[0]
        assert describe(r.cloud.dashboards) == {}
        client.transport.close()
