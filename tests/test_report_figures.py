"""Every report figure on small registries whose answers can be checked by hand (see each test's comments)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.errors import BadInput
from core.registry import DeploymentRegistry
from core.reports import Tier, dora, generate_report

WS = "websocket-server"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def change(start: str, minutes: float, *, env: str = "production", status: str = "succeeded",
           strategy: str = "canary", commit: str | None = None, cause: str | None = None,
           stages: list[dict[str, Any]] | None = None, component: str = WS) -> dict[str, Any]:
    started = at(start)
    return {"environment": env, "versions": {component: "1.0.0"}, "status": status, "strategy": strategy,
            "actor": "alice", "started_at": started, "ended_at": started + timedelta(minutes=minutes),
            "rollback_cause": cause, "stages": stages or [],
            "metadata": {"commit_times": {component: at(commit).isoformat()}} if commit else {}}


@pytest.fixture
def registry(tmp_path: Path) -> DeploymentRegistry:
    return DeploymentRegistry(tmp_path / "registry.json")


def test_an_empty_range_reports_zeros_and_no_tiers_instead_of_failing(registry: DeploymentRegistry) -> None:
    registry.import_history([change("2026-01-05T10:00:00", 30)])

    report = generate_report(registry, at("2026-03-01T00:00:00"), at("2026-04-01T00:00:00"))

    d = report.dora
    assert d.deployment_frequency.bucket == "none" and d.deployment_frequency.deployments == 0
    assert d.deployment_frequency.weeks == 6  # 1 March 2026 is a Sunday: ISO weeks W09 to W14
    assert d.lead_time.median_seconds is None and d.lead_time.tier is Tier.NONE
    assert d.change_failure_rate.rate is None and d.time_to_restore.median_seconds is None
    assert {d.deployment_frequency.tier, d.change_failure_rate.tier, d.time_to_restore.tier} == {Tier.NONE}
    assert report.outcomes.total == 0 and report.outcomes.success_rate is None
    assert report.timeline == [] and report.rollback_causes == [] and report.durations == []


def test_a_single_deployment_gives_every_figure(registry: DeploymentRegistry) -> None:
    # Mon 9 March to Mon 16 March is exactly ISO week 2026-W11; one deployment on one day of it.
    # Its commit is 24 h before it ended: just not "one day" any more in fourkeys' buckets.
    registry.import_history([change("2026-03-10T10:00:00", 45, commit="2026-03-09T10:45:00")])

    report = generate_report(registry, at("2026-03-09T00:00:00"), at("2026-03-16T00:00:00"), "production")

    f = report.dora.deployment_frequency
    assert (f.bucket, f.tier, f.deployments, f.deployment_days, f.weeks) == ("weekly", Tier.HIGH, 1, 1, 1)
    assert f.median_days_per_week == 1.0
    lead = report.dora.lead_time
    assert lead.median_seconds == 24 * 3600 and lead.bucket == "one week" and lead.tier is Tier.HIGH
    cfr = report.dora.change_failure_rate
    assert (cfr.rate, cfr.failures, cfr.changes, cfr.tier) == (0.0, 0, 1, Tier.ELITE)
    assert report.dora.time_to_restore.samples == 0
    assert report.outcomes.success_rate == 1.0
    [trend] = report.durations
    assert (trend.week, trend.median_seconds, trend.p90_seconds) == ("2026-W11", 2700.0, 2700.0)
    [entry] = report.timeline
    assert entry.kind == "deployment" and entry.summary == f"{WS} 1.0.0 via canary: succeeded"


def test_deployments_spanning_midnight_and_month_end_count_where_they_started(registry: DeploymentRegistry) -> None:
    registry.import_history([
        # Sunday 29 March 23:50 → Monday 00:20: ISO week 13, 30 minutes, lead time 80 minutes.
        change("2026-03-29T23:50:00", 30, commit="2026-03-29T23:00:00"),
        # Tuesday 31 March 23:50 → 1 April 00:10: March's, 20 minutes, lead time 70 minutes.
        change("2026-03-31T23:50:00", 20, commit="2026-03-31T23:00:00"),
        change("2026-04-01T00:05:00", 10),
    ])

    march = generate_report(registry, at("2026-03-01T00:00:00"), at("2026-04-01T00:00:00"))
    april = generate_report(registry, at("2026-04-01T00:00:00"), at("2026-05-01T00:00:00"))

    assert march.outcomes.total == 2 and april.outcomes.total == 1
    assert [(t.week, t.deployments, t.median_seconds) for t in march.durations] == [
        ("2026-W13", 1, 1800.0), ("2026-W14", 1, 1200.0)]
    assert march.dora.deployment_frequency.deployment_days == 2  # 29 and 31 March, not 30 March or 1 April
    # Lead times 80 and 70 minutes: the median is 75 minutes.
    assert march.dora.lead_time.median_seconds == 75 * 60 and march.dora.lead_time.samples == 2
    assert april.dora.lead_time.without_commit_time == 1
    assert any("record no commit time" in w for w in april.warnings)


def test_rollbacks_and_incidents_set_change_failure_rate_and_time_to_restore(registry: DeploymentRegistry) -> None:
    day = "2026-05-12T"
    ids = registry.import_history([
        change(day + "10:00:00", 40),  # A: fine
        change(day + "11:00:00", 28, status="rolled_back",  # B: the 25 % step failed at 11:10, stable at 11:28
               cause="canary judge: a rollback trigger fired in window 2: canary 5xx 4.0 % over 900 requests",
               stages=[{"name": "canary 10%", "status": "succeeded", "started_at": at(day + "11:00:00"),
                        "ended_at": at(day + "11:10:00")},
                       {"name": "canary 25%", "status": "failed", "started_at": at(day + "11:10:00"),
                        "ended_at": at(day + "11:25:00")}]),
        change(day + "12:00:00", 40),  # C: an incident names it
        change(day + "14:00:00", 30),  # D: rolled back by hand at 15:00
        change(day + "15:00:00", 5, strategy="rollback", cause="rolled back by bob: Memory climbing."),
        change(day + "16:00:00", 3, status="failed", cause="revision did not become ready"),  # E: never served
    ])
    _, b, c, d, rollback, e = ids
    registry.put_record("incidents", "inc-1", {"id": "inc-1", "environment": "production", "severity": "SEV2",
                                               "started_at": day + "13:00:00+00:00", "status": "resolved",
                                               "resolved_at": day + "14:00:00+00:00", "suspect_deployment_id": c})
    registry.put_record("incidents", "inc-2", {"id": "inc-2", "environment": "production", "severity": "SEV4",
                                               "started_at": day + "17:00:00+00:00", "status": "open",
                                               "resolved_at": None, "suspect_deployment_id": None,
                                               "pager": "ignored unknown key"})

    report = generate_report(registry, at(day + "00:00:00"), at("2026-05-13T00:00:00"), "production")

    cfr = report.dora.change_failure_rate
    # Changes that reached users: A, B, C, D. Failed: B (rolled back), D (rolled back later), C (incident).
    assert (cfr.changes, cfr.failures, cfr.rolled_back, cfr.rolled_back_later, cfr.with_incident) == (4, 3, 1, 1, 1)
    assert cfr.rate == 0.75 and cfr.tier is Tier.LOW
    ttr = report.dora.time_to_restore
    # B: 11:10 → 11:28 = 18 min; inc-1: 13:00 → 14:00 = 60 min; median 39 min (< 1 h: elite).
    assert (ttr.samples, ttr.from_rollbacks, ttr.from_incidents, ttr.open_incidents) == (2, 1, 1, 1)
    assert ttr.median_seconds == 39 * 60 and ttr.tier is Tier.ELITE
    o = report.outcomes
    assert (o.total, o.succeeded, o.failed, o.rolled_back, o.manual_rollbacks) == (5, 3, 1, 1, 1)
    assert (o.success_rate, o.failure_rate, o.rollback_rate) == (0.6, 0.2, 0.2)
    assert [(c.cause, c.count, c.latest) for c in report.rollback_causes] == [
        ("5xx", 1, b), ("operator: memory climbing", 1, rollback)]
    kinds = [(t.kind, t.id) for t in report.timeline]
    assert kinds[0] == ("incident", "inc-2") and ("incident", "inc-1") in kinds
    assert {("deployment", d), ("deployment", e)} <= set(kinds) and len(kinds) == 8
    assert report.warnings == ["3 of 3 successful deployments record no commit time (metadata.commit_times) "
                               "and are left out of lead time"]


def test_a_rollback_that_an_incident_names_is_measured_once_by_the_incident(registry: DeploymentRegistry) -> None:
    [rolled] = registry.import_history([change("2026-05-12T11:00:00", 20, status="rolled_back", cause="p99 up")])
    registry.put_record("incidents", "inc-9", {"id": "inc-9", "environment": "production", "severity": "SEV3",
                                               "started_at": "2026-05-12T11:05:00Z", "status": "resolved",
                                               "resolved_at": "2026-05-12T13:05:00Z", "suspect_deployment_id": rolled})

    report = generate_report(registry, at("2026-05-12T00:00:00"), at("2026-05-13T00:00:00"))

    ttr = report.dora.time_to_restore
    assert (ttr.samples, ttr.from_rollbacks, ttr.median_seconds, ttr.tier) == (1, 0, 7200.0, Tier.HIGH)
    assert report.dora.change_failure_rate.failures == 1
    assert report.rollback_causes[0].cause == "latency"


def test_malformed_incidents_are_skipped_with_a_warning_not_a_crash(registry: DeploymentRegistry) -> None:
    registry.put_record("incidents", "bad-time", {"id": "bad-time", "environment": "production",
                                                  "started_at": "yesterday"})
    registry.put_record("incidents", "no-env", {"id": "no-env", "started_at": "2026-05-12T11:05:00Z"})

    report = generate_report(registry, at("2026-05-12T00:00:00"), at("2026-05-13T00:00:00"))

    assert len(report.warnings) == 2
    assert any("bad-time" in w and "ISO-8601" in w for w in report.warnings)
    assert report.timeline == []


def test_a_range_that_ends_before_it_starts_is_bad_input(registry: DeploymentRegistry) -> None:
    with pytest.raises(BadInput, match="ends"):
        generate_report(registry, at("2026-05-12T00:00:00"), at("2026-05-01T00:00:00"))


@pytest.mark.parametrize(("seconds", "bucket", "tier"), [
    (24 * 3600 - 1, "one day", Tier.ELITE), (24 * 3600, "one week", Tier.HIGH),
    (168 * 3600 - 1, "one week", Tier.HIGH), (168 * 3600, "one month", Tier.MEDIUM),
    (730 * 3600, "six months", Tier.LOW), (730 * 6 * 3600, "one year", Tier.LOW),
])
def test_lead_time_buckets_and_tiers_at_their_edges(seconds: float, bucket: str, tier: Tier) -> None:
    assert dora.duration_bucket(seconds) == bucket and dora.lead_time_tier(seconds) is tier


@pytest.mark.parametrize(("seconds", "tier"), [(3599, Tier.ELITE), (3600, Tier.HIGH), (86399, Tier.HIGH),
                                               (86400, Tier.MEDIUM), (7 * 86400, Tier.LOW)])
def test_time_to_restore_tiers_at_their_edges(seconds: float, tier: Tier) -> None:
    assert dora.restore_tier(seconds) is tier


@pytest.mark.parametrize(("rate", "tier"), [(0.0, Tier.ELITE), (0.15, Tier.ELITE), (0.1501, Tier.HIGH),
                                            (0.30, Tier.HIGH), (0.45, Tier.MEDIUM), (0.46, Tier.LOW)])
def test_change_failure_tiers_at_their_edges(rate: float, tier: Tier) -> None:
    assert dora.change_failure_tier(rate) is tier


def _days(first: date, weeks: int, pattern: list[int]) -> set[date]:
    """Deployment days: in week n, the first pattern[n % len(pattern)] days of that week."""
    return {first + timedelta(weeks=w, days=d) for w in range(weeks) for d in range(pattern[w % len(pattern)])}


@pytest.mark.parametrize(("pattern", "bucket"), [
    ([3], "daily"),  # median 3 days a week is fourkeys' "daily"
    ([2], "weekly"),  # every week, but only 2 days
    ([1, 0], "monthly"),  # every other week: the median week has none, the median month has some
])
def test_deployment_frequency_buckets_follow_fourkeys(pattern: list[int], bucket: str) -> None:
    first = date(2026, 1, 5)  # a Monday; 12 whole weeks
    found, _, weeks = dora.frequency_bucket(_days(first, 12, pattern), first, first + timedelta(weeks=12, days=-1))
    assert (found, weeks) == (bucket, 12)


def test_one_deployment_in_three_months_is_yearly() -> None:
    first = date(2026, 1, 5)
    found, median_days, _ = dora.frequency_bucket({date(2026, 2, 10)}, first, first + timedelta(weeks=13, days=-1))
    assert (found, median_days, dora.frequency_tier(found)) == ("yearly", 0.0, Tier.LOW)
