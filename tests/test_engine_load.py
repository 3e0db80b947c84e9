"""Synthetic load during canary analysis (strategy.load_test): asked of the sandbox's Flagger-style load tester
for both revisions each window, counted by its Cloud Run, so a quiet service's canary is judged sooner."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from core.engine import approve
from core.model.events import Note, RolledBack, VerdictReached, WeightChanged
from core.providers.loadtest import FlaggerLoadTester, LoadTestFailed, hey_command
from core.registry import DeploymentStatus
from sandbox.scenario import load_scenario
from tests.engine_rig import IMAGE, START, Rig, rig, rig_config

WINDOW_S = 10
LOAD_RPS = 20.0
PRODUCTION_PROJECT = "projects/ai-agent-network-prod/"


def _config(load: bool):
    extra = {"load_test": {"rps": LOAD_RPS}} if load else {}
    return rig_config(mode="auto", analysis_window_s=WINDOW_S, **extra)


def _judged(r: Rig) -> list[VerdictReached]:
    return [e for e in r.events if isinstance(e, VerdictReached)]


def test_hey_spreads_a_rate_over_workers_of_at_most_ten_requests_a_second() -> None:
    assert hey_command("https://c---svc.run.app/", 20, 9.5) == "hey -z 9500ms -q 10 -c 2 https://c---svc.run.app/"
    assert hey_command("https://x/", 4, 10) == "hey -z 10000ms -q 4 -c 1 https://x/"
    with pytest.raises(LoadTestFailed, match="positive rate"):
        hey_command("https://x/", 0, 10)


def test_each_window_both_revisions_get_the_same_synthetic_load_which_cloud_run_counts(tmp_path: Path) -> None:
    counted = {}
    for load in (False, True):
        with rig(tmp_path / str(load), config=_config(load), start=START) as r:
            deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
            approve(r.engine, "production")
            r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda r=r: len(_judged(r)) >= 3)
            rollout = r.rollout(deployment.id)
            windows = rollout.analysis["windows"]
            counted[load] = [(w["canary"]["requests"], w["stable"]["requests"]) for w in windows]
            runs = r.cloud.load_tests.runs()
            if not load:
                assert runs == [], "no load tester is asked without strategy.load_test"
                continue
            targets = {run.target.rsplit("/", 1)[-1] for run in runs}
            assert targets == {rollout.new_revision, rollout.stable_revision}
            assert {run.rps for run in runs} == {LOAD_RPS}
            by_end: dict[float, set[str]] = {}
            for run in runs:
                by_end.setdefault(run.end, set()).add(run.target.rsplit("/", 1)[-1])
            assert all(len(names) == 2 for names in by_end.values()), "the two sides always get load together"
            assert len(by_end) >= 3, "asked again for every window"
            notes = [e for e in r.registry.events(deployment.id) if e.action == "load test"]
            assert notes and notes[0].detail["rps"] == LOAD_RPS
    extra = LOAD_RPS * WINDOW_S
    for (canary_quiet, stable_quiet), (canary_busy, stable_busy) in zip(counted[False], counted[True], strict=False):
        # Same seed, same organic traffic: the loaded windows carry the synthetic requests on top (Poisson).
        assert canary_busy - canary_quiet > 0.6 * extra and stable_busy - stable_quiet > 0.6 * extra


def test_with_load_a_fault_injected_into_the_10_percent_canary_is_rolled_back_within_two_windows(
        tmp_path: Path) -> None:
    outcome = {}
    for load in (False, True):
        with rig(tmp_path / str(load), config=_config(load), start=START) as r:
            deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
            approve(r.engine, "production")
            injected: list[float] = []

            def inject(event: object, r: Rig = r, injected: list[float] = injected) -> None:
                if isinstance(event, WeightChanged) and event.percent == 10 and not injected:
                    service = next(n for n in r.cloud.cloudrun.services if n.startswith(PRODUCTION_PROJECT))
                    revision = r.cloud.cloudrun.revisions[f"{service}/revisions/{event.revision}"]
                    revision.behaviour = load_scenario("canary-5xx").new_revision.model_copy(
                        update={"ready_after_s": revision.behaviour.ready_after_s})
                    injected.append(r.clock.time())

            r.engine.bus.subscribe(inject)
            r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda r=r: len(_judged(r)) >= 12)
            rolled = [e for e in r.events if isinstance(e, RolledBack)]
            outcome[load] = (r.deployment(deployment.id).status, len(_judged(r)), rolled)
    status, windows, rolled = outcome[True]
    assert status == DeploymentStatus.ROLLED_BACK and len(rolled) == 1
    assert windows <= 2, f"with synthetic load the 8 % 5xx canary is proven within two windows, took {windows}"
    assert "5xx" in rolled[0].cause
    quiet_status, quiet_windows, _ = outcome[False]
    assert quiet_status != DeploymentStatus.ROLLED_BACK or quiet_windows > windows, \
        "without load the same fault on the same traffic takes longer (2 requests/s at 10 %)"


def test_a_load_tester_that_refuses_is_said_once_and_the_canary_goes_on(tmp_path: Path) -> None:
    with rig(tmp_path, config=_config(True), start=START) as r, httpx.Client() as client:
        nowhere = f"{r.cloud.endpoints.pagerduty_url}/no-loadtester-here"  # a real server that answers 404
        r.engine.ports.loadtester = lambda env: FlaggerLoadTester(nowhere, client)
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        r.engine.drive(deployment.id, sleep=r.sleep, stop=lambda: len(_judged(r)) >= 4)

        said = [e for e in r.events if isinstance(e, Note) and "synthetic load not sent" in e.message]
        assert len(said) == 1, "said once, not every window"
        assert "404" in said[0].message and "judge goes on with real traffic only" in said[0].message
        assert r.deployment(deployment.id).status in (DeploymentStatus.IN_PROGRESS, DeploymentStatus.SUCCEEDED)
        assert len(_judged(r)) >= 4, "the judge kept judging"
        assert r.cloud.load_tests.runs() == []
