"""Live health against the real in-process sandbox through the real adapters: the verdict a person reads, and
that each change of state is recorded once, not on every poll."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.health.observe import observe_health
from core.health.record import health_history, record_health
from core.model.health import (
    Health,
    HealthObservations,
    HealthThresholds,
    ProbeResult,
    RevisionLoad,
    alarming,
    judge_health,
)
from tests.engine_rig import Rig, rig, rig_config


def _observe(r: Rig, env: str = "production") -> Health:
    w = r.wiring
    return observe_health(w.environment(env), w.cloudrun(env), w.metrics(env), w.http, w.now)


def test_a_healthy_sandbox_is_ok_with_its_numbers(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        health = _observe(r)
    assert health.state == "ok", health.describe()
    assert health.numbers["probes_ok"] == 2 and health.numbers["max_5xx_rate"] == 0.05
    assert "probes ok" in health.reason and health.to_dict()["state"] == "ok"


def test_no_instance_running_is_down_with_a_reason_a_person_understands(tmp_path: Path) -> None:
    with rig(tmp_path, scenario="instances-zero") as r:
        health = _observe(r)
    assert health.state == "down", health.describe()
    assert health.reason.startswith("no instance is running while") and health.crossed == "instances"


def test_a_5xx_rate_over_the_limit_is_degraded_naming_the_number_and_the_limit(tmp_path: Path) -> None:
    config = rig_config()
    data = config.model_dump()
    data["environments"]["production"]["health"] = {"max_5xx_rate": 0.0001}
    with rig(tmp_path, config=type(config).model_validate(data)) as r:
        health = _observe(r)
    assert health.state == "degraded", health.describe()
    assert health.crossed == "5xx_rate"
    assert "5xx rate" in health.reason and "over the limit 0.01 %" in health.reason


def test_a_change_is_recorded_once_and_the_history_lists_it(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        assert record_health(r.registry, _observe(r))
        assert not record_health(r.registry, _observe(r)), "an unchanged state is not recorded again"
        r.cloud.set_scenario("instances-zero")
        r.sleep(60)
        assert record_health(r.registry, _observe(r))
        r.sleep(60)
        assert not record_health(r.registry, _observe(r))
        history = health_history(r.registry, "production")
        assert [h.state for h in history] == ["down", "ok"]
        assert r.registry.get_environment_state("production").health == "down"


def test_watching_yields_every_environment_first_then_only_the_change(tmp_path: Path) -> None:
    from core.health.watch import health_changes

    with rig(tmp_path) as r:
        def observe(names: Sequence[str]) -> list[Health]:
            return [_observe(r, name) for name in names]

        def sleep(seconds: float) -> None:
            r.sleep(seconds)
            if len(rounds) == 2:  # the fault strikes between the second and third observation
                r.cloud.set_scenario("instances-zero")

        rounds: list[list[Health]] = []
        for changed in health_changes(observe, ["dev", "production"], sleep, 30.0, polls=4):
            rounds.append(changed)
    assert [[(h.environment, h.state) for h in changed] for changed in rounds] == [
        [("dev", "ok"), ("production", "ok")], [], [("dev", "down"), ("production", "down")], []]
    assert "no instance is running" in rounds[2][1].reason


# -- the rule, on observations a provider could give ---------------------------------------------------------

LIMITS = HealthThresholds(max_5xx_rate=0.05, max_p99_latency_ms=1000.0)
AT = datetime(2026, 12, 1, tzinfo=UTC)
PROBES = (ProbeResult("health endpoint", True, 12.0, "/healthz 200"), ProbeResult("WebSocket round trip", True, 30.0,
                                                                                   "all acknowledged"))


def _judge(**changes: Any) -> Health:
    base = HealthObservations("staging", AT, PROBES, (RevisionLoad("ws-001", 6000, 6, 180.0, 2, 300),), True)
    return judge_health(replace(base, **changes), LIMITS)


def test_the_rule_names_the_number_that_crossed() -> None:
    slow = _judge(revisions=(RevisionLoad("ws-001", 6000, 6, 1450.0, 2, 300),))
    assert (slow.state, slow.crossed) == ("degraded", "p99_latency_ms")
    assert slow.reason == "p99 latency 1450 ms is over the limit 1000 ms"
    silent = _judge(revisions=None, provider_errors={"monitoring": "Monitoring did not answer in 5 s"})
    assert silent.state == "degraded" and "monitoring does not answer" in silent.reason
    assert alarming(slow) and not alarming(silent), "red for a crossed limit, amber for a silent source"
    one_probe = _judge(probes=(PROBES[0], ProbeResult("WebSocket round trip", False, None, "3 of 3 messages lost")))
    assert one_probe.state == "degraded" and "1 of 2 probes fail" in one_probe.reason
    unready = _judge(service_ready=False, service_problem="revision ws-001 serves traffic but is not ready")
    assert unready.state == "down" and "Cloud Run says the service is not ready" in unready.reason


def test_an_idle_service_scaled_to_zero_is_not_down() -> None:
    idle = _judge(revisions=(RevisionLoad("ws-001", 0, 0, None, 0, 300),))
    assert idle.state == "ok", idle.describe()


def test_alert_policies_that_fire_degrade_and_policies_that_cannot_be_read_do_not() -> None:
    firing = _judge(firing=("ws staging: 5xx rate above 5 %: 5xx responses is 0.08, > 0.05 since 03:00:00",))
    assert (firing.state, firing.crossed) == ("degraded", "alert_policies") and alarming(firing)
    assert firing.reason.startswith("alert policy ws staging: 5xx rate above 5 %")
    unread = _judge(firing=None, firing_error="Cloud Monitoring refused: permission monitoring.alertPolicies.list")
    assert unread.state == "ok", "an optional source that cannot be read must not page anyone"
    assert unread.notes["alert policies"].startswith("not read: Cloud Monitoring refused")


def test_a_clear_breach_in_the_newest_minute_degrades_before_the_window_crosses() -> None:
    window = (RevisionLoad("ws-001", 6000, 150, 180.0, 2, 300),)  # 2.5 % over five minutes: under the limit
    fault = _judge(revisions=window, recent=(RevisionLoad("ws-001", 1200, 96, 180.0, 2, 60),))  # 8 % this minute
    assert (fault.state, fault.crossed) == ("degraded", "5xx_rate") and alarming(fault)
    assert fault.reason == "5xx rate 8 % in the last 60 s is over the limit 5 % (96 of 1200 requests)"
    unlucky = _judge(revisions=window, recent=(RevisionLoad("ws-001", 100, 7, 180.0, 2, 60),))  # 7 %, 100 requests
    assert unlucky.state == "ok", "a few unlucky requests in one minute page nobody"
