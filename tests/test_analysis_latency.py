"""Latency distributions in the judge: pooled exactly, judged on sample size, and old records still readable."""

from __future__ import annotations

import json
import math

import pytest

from core.analysis import Action, AnalysisHistory, Outcome, WindowMetrics, judge_window, pool
from core.analysis.latency import BucketLayout, InvalidHistogram, LatencyHistogram, pool_histograms
from core.analysis.sequential import StepEvidence, horizon_level
from core.analysis.stats import normal_quantile
from core.config import RollbackTriggers, ValidationCriteria

LAYOUT = BucketLayout.exponential(1.0, 1.1, 160)  # the sandbox's (and a plausible Cloud Run) layout
CRITERIA = ValidationCriteria()
TRIGGERS = RollbackTriggers()


def histogram(latencies_ms: list[float], layout: BucketLayout = LAYOUT) -> LatencyHistogram:
    counts: dict[int, int] = {}
    for ms in latencies_ms:
        i = 0 if ms < layout.scale else \
            min(layout.buckets - 1, int(math.log(ms / layout.scale) / math.log(layout.growth)) + 1)
        counts[i] = counts.get(i, 0) + 1
    return LatencyHistogram(layout, counts)


def lognormal(n: int, p50: float, p99: float) -> list[float]:
    """n latencies at evenly spaced quantiles of a lognormal: a sample without sampling noise."""
    sigma = math.log(p99 / p50) / normal_quantile(0.99)
    return [p50 * math.exp(sigma * normal_quantile((k + 0.5) / n)) for k in range(n)]


def timed(n: int, errors: int = 0, p50: float = 35.0, p99: float = 180.0) -> WindowMetrics:
    return WindowMetrics(n, errors, latency=histogram(lognormal(n, p50, p99)))


def test_pooled_windows_have_the_percentiles_of_all_their_requests() -> None:
    thin = [lognormal(20, 35.0, 180.0), lognormal(20, 40.0, 400.0), lognormal(5, 30.0, 90.0)]
    pooled = pool(WindowMetrics(len(w), 0, latency=histogram(w)) for w in thin)
    every = histogram([ms for w in thin for ms in w])
    assert pooled.latency == every
    assert pooled.p99_ms == every.percentile(99) and pooled.p50_ms == every.percentile(50)
    assert pooled.latency_sample == 45  # thin windows count: their buckets add, unlike their "p99"s


def test_a_percentile_is_read_inside_its_bucket_as_monitoring_does() -> None:
    one = LatencyHistogram(BucketLayout(explicit=(0.0, 100.0, 200.0)), {1: 50, 2: 50})
    assert one.percentile(50) == pytest.approx(100.0)
    assert one.percentile(75) == pytest.approx(150.0)
    assert one.above(1) == 50 and one.total == 100


def test_histograms_of_different_layouts_are_not_added() -> None:
    other = BucketLayout.exponential(1.0, 1.4, 64)
    with pytest.raises(InvalidHistogram, match="different bucket layouts"):
        histogram([30.0]).merge(histogram([30.0], other))
    assert pool_histograms([histogram([30.0]), histogram([30.0], other)]) is None


@pytest.mark.parametrize(("layout", "words"), [
    (dict(scale=1.0, growth=1.0, finite=10), "growth > 1"),
    (dict(explicit=(5.0, 5.0)), "rise strictly"),
])
def test_impossible_layouts_are_refused_in_one_sentence(layout: dict, words: str) -> None:
    with pytest.raises(InvalidHistogram, match=words):
        BucketLayout(**layout)


def test_windows_keep_their_histogram_through_json() -> None:
    window = timed(40, 1)
    again = WindowMetrics.from_dict(json.loads(json.dumps(window.to_dict())))
    assert again == window and again.latency == window.latency


def test_a_rollout_recorded_before_histograms_still_loads_and_decides() -> None:
    old = {"lookback": None, "windows": [
        {"canary": {"requests": 400, "errors_5xx": 1, "p50_ms": 35.0, "p99_ms": 180.0, "latency_requests": None},
         "stable": {"requests": 4000, "errors_5xx": 8, "p50_ms": 35.0, "p99_ms": 180.0, "latency_requests": None}},
    ] * 3}
    history = AnalysisHistory.from_dict(old, CRITERIA, TRIGGERS)
    assert history.verdicts[-1].outcome is Outcome.PASS
    history.add(timed(400), timed(4000))  # a new window with buckets next to old ones without
    assert history.decision().action is Action.PROMOTE_ALLOWED
    assert "canary p99" in history.verdicts[-1].explanation


def test_a_5x_p99_regression_on_20_requests_a_window_is_proven_within_three_windows() -> None:
    # The canary-latency scenario at a 10 % step: 2 rps (p50 45 ms, p99 900 ms) against 18 rps healthy. No
    # window holds the 100 requests a p99 needs; the slow requests are counted from the first one.
    history = AnalysisHistory(CRITERIA, TRIGGERS)
    actions = []
    for _ in range(3):
        history.add(timed(20, p50=45.0, p99=900.0), timed(180))
        actions.append(history.decision().action)
    assert actions == [Action.HOLD, Action.HOLD, Action.ROLLBACK]
    decision = history.decision()
    assert decision.action is Action.ROLLBACK
    assert decision.explanation.startswith("rollback: a rollback trigger fired in window 3 (regression proven)")
    assert "canary requests slower than" in decision.explanation and "above 1.5× stable" in decision.explanation


def test_a_healthy_canary_on_20_requests_a_window_is_never_blamed_for_its_tail() -> None:
    history = AnalysisHistory(CRITERIA, TRIGGERS)
    for _ in range(30):
        history.add(timed(20), timed(180))
    assert history.decision().action is not Action.ROLLBACK
    assert all(not v.rollback for v in history.verdicts)


def test_below_the_request_floor_only_a_proven_regression_fails() -> None:
    quiet = timed(20)  # 20 requests: under the floor of 50
    assert judge_window(quiet, timed(180), CRITERIA, TRIGGERS).outcome is Outcome.NO_DATA
    broken = WindowMetrics(20, 8, latency=quiet.latency)  # 8 of 20 answered 5xx against none of 180
    verdict = judge_window(broken, timed(180), CRITERIA, TRIGGERS)
    assert verdict.outcome is Outcome.FAIL and verdict.rollback
    assert verdict.explanation.startswith("canary 5xx 40.0 %")


def test_the_tail_bound_comes_from_earlier_stable_windows_once_they_hold_enough() -> None:
    evidence = StepEvidence()
    first = evidence.add(timed(20), timed(180))
    second = evidence.add(timed(20), timed(180))
    assert first.slow_bound_ms is not None and second.slow_bound_ms is not None
    assert 150 < second.slow_bound_ms < 260  # near stable's p99 of 180 ms, at a bucket edge
    assert second.stable_timed == 360 and second.canary_timed == 40


def test_the_group_sequential_boundary_relaxes_to_its_planned_look_and_tightens_after() -> None:
    levels = [horizon_level(k, 60, 0.02) for k in (1, 15, 60, 61, 240, 241)]
    assert levels[0] < levels[1] < levels[2]
    # At the planned look the boundary is c itself, with 2 (1 - Φ(c)) = half the budget (reflection principle).
    assert levels[2] == pytest.approx(0.02 / 4)
    assert levels[3] < levels[2]  # the next epoch spends half as much
    assert levels[3] < levels[4] and levels[5] < levels[4]
