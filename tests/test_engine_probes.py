"""The probe stream (strategy.probes): the engine's own bursts to the new and the stable revision's tag URLs, judged
like Monitoring's windows; a regression they prove rolls back and the verdict says so, a healthy canary never is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from core.engine import approve
from core.model.events import Note, RolledBack, VerdictReached, WeightChanged
from core.providers.probes import HttpProber
from core.registry import DeploymentStatus
from tests.cli_rig import opsconsole
from tests.engine_rig import IMAGE, START, Rig, rig, rig_config

WINDOW_S = 10
PRODUCTION_PROJECT = "projects/ai-agent-network-prod/"


def _config(probes: bool = True, **settings: object):
    return rig_config(mode="auto", analysis_window_s=WINDOW_S, probes={"enabled": probes, **settings})


def _judged(r: Rig) -> list[VerdictReached]:
    return [e for e in r.events if isinstance(e, VerdictReached)]


def _break_canary_now(r: Rig, name: str, error_rate_5xx: float = 0.0, **behaviour: float) -> None:
    """The revision serves so from now on (users' and probes' requests alike): a 5xx share, slower latencies."""
    service = next(n for n in r.cloud.cloudrun.services if n.startswith(PRODUCTION_PROJECT))
    revision = r.cloud.cloudrun.revisions[f"{service}/revisions/{name}"]
    revision.behaviour = revision.behaviour.model_copy(update={"error_rate_5xx": error_rate_5xx, **behaviour})


def _break_canary_at_10(r: Rig, error_rate_5xx: float = 0.0, **behaviour: float) -> None:
    """Once 10 % is routed, the new revision serves so."""

    def inject(event: object) -> None:
        if isinstance(event, WeightChanged) and event.percent == 10:
            _break_canary_now(r, event.revision, error_rate_5xx, **behaviour)

    r.engine.bus.subscribe(inject)


def test_a_failing_canary_on_a_quiet_service_is_rolled_back_by_the_probes_before_monitoring_can_judge_it(
        tmp_path: Path) -> None:
    """Under one request a second, Monitoring's windows hold a request or two of the canary's: it has no data to
    judge. The probes send their own requests and prove the 40 % 5xx canary in the first window."""
    outcome = {}
    for probes in (True, False):
        with rig(tmp_path / str(probes), scenario="low-traffic", config=_config(probes), start=START) as r:
            deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
            approve(r.engine, "production")
            _break_canary_at_10(r, 0.4)
            r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda r=r: len(_judged(r)) >= 3)
            outcome[probes] = (r.deployment(deployment.id), _judged(r), [e for e in r.events
                                                                          if isinstance(e, RolledBack)])
            if probes:
                view = r.rollout(deployment.id)
    rolled_back, verdicts, rolled = outcome[True]
    assert rolled_back.status == DeploymentStatus.ROLLED_BACK and len(rolled) == 1
    assert [v.stream for v in verdicts] == ["probes"], "the probes decided before any Monitoring window"
    assert verdicts[0].action == "rollback" and "in the engine's probes" in verdicts[0].explanation
    assert "canary 5xx" in verdicts[0].explanation
    assert "in the engine's probes" in rolled[0].cause and rolled_back.rollback_cause == rolled[0].cause
    assert verdicts[0].describe().startswith("verdict fail in the engine's probes: rollback: in the engine's probes")
    assert view.verdicts[-1]["stream"] == "probes" and view.verdicts[-1]["action"] == "rollback"
    assert len(view.probes["windows"]) == 1, "one burst, one window of the stream"

    kept, monitoring, _ = outcome[False]
    assert kept.status != DeploymentStatus.ROLLED_BACK, "Monitoring alone had too few requests in three windows"
    assert {v.stream for v in monitoring} == {"monitoring"} and {v.outcome for v in monitoring} == {"no_data"}


def test_a_slow_canary_on_a_quiet_service_is_rolled_back_by_the_probes_on_its_latency(tmp_path: Path) -> None:
    """The revision's latency is served for real to the probes (p99 900 ms against stable's 180 ms): the tail test
    proves it on their timings alone, while Monitoring's windows still hold a request or two."""
    with rig(tmp_path, scenario="low-traffic", config=_config(), start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        _break_canary_at_10(r, latency_p50_ms=120.0, latency_p99_ms=900.0)
        r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda: len(_judged(r)) >= 8)
        done = r.deployment(deployment.id)
        deciding = _judged(r)[-1]
    assert done.status == DeploymentStatus.ROLLED_BACK, [v.explanation for v in _judged(r)]
    assert deciding.stream == "probes" and "p99" in deciding.explanation, deciding.explanation
    assert "in the engine's probes" in (done.rollback_cause or "")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_healthy_canary_is_never_rolled_back_by_the_probes(tmp_path: Path, seed: int) -> None:
    with rig(tmp_path, config=_config(), start=START + 3600 * seed, random_seed=seed) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        r.engine.drive(deployment.id, sleep=r.sleep)
        done = r.deployment(deployment.id)
        probes = [e for e in r.events if isinstance(e, VerdictReached) and e.stream == "probes"]
        assert done.status == DeploymentStatus.SUCCEEDED, done.rollback_cause
        assert probes == []
        probed = r.registry.events(deployment.id)
        assert not [e for e in probed if e.action in ("probe window", "probes failed")]
        assert r.rollout(deployment.id).probes["windows"], "the last step was probed"


