"""The canary metrics panel and the cards' infrastructure line, on the in-process sandbox with a frozen clock.

What an operator notices: canary and stable figures beside the judge's limits, charts that fit the
terminal, a metrics outage named on the panel while older windows stay drawn, and which Terraform
apply each environment runs on. Also that charting costs the provider one read per new window (the first
fills them all), not one per refresh.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from console.app import OpsConsoleApp
from console.snapshot import CHART_WINDOWS, MetricHistory, take_snapshot
from core.engine import Engine, approve, promote
from core.providers.google_retry import RetryPolicy
from core.providers.monitoring import MonitoringAdapter
from sandbox.faults import ApiFaults
from tests.engine_rig import IMAGE, OPERATOR, START, Rig, rig
from tests.test_tui_console import until
from widgets.canary_panel import CanaryPanel, legend
from widgets.metric_chart import segments
from widgets.metric_series import MetricSeries


def canary_at_10(r: Rig) -> None:
    deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
    approve(r.engine, "production")
    r.drive(deployment.id)
    promote(r.engine, "production")
    assert r.drive(deployment.id).state == "operator"


def impatient_metrics(r: Rig) -> Engine:
    """The rig's engine with metrics adapters that give up on a failing call in well under a second."""
    policy = RetryPolicy(initial=0.01, maximum=0.05, deadline=0.3)
    adapters = {name: MonitoringAdapter(r.wiring.clients.metrics, env.infrastructure.gcp_project,
                                        region=env.infrastructure.region, policy=policy, now=r.engine.ports.now)
                for name, env in r.engine.config.environments.items()}
    ports = dataclasses.replace(r.engine.ports, metrics=adapters.__getitem__)
    return Engine(r.engine.config, r.registry, ports, operator=OPERATOR, bus=r.engine.bus)


def test_each_window_is_read_once_and_the_missing_ones_together(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        canary_at_10(r)
        history = MetricHistory()
        first = take_snapshot(r.engine, "production", history)
        # One read (three grouped queries) fills every window of the chart: Monitoring aligns one point a window.
        assert history.reads == 1 and first.metrics is not None and len(first.metrics.ends) == CHART_WINDOWS
        for _ in range(5):
            snapshot = take_snapshot(r.engine, "production", history)
        assert history.reads == 1  # the later refreshes found every window kept
        series = snapshot.metrics
        assert series is not None and series.complete and len(series.ends) == CHART_WINDOWS
        rollout = snapshot.rollout
        assert rollout is not None and series.canary is not None and series.stable is not None
        assert (series.canary.revision, series.stable.revision) == (rollout.new_revision, rollout.stable_revision)
        # The newest window, read straight from the provider, is what the chart holds for it.
        end = series.ends[-1]
        direct = r.engine.ports.metrics("production").revision_metrics(
            rollout.service, end - timedelta(seconds=series.window_s), end)[rollout.stable_revision]
        point = series.stable.points[-1]
        assert point is not None and (point.requests, point.errors_5xx) == (direct.total, direct.errors_5xx)
        assert series.limit("5xx") == 100 * rollout.plan.criteria.max_5xx_rate
        # The canary only serves since the canary began: older windows are gaps, not zeros.
        assert series.canary.points[0] is None and series.canary.points[-1] is not None
        r.sleep(series.window_s)  # a new window ends: exactly one more read, the oldest drops out
        later = take_snapshot(r.engine, "production", history)
        assert history.reads == 2
        newest = series.ends[-1] + timedelta(seconds=series.window_s)
        assert later.metrics is not None and later.metrics.ends == (*series.ends[1:], newest)


def test_a_metrics_outage_is_named_and_older_windows_stay(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        engine = impatient_metrics(r)
        history = MetricHistory(windows=3, retry_after_s=3600)
        for _ in range(3):
            take_snapshot(engine, "staging", history)
        r.cloud.faults.monitoring = ApiFaults(share=1.0, methods=("ListTimeSeries",))
        r.sleep(60)
        snapshot = take_snapshot(engine, "staging", history)
        assert snapshot.metrics is not None and snapshot.metrics.error is not None
        assert "Cloud Monitoring" in snapshot.metrics.error and len(snapshot.metrics.ends) == 2
        assert snapshot.live.websocket_error is None  # only the charts lack their newest window
        calls = r.cloud.faults.monitoring.injected
        again = take_snapshot(engine, "staging", history)  # within the back-off: the error, no new call
        assert again.metrics is not None and again.metrics.error == snapshot.metrics.error
        assert r.cloud.faults.monitoring.injected == calls
        r.cloud.faults.clear()
        history.retry_after_s = 0
        recovered = take_snapshot(engine, "staging", history)
        assert recovered.metrics is not None and recovered.metrics.error is None and recovered.metrics.complete
        engine.release_locks()


def test_gaps_stay_gaps_and_a_metrics_failure_is_the_panels_legend() -> None:
    assert segments([None, 1.0, 2.0, None, 3.0]) == [([1, 2], [1.0, 2.0]), ([4], [3.0])]
    assert segments([None, None]) == []
    failed = MetricSeries(60, 20, (), None, None, 0.01, 1000.0, error="Cloud Monitoring is unavailable.")
    assert legend(failed).plain == "metrics: Cloud Monitoring is unavailable."


async def test_the_panel_charts_canary_against_stable_and_fits_the_terminal(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        canary_at_10(r)
        r.registry.put_record("infrastructure", "production", {
            "git_commit": "4f2a9c1d0e", "plan_hash": "sha256:ab12", "state_serial": 42,
            "applied_at": (r.engine.ports.now() - timedelta(minutes=5)).isoformat(), "actor": "bob"})
        app = OpsConsoleApp(r.engine, sleep=r.sleep)
        async with app.run_test(size=(160, 48)) as pilot:
            panel = app.main.query_one(CanaryPanel)

            def canary_measured() -> bool:  # the newest windows are read first: they hold the canary's traffic
                snapshot = app.snapshots.get("production")
                if not app.busy:
                    app.request_refresh()
                return snapshot is not None and snapshot.metrics is not None \
                    and snapshot.metrics.latest("rps", "canary") is not None

            await until(pilot, canary_measured, "the canary's newest window is read")
            await until(pilot, lambda: "≤1.00%" in panel.text, "the panel shows the latest figures")
            text = panel.text
            assert "weight 10 %" in text and "PROMOTE ALLOWED" in text
            assert "5xx rate" in text and "p99 latency" in text and "requests" in text
            # 160x48 leaves the judge 18 rows: the four charts two by two, each tall enough to read a trend.
            assert panel.layout_name == "grid" and len([c for c in panel.query("MetricChart") if c.display]) == 4
            card = app.main.card("production").text
            assert "infra 4f2a9c1 serial 42 5 min ago by bob" in card
            assert "not applied from this console" in app.main.card("dev").text
            await pilot.resize_terminal(80, 24)
            await until(pilot, lambda: panel.layout_name == "sparks", "small terminal: sparklines")
            figures = str(panel.query_one("#figures-rps").content)
            assert "canary" in figures and "/s" in figures and "stable" in figures
            await pilot.resize_terminal(120, 36)
            await until(pilot, lambda: panel.layout_name in ("pair", "grid"), "120x36: the judged metrics as charts")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.busy, "the console's threads end")
