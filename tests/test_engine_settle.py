"""The canary judge on data as Google serves it: 60 s points that arrive up to 180 s late. Windows are whole minutes,
each judged once Monitoring has settled (or marked partial), and a real regression still rolls back."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from console.app import OpsConsoleApp
from console.snapshot import CHART_WINDOWS, MetricHistory
from core.analysis import Outcome, Verdict
from core.analysis.settle import Settle, as_partial, settle
from core.engine import approve, promote
from core.model.deployment_view import deployment_view
from core.registry import DeploymentStatus
from sandbox.monitoring_ingest import Ingestion
from tests.engine_rig import IMAGE, START, Rig, rig, rig_config
from tests.test_engine_canary import LIVE_JUDGE_ONLY
from tests.test_engine_crash import EMBEDDED, run_crash_loop
from tests.test_tui_console import until
from widgets.canary_panel import CanaryPanel

GOOGLE = Ingestion()  # 60 s points, delays drawn like Google's: what `opsconsole sandbox serve` serves by default
SETTLING = re.compile(r"^waiting for Monitoring to settle \(minute \d\d:\d\d, \d+ s\)$")


def _watch(r: Rig, deployment_id: str, seen: dict[str, Any]) -> Any:
    """A sleep that notes what the deployment waits on and every judged window's canary requests, by window end."""
    def sleep(seconds: float) -> None:
        rollout = r.rollout(deployment_id)
        seen.setdefault("waiting", []).append(rollout.waiting_for)
        windows = rollout.analysis.get("windows", [])
        for verdict, window in zip(rollout.verdicts[len(rollout.verdicts) - len(windows):], windows, strict=True):
            seen.setdefault("requests", {})[verdict["at"]] = window["canary"]["requests"]
        r.sleep(seconds)
    return sleep


def test_windows_are_whole_minutes_judged_on_the_counts_monitoring_settles_on(tmp_path: Path) -> None:
    config = rig_config(mode="auto", analysis_window_s=60, criteria=LIVE_JUDGE_ONLY)
    with rig(tmp_path, config=config, ingestion=GOOGLE) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine_for("bob"), "production")
        seen: dict[str, Any] = {}
        tick = r.engine.drive(deployment.id, sleep=_watch(r, deployment.id, seen))
        assert tick.state == "finished", tick
        rollout = r.rollout(deployment.id)
        assert r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED
        assert any(SETTLING.match(w) for w in seen["waiting"]), "the wait for Monitoring is said, not silent"
        ends = [datetime.fromisoformat(v["at"]) for v in rollout.verdicts]
        assert ends and all(e.timestamp() % 60 == 0 for e in ends), "windows end on whole minutes"
        assert len(set(ends)) == len(ends) and not any(v.get("partial") for v in rollout.verdicts)
        # Each judged window counted what Monitoring finally says about that minute: it was judged once settled.
        r.sleep(240)
        canary = rollout.new_revision
        metrics = r.wiring.metrics("production")
        assert seen["requests"]
        for at, requests in seen["requests"].items():
            end = datetime.fromisoformat(at)
            final = metrics.revision_metrics("websocket-server", end - timedelta(minutes=1), end)
            assert requests == final[canary].total > 0, at


def test_a_real_regression_still_rolls_back_when_points_arrive_late(tmp_path: Path) -> None:
    config = rig_config(mode="auto", analysis_window_s=60, criteria=LIVE_JUDGE_ONLY)
    with rig(tmp_path, scenario="canary-5xx", config=config, ingestion=GOOGLE) as r:
        stable = next(iter(r.served()))
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine, "production")
        tick = r.drive(deployment.id)
        assert tick.state == "finished", tick
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.ROLLED_BACK and "5xx" in (final.rollback_cause or "")
        assert r.served() == {stable: 100}
        last = r.rollout(deployment.id).verdicts[-1]
        assert last["action"] == "rollback" and datetime.fromisoformat(last["at"]).timestamp() % 60 == 0


def test_a_window_forced_on_before_it_settles_is_recorded_partial_and_never_passes(tmp_path: Path) -> None:
    with rig(tmp_path, ingestion=GOOGLE, config=rig_config(analysis_window_s=60)) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine_for("bob"), "production")
        r.drive(deployment.id)
        promote(r.engine, "production")  # to 10 %
        r.tick_until(deployment.id, lambda ro: ro.settling is not None)
        waiting = r.rollout(deployment.id)
        assert SETTLING.match(waiting.settling_note), waiting.waiting_for
        promote(r.engine, "production", override="change window closes: go on without the last minute")
        r.engine.tick(deployment.id)
        rollout = r.rollout(deployment.id)
        judged = rollout.verdicts[-1]
        assert judged["partial"] and judged["outcome"] != Outcome.PASS.value and judged["action"] != "rollback"
        assert "partial window" in judged["explanation"]
        assert rollout.settling is None and rollout.stage > waiting.stage, "judged once, then the step moved on"
        shown = deployment_view(r.deployment(deployment.id)).verdict  # what `opsconsole deployment --json` prints
        assert shown is not None and shown["partial"] is True and shown["at"] == judged["at"]


def _at(minute: int) -> float:
    return datetime(2026, 12, 6, 12, minute, tzinfo=UTC).timestamp()