@pytest.mark.parametrize(("setting", "said"), [
    ("requests = 0", "environments.dev.strategy.probes.requests: must be greater than or equal to 2"),
    ("timeout_s = -1", "environments.dev.strategy.probes.timeout_s: must be greater than 0"),
    ('enabled = "sometimes"', "environments.dev.strategy.probes.enabled: must be a valid boolean"),
    ("rps = 3", "environments.dev.strategy.probes.rps: is not a known setting; known settings here: enabled, "
                "requests, timeout_s"),
])
def test_a_bad_probe_setting_is_one_sentence_naming_it_and_exit_2(tmp_path: Path, setting: str, said: str) -> None:
    (tmp_path / "opsconsole.toml").write_text(f"[environments.dev.strategy.probes]\n{setting}\n")
    ran = opsconsole("config", "validate", cwd=tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert ran.returncode == 2 and ran.stderr.strip().endswith(said), ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1 and "Traceback" not in ran.stderr


def test_cloud_monitoring_counts_the_probes_like_any_request_to_the_revision(tmp_path: Path) -> None:
    """They are real requests to Cloud Run: its request_count has no label to leave them out by, so the sandbox's
    Monitoring counts each probe on the revision that answered it, with its status class."""
    with rig(tmp_path, config=_config(), start=START) as r, httpx.Client() as client:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        r.tick_until(deployment.id, lambda rollout: rollout.weight == 10 and rollout.routed_stage == rollout.stage)
        rollout = r.rollout(deployment.id)
        _break_canary_now(r, rollout.new_revision or "", 0.5)
        service = r.wiring.cloudrun("production").get_service(rollout.service)
        urls = {name: service.revision(name).url for name in (rollout.new_revision, rollout.stable_revision)}
        monitoring = r.wiring.metrics("production")
        sent_at = r.engine.ports.now().timestamp()
        seen = HttpProber(client).burst(urls, 30, timeout_s=5.0)
        # The burst's point (the rig's 10 s points) once it has ended and is served; beside it, what the users'
        # simulated traffic alone served in that point: the difference is the probes.
        lo = sent_at // 10 * 10
        r.sleep(20.0)
        read = monitoring.revision_metrics(rollout.service, datetime.fromtimestamp(lo, UTC),
                                           datetime.fromtimestamp(lo + 10, UTC))
        users = r.cloud.traffic.window(service.resource, lo, lo + 10)
    for name, sample in seen.items():
        assert sample.sent == 30 and sample.no_answer == 0
        simulated = users.get(name)
        assert read[name].total == (simulated.requests if simulated else 0) + 30, f"{name}: every probe counted once"
        assert read[name].errors_5xx == (simulated.codes["5xx"] if simulated else 0) + sample.errors_5xx
    assert seen[rollout.new_revision or ""].errors_5xx > 5, "the canary's fault answered the probes too"


def test_probes_that_fail_on_stable_too_are_set_aside_and_never_roll_back(tmp_path: Path) -> None:
    """The region goes unreachable while 10 % is judged: every probe fails, stable's as much as the canary's. That
    says the way to both failed, not the canary: said once, and the probes do not decide (Monitoring does)."""
    with rig(tmp_path, config=_config(), start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")

        def outage(event: object) -> None:
            if isinstance(event, WeightChanged) and event.percent == 10:
                r.cloud.set_scenario("region-outage")

        r.engine.bus.subscribe(outage)
        r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda: len(_judged(r)) >= 3)
        notes = [e for e in r.events if isinstance(e, Note) and e.message.startswith("probes set aside")]
        assert len(notes) == 1, "said once, not every window"
        assert "of 50 to the stable revision failed too" in notes[0].message
        assert {v.stream for v in _judged(r)} == {"monitoring"}, "the probes never decided"
        assert r.rollout(deployment.id).probes["windows"] == [], "no burst was judged"


def test_a_restarted_console_carries_on_with_the_probe_windows_of_the_step(tmp_path: Path) -> None:
    """The stream lives in the rollout: a console started again judges the same windows plus its next burst."""
    with rig(tmp_path, config=_config(), start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        r.tick_until(deployment.id, lambda rollout: len(rollout.probes.get("windows", [])) == 2)
        before = r.rollout(deployment.id).probes
        again = r.restarted()
        for _ in range(50):
            if len(r.rollout(deployment.id).probes["windows"]) == 3:
                break
            if again.tick(deployment.id).state == "waiting":
                r.sleep(2.0)
        after = r.rollout(deployment.id).probes
    assert after["routed_at"] == before["routed_at"] and after["windows"][:2] == before["windows"]
    assert len(after["windows"]) == 3 and after["looks"] == before["looks"] + 1
