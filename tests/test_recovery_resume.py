"""A recovery killed in the middle of a step resumes from that step: completed steps are not repeated
(the sandbox's request logs prove it) and the step that may have half-run asks before it runs again.
A dry run changes nothing, in any scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.providers.vercel_env import VercelEnvAdapter
from core.recovery import IncidentStore, RecoveryContext, begin_incident, finish_recovery, resume_incident, run_recovery
from core.recovery.incident import TABLE
from tests.recovery_rig import recovery_rig, ship_bad_revision


class Killed(BaseException):
    """The console process dying: nothing after this point runs, nothing catches it."""


class DiesAfterSettingTheVariable(VercelEnvAdapter):
    """The real Vercel call, then the process dies before the step's outcome is written."""

    def set_env(self, project: str, key: str, value: str, target: tuple[str, ...] = ("production",)) -> None:
        super().set_env(project, key, value, target)
        raise Killed


def test_a_recovery_killed_mid_step_resumes_there_without_repeating_a_completed_step(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "region-outage") as rr:
        r = rr.rig
        first = rr.context("production")
        first.ports.frontend_env = DiesAfterSettingTheVariable(r.wiring.http, "sandbox-token",
                                                               base_url=r.wiring.endpoints.vercel_url)
        incident = begin_incident(first, rr.store)
        with pytest.raises(Killed):
            run_recovery(first)
        assert incident.last_outcome("point-frontend") == "intent"  # written ahead, outcome never written
        asked_before = len(rr.asked)

        # A new console: new registry handle, providers and engine; the same registry file and cloud.
        engine = r.restarted()
        wiring = r._extra[-1]
        second = RecoveryContext(engine=engine, environment="production", ports=wiring.recovery_ports(),
                                 sleep=r.sleep, confirm=lambda q: rr.asked.append(q) or True, probes=6, messages=3,
                                 ack_timeout_s=0.3)
        store = IncidentStore(engine.registry)
        resumed = resume_incident(second, store)
        assert resumed.id == incident.id
        results = run_recovery(second)
        assert finish_recovery(second).passed

        asked_after = rr.asked[asked_before:]
        assert asked_after[0].startswith("Step point-frontend (") and "half-run" in asked_after[0]
        assert not any("Approve" in q for q in asked_after)  # the approval was given once, before the kill
        assert results[0].step == "point-frontend"
        record = r.registry.get_record(TABLE, incident.id)
        assert record is not None and record["status"] == "resolved"
        done = [e["step"] for e in record["timeline"] if e["kind"] == "done"]
        assert done.count("fail-over-region") == 1 and done.count("wait-secondary-ready") == 1
        # From the cloud's side: the secondary service was created once; the variable set twice to one value.
        creates = [c for c in r.cloud.cloudrun_requests.since(0) if c.rpc == "CreateService"]
        assert len(creates) == 1
        writes = r.cloud.vercel_env.writes
        assert len(writes) == 2 and writes[0]["value"] == writes[1]["value"]


def test_declining_to_rerun_a_half_run_step_stops_the_recovery_and_keeps_it_open(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "region-outage") as rr:
        first = rr.context("production")
        first.ports.frontend_env = DiesAfterSettingTheVariable(rr.rig.wiring.http, "sandbox-token",
                                                               base_url=rr.rig.wiring.endpoints.vercel_url)
        begin_incident(first, rr.store)
        with pytest.raises(Killed):
            run_recovery(first)
        rr.answer = lambda question: "half-run" not in question
        second = rr.context("production")
        resume_incident(second, rr.store)
        (result,) = run_recovery(second)
        assert result.status == "declined" and result.stopped
        assert second.incident is not None and second.incident.record["status"] == "open"
        assert len(rr.rig.cloud.vercel_env.writes) == 1


@pytest.mark.parametrize("scenario", ["instances-zero", "canary-5xx", "region-outage", "redis-unreachable"])
def test_a_dry_run_changes_nothing_and_says_what_each_step_would_do(tmp_path: Path, scenario: str) -> None:
    with recovery_rig(tmp_path, scenario) as rr:
        cloud = rr.rig.cloud
        if scenario == "canary-5xx":
            ship_bad_revision(rr)
        before = (len(cloud.cloudrun_requests.since(0)), len(cloud.redis.requests), len(cloud.vercel_env.writes),
                  len(cloud.vercel.deployments), len(cloud.sinks.received()))
        context = rr.context("production", dry_run=True)
        incident = begin_incident(context, IncidentStore(rr.rig.registry, persist=False))
        results = run_recovery(context)

        assert {r.status for r in results} == {"dry-run"}
        assert len(results) == len(incident.record["plan"]["steps"])
        assert all(e["summary"].startswith("would") for e in incident.timeline if e["kind"] == "dry-run")
        after = (len(cloud.cloudrun_requests.since(0)), len(cloud.redis.requests), len(cloud.vercel_env.writes),
                 len(cloud.vercel.deployments), len(cloud.sinks.received()))
        assert after == before
        assert rr.rig.registry.records(TABLE) == {}
        assert rr.asked == []  # nothing asked: nothing would run
