"""Live health against the real in-process sandbox through the real adapters: the verdict a person reads, and
that each change of state is recorded once, not on every poll."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.health.observe import observe_health
from core.health.record import health_history, record_health
from core.model.health import Health
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
