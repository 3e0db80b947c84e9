"""The probe stream (strategy.probes): the engine's own bursts to the new and the stable revision's tag URLs, judged
like Monitoring's windows; a regression they prove rolls back and the verdict says so, a healthy canary never is."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.engine import approve
from core.model.events import RolledBack, VerdictReached, WeightChanged
from core.registry import DeploymentStatus
from tests.cli_rig import opsconsole
from tests.engine_rig import IMAGE, START, Rig, rig, rig_config

WINDOW_S = 10
PRODUCTION_PROJECT = "projects/ai-agent-network-prod/"


def _config(probes: bool = True, **settings: object):
    return rig_config(mode="auto", analysis_window_s=WINDOW_S, probes={"enabled": probes, **settings})


def _judged(r: Rig) -> list[VerdictReached]:
    return [e for e in r.events if isinstance(e, VerdictReached)]


def _break_canary_at_10(r: Rig, error_rate_5xx: float) -> None:
    """Once 10 % is routed, the new revision answers this share of its requests with 5xx (users' and probes')."""

    def inject(event: object) -> None:
        if isinstance(event, WeightChanged) and event.percent == 10:
            service = next(n for n in r.cloud.cloudrun.services if n.startswith(PRODUCTION_PROJECT))
            revision = r.cloud.cloudrun.revisions[f"{service}/revisions/{event.revision}"]
            revision.behaviour = revision.behaviour.model_copy(update={"error_rate_5xx": error_rate_5xx})

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
