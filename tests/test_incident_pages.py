"""Incidents page only when they should: assessed first with nothing written or sent, opened only when confirmed
(the question names the page and the Slack text), never written or sent from a read-only console, and their page
resolved when they are resolved or aborted. Checked on what the sandbox's Slack and PagerDuty received and what
the registry holds, through the real notifiers."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.access import ReadOnly
from core.errors import OperationFailed
from core.model.paging import incident_dedup_key
from core.recovery import assess, begin_incident, end_incident, open_incident
from core.recovery.incident import TABLE
from sandbox.sinks import notifications
from tests.recovery_rig import RecoveryRig, recovery_rig


def _sent(rr: RecoveryRig) -> list[tuple[str, str, str]]:
    """(channel, action, dedup key) of everything the sandbox's Slack and PagerDuty received, as
    `opsconsole sandbox notifications --json` lists it."""
    return [(r["channel"], r["action"], r["dedup_key"]) for r in notifications(rr.rig.cloud.sinks.received())]


def test_a_healthy_environment_is_assessed_without_a_record_or_a_page_and_the_question_advises_against(
        tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "healthy") as rr:
        rr.answer = lambda question: False
        context = rr.context("production")
        found = assess(context)
        assert found.healthy
        question = found.question()
        assert "production looks healthy" in question and "better not to page" in question
        assert "PagerDuty: nothing" in question  # SEV4 is below production's SEV2: it would only post to Slack
        assert rr.rig.registry.records(TABLE) == {} and _sent(rr) == []
        with pytest.raises(OperationFailed, match="the operator declined"):
            begin_incident(context, rr.store)
        assert rr.asked == [question], "the operator was asked exactly what assess said"
        assert rr.rig.registry.records(TABLE) == {} and _sent(rr) == [], "declined: nothing written or sent"


def test_opening_pages_as_the_question_said_and_aborting_resolves_that_page(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "instances-zero") as rr:
        context = rr.context("production")
        found = assess(context)
        assert not found.healthy and rr.rig.cloud.sinks.received() == []
        assert "PagerDuty: page at severity critical" in found.question()  # SEV1 production
        incident = open_incident(context, rr.store, found)
        key = incident_dedup_key(incident.id)
        assert _sent(rr) == [("slack", "message", ""), ("pagerduty", "trigger", key)]
        assert rr.rig.cloud.sinks.alert_status(key) == "triggered"
        end_incident(rr.rig.engine, rr.store, incident.id, "aborted", "handled by hand: raised min instances")
        assert _sent(rr)[2:] == [("slack", "message", ""), ("pagerduty", "resolve", key)]
        assert rr.rig.cloud.sinks.alert_status(key) == "resolved"
        slack = rr.rig.cloud.sinks.slack_messages()[-1]["text"]
        assert f"incident {incident.id} aborted by alice" in slack and "raised min instances" in slack
        record = rr.rig.registry.get_record(TABLE, incident.id)
        assert record is not None and record["status"] == "aborted"
        with pytest.raises(Exception, match="only an open one"):
            end_incident(rr.rig.engine, rr.store, incident.id, "resolved", "again")
        assert len(_sent(rr)) == 4, "a second ending sends nothing"


def test_resolving_by_hand_closes_the_page_and_records_the_time_to_restore(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "instances-zero") as rr:
        context = rr.context("production")
        incident = open_incident(context, rr.store, assess(context))
        rr.rig.sleep(120)
        end_incident(rr.rig.engine, rr.store, incident.id, "resolved", "min instances raised by hand")
        key = incident_dedup_key(incident.id)
        assert [s for s in _sent(rr) if s[0] == "pagerduty"] == [("pagerduty", "trigger", key),
                                                                  ("pagerduty", "resolve", key)]
        record = rr.rig.registry.get_record(TABLE, incident.id)
        assert record is not None and record["status"] == "resolved" and record["time_to_restore_s"] >= 120


def test_a_read_only_console_records_no_incident_and_tells_nobody_whatever_the_caller_asks(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "instances-zero") as rr:
        rr.rig.engine.read_only = True
        context = rr.context("production", dry_run=False)  # the caller forgot: core decides
        incident = begin_incident(context, rr.store)
        assert incident.record["dry_run"] and rr.asked == [], "looking only: nothing to confirm"
        assert rr.rig.registry.records(TABLE) == {}
        assert _sent(rr) == []
        rr.rig.engine.read_only = False
        opened = open_incident(rr.context("production"), rr.store, assess(rr.context("production")))
        rr.rig.engine.read_only = True
        with pytest.raises(ReadOnly):
            end_incident(rr.rig.engine, rr.store, opened.id, "aborted", "from a read-only console")
        record = rr.rig.registry.get_record(TABLE, opened.id)
        assert record is not None and record["status"] == "open"


def test_an_incident_below_the_environments_rule_posts_to_slack_and_pages_nobody(tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "instances-zero") as rr:
        context = rr.context("dev")  # dev's rule: incidents never page
        found = assess(context)
        assert "PagerDuty: nothing" in found.question()
        incident = open_incident(context, rr.store, found)
        end_incident(rr.rig.engine, rr.store, incident.id, "aborted", "dev: nobody needs waking")
        assert [s[0] for s in _sent(rr)] == ["slack", "slack"]