def test_the_settle_rule() -> None:
    end = _at(3)
    seen = {"canary": (120, 0, 120), "stable": (1000, 2, 1000)}
    # A first read is never settled; the same non-zero counts on the next read are.
    assert settle(None, None, seen, end + 40, end, 180, 60).state is Settle.WAIT
    assert settle(seen, end + 40, seen, end + 70, end, 180, 60).state is Settle.SETTLED
    # A revision with nothing yet may simply not be ingested: wait for the bound, then one more read.
    empty = {"canary": (0, 0, 0), "stable": (1000, 2, 1000)}
    waiting = settle(empty, end + 150, empty, end + 170, end, 180, 60)
    assert waiting.state is Settle.WAIT and waiting.wait_s == 10, "one read exactly at the bound"
    assert settle(empty, end + 180, empty, end + 210, end, 180, 60).state is Settle.SETTLED
    # Counts still moving after the bound: judged, as partial.
    assert settle(empty, end + 180, seen, end + 210, end, 180, 60).state is Settle.PARTIAL
    # No delay: the first read is the data.
    assert settle(None, None, empty, end, end, 0, 10).state is Settle.SETTLED


def test_a_partial_window_can_prove_a_regression_but_never_pass() -> None:
    passed = Verdict(Outcome.PASS, False, (), "canary 5xx 0.1 %: pass")
    held = as_partial(passed)
    assert held.outcome is Outcome.INCONCLUSIVE and held.explanation.startswith("partial window")
    assert as_partial(Verdict(Outcome.FAIL, False, (), "above the ceiling")).outcome is Outcome.INCONCLUSIVE
    proven = Verdict(Outcome.FAIL, True, (), "regression proven")
    assert as_partial(proven) == proven


CRASH_CONFIG = """\
[teams]
operations = ["alice", "bob"]

[environments.production.strategy]
analysis_window_s = 60
mode = "auto"
"""


def test_consoles_killed_between_reads_of_a_settling_window_judge_each_window_once(tmp_path: Path) -> None:
    summary = run_crash_loop(tmp_path, kills=3, seed=20261206, config=CRASH_CONFIG,
                             serve_args=("--metric-point-s", "60", "--ingestion-delay", "google"))
    assert summary.kills >= 3 and summary.restarts >= 3, summary
    assert not summary.failures, "\n".join(summary.failures)
    assert not summary.duplicates and not summary.bad_splits, (summary.duplicates, summary.bad_splits)
    registry = EMBEDDED.open(tmp_path)
    judged = 0
    for deployment in registry.list_deployments(environment="production"):
        ends = [v["at"] for v in deployment.metadata["rollout"]["verdicts"]]
        assert len(ends) == len(set(ends)), f"{deployment.id} judged a window twice: {ends}"
        assert all(datetime.fromisoformat(e).timestamp() % 60 == 0 for e in ends)
        notes = Counter(e.detail.get("window_end") for e in registry.events(deployment.id)
                        if e.action == "analysis window")
        assert all(n == 1 for n in notes.values()), f"{deployment.id} recorded a window's verdict twice: {notes}"
        judged += len(ends)
    assert judged > 0


async def test_the_canary_panel_says_it_waits_for_monitoring_rather_than_looking_stuck(tmp_path: Path) -> None:
    with rig(tmp_path, start=START, ingestion=GOOGLE, config=rig_config(analysis_window_s=60)) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        approve(r.engine_for("bob"), "production")
        r.drive(deployment.id)
        promote(r.engine, "production")  # to 10 %
        # A window settling after one was judged: the panel would otherwise show that older verdict and look stuck.
        r.tick_until(deployment.id, lambda ro: ro.settling is not None and bool(ro.verdicts))
        note = r.rollout(deployment.id).settling_note
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=(160, 48)) as pilot:
            panel = app.main.query_one(CanaryPanel)
            await until(pilot, lambda: "waiting for Monitoring to settle (minute" in panel.text, "the panel says so")
            assert note[:40] in panel.text and "last: " in panel.text
            await until(pilot, lambda: not app.busy, "the console's threads end")


def test_chart_windows_read_before_monitoring_settled_are_read_again_until_they_have(tmp_path: Path) -> None:
    with rig(tmp_path, start=START, ingestion=GOOGLE) as r:
        stable = next(iter(r.served()))
        r.sleep(60 - r.clock.time() % 60)
        minute = r.clock.now()  # a window that just ended: nothing of it is in Monitoring yet
        history = MetricHistory()

        def charted() -> int:
            series = history.series(r.engine, "production", "websocket-server", r.clock.now(), None, stable,
                                    (0.01, 1000.0))
            assert series.stable is not None
            point = dict(zip(series.ends, series.stable.points, strict=True)).get(minute)
            return point.requests if point is not None else 0

        assert charted() == 0
        for _ in range(CHART_WINDOWS + 60):  # a refresh every 5 s for 6.7 minutes: older windows are filled in first
            r.sleep(5)
            charted()
        final = r.wiring.metrics("production").revision_metrics("websocket-server", minute - timedelta(minutes=1),
                                                                minute)[stable].total
        assert charted() == final > 0, "the chart shows the minute as Monitoring settled on it"
