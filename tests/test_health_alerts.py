"""Alerts on live health: who is told what when an environment's health changes, against the sandbox's Slack and
PagerDuty sinks through the real notifiers; one message per change for a team of consoles, a page resolved when
health returns, nobody paged for a developer's environment or by a console that may not change it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.access import AccessGate
from core.health.monitor import HealthMonitor
from core.model.health import Health, alert_for, health_dedup_key, health_headline
from core.providers.alert_policies import alert_policy_client
from core.providers.http_retry import RetryPolicy
from core.providers.notify import PagerDutyNotifier, SlackNotifier
from tests.engine_rig import Rig, rig

AT = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
WINDOW_S = 300  # the default Monitoring window health is judged on: the fault's requests leave it after this


def _health(state: str, env: str = "production") -> Health:
    return Health(env, state, f"{state} because", AT)  # type: ignore[arg-type]


@pytest.mark.parametrize(("previous", "state", "page_at", "page", "resolve", "severity"), [
    ("ok", "degraded", "degraded", True, False, "warning"),
    ("degraded", "down", "degraded", True, False, "critical"),  # the same alert, now critical
    ("down", "ok", "degraded", False, True, "info"),
    ("ok", "degraded", "down", False, False, "warning"),  # Slack only: staging's rule
    ("down", "degraded", "down", False, True, "warning"),  # no longer paging: the page is resolved
    ("degraded", "ok", "down", False, False, "info"),  # nothing paged, nothing to resolve
    ("ok", "down", "never", False, False, "critical"),  # dev: never paged
    ("unknown", "down", "degraded", True, False, "critical"),  # a first observation that is bad
])
def test_what_a_change_of_health_tells(previous: str, state: str, page_at: str, page: bool, resolve: bool,
                                       severity: str) -> None:
    alert = alert_for(previous, _health(state), page_at)  # type: ignore[arg-type]
    assert alert is not None
    assert (alert.page, alert.resolve, alert.severity) == (page, resolve, severity)
    assert alert.dedup_key == health_dedup_key("production")


@pytest.mark.parametrize("previous", [None, "unknown", "ok"])
def test_a_first_ok_or_no_change_tells_nobody(previous: str | None) -> None:
    assert alert_for(previous, _health("ok"), "degraded") is None
    assert alert_for("down", _health("down"), "degraded") is None


def test_the_header_names_the_environments_in_the_worst_state() -> None:
    assert health_headline([]) == ""
    assert health_headline([_health("ok", "dev"), _health("ok")]) == "all environments healthy"
    assert health_headline([_health("down", "dev"), _health("degraded")]) == "dev DOWN"
    assert health_headline([_health("degraded", "dev"), _health("ok", "staging"),
                            _health("degraded")]) == "DEGRADED: dev, production"


def _monitor(r: Rig, *, read_only: bool = False) -> HealthMonitor:
    gate = AccessGate(r.engine.config, r.engine.operator, read_only)
    return HealthMonitor(r.engine.config, r.registry, r.engine.ports, r.wiring.http, gate)


def _pages(r: Rig) -> list[tuple[str, str, str]]:
    return [(e["event_action"], e["dedup_key"], e.get("payload", {}).get("severity", ""))
            for e in r.cloud.sinks.pagerduty_events()]


def _slack(r: Rig) -> list[str]:
    return [m.get("text", "") for m in r.cloud.sinks.slack_messages()]


def test_production_down_pages_once_for_two_consoles_and_recovery_resolves_it(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        first, second = _monitor(r), _monitor(r)
        assert first.check("production").health.state == "ok"
        assert _pages(r) == [] and _slack(r) == [], "a healthy first look tells nobody"

        r.cloud.set_scenario("instances-zero", strike_serving=True)
        r.sleep(60)
        down = first.check("production")
        assert down.health.state == "down" and down.changed and down.previous == "ok"
        assert not second.check("production").changed, "the second console saw the change recorded already"
        key = health_dedup_key("production")
        assert _pages(r) == [("trigger", key, "critical")]
        assert len(_slack(r)) == 1 and "production is DOWN" in _slack(r)[0]
        assert r.cloud.sinks.alert_status(key) == "triggered"

        r.cloud.set_scenario("healthy", strike_serving=True)
        r.sleep(WINDOW_S + 60)
        back = second.check("production")
        assert back.health.state == "ok" and back.previous == "down", back.health.describe()
        assert first.check("production").previous is None
        assert _pages(r)[-1] == ("resolve", key, "") and len(_pages(r)) == 2
        assert r.cloud.sinks.alert_status(key) == "resolved"
        assert "production is healthy again" in _slack(r)[-1] and len(_slack(r)) == 2


def test_dev_down_goes_to_slack_and_pages_nobody(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        monitor = _monitor(r)
        monitor.check("dev")
        r.cloud.set_scenario("instances-zero", strike_serving=True)
        r.sleep(60)
        checked = monitor.check("dev")
        assert checked.health.state == "down" and checked.sent == ("SlackNotifier",)
        assert _pages(r) == []
        assert any("dev is DOWN" in text for text in _slack(r))


def test_a_read_only_console_shows_health_and_records_and_tells_nothing(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="instances-zero") as r:
        r.sleep(60)
        checked = _monitor(r, read_only=True).check("production")
        assert checked.health.state == "down" and not checked.changed
        assert r.registry.get_environment_state("production").health == "unknown"
        assert _pages(r) == [] and _slack(r) == []


def test_a_channel_that_fails_is_reported_and_health_is_still_recorded(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="instances-zero") as r:
        r.sleep(60)
        slack = next(n for n in r.engine.ports.notifiers if isinstance(n, SlackNotifier))
        nowhere = PagerDutyNotifier("http://127.0.0.1:9", "k" * 32, client=r.wiring.http,
                                    retry=RetryPolicy(max_attempts=1, sleep=lambda s: None))  # nothing listens there
        ports = replace(r.engine.ports, notifiers=[slack, nowhere])
        gate = AccessGate(r.engine.config, r.engine.operator)
        checked = HealthMonitor(r.engine.config, r.registry, ports, r.wiring.http, gate).check("production")
        assert checked.changed and r.registry.get_environment_state("production").health == "down"
        assert checked.sent == ("SlackNotifier",)
        assert [f.split(":")[0] for f in checked.failures] == ["PagerDutyNotifier"]


def test_the_interval_spares_the_service_between_observations(tmp_path: Path) -> None:
    clock = [0.0]
    with rig(tmp_path) as r:
        gate = AccessGate(r.engine.config, r.engine.operator)
        monitor = HealthMonitor(r.engine.config, r.registry, r.engine.ports, r.wiring.http, gate,
                                clock=lambda: clock[0])
        first = monitor.due("production")
        clock[0] += 5
        assert monitor.due("production") is first, "within the interval the last observation is answered"
        clock[0] += r.engine.config.environment("production").health.interval_s
        assert monitor.due("production") is not first


def test_a_firing_alert_policy_degrades_health_and_is_named(tmp_path: Path) -> None:
    """The infrastructure's 5xx policy, created in production's project, fires once the fault held 5 minutes: the
    health line says which policy (what Google would page about), whatever the console's own limits say."""
    from tests.test_alert_policies import error_rate_policy

    with rig(tmp_path) as r:
        project = r.engine.config.environment("production").infrastructure.gcp_project
        client = alert_policy_client(r.cloud.endpoints.monitoring_target, anonymous=True)
        try:
            client.create_alert_policy(name=f"projects/{project}", alert_policy=error_rate_policy([]))
            monitor = _monitor(r)
            r.sleep(600)
            assert monitor.check("production").health.firing == ()
            r.cloud.set_scenario("canary-5xx", strike_serving=True)
            r.sleep(420)
            health = monitor.check("production").health
        finally:
            client.transport.close()
    assert len(health.firing) == 1 and "5xx rate above 5.0 %" in health.firing[0], health.firing
    assert health.state == "degraded", health.describe()
    assert health.to_dict()["firing"] == list(health.firing)
