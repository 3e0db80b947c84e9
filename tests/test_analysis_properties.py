"""Properties of the judge over any windows: more errors never help, thin traffic is never judged, a rate
surely above the ceiling never passes, and every verdict explains itself in one line."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.analysis import Outcome, Verdict, WindowMetrics, evaluate_deployment, judge_window
from core.analysis.stats import clopper_pearson
from core.config import RollbackTriggers, ValidationCriteria

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RANK = {Outcome.FAIL: 0, Outcome.INCONCLUSIVE: 1, Outcome.NO_DATA: 1, Outcome.PASS: 2}  # both holds rank alike

SAYS = {
    Outcome.PASS: ("pass",),
    Outcome.FAIL: ("fail", "rollback trigger"),
    Outcome.INCONCLUSIVE: ("inconclusive", "hold"),
    Outcome.NO_DATA: ("no data", "not judged"),
}

latency = st.one_of(st.none(), st.floats(1.0, 5000.0))


@st.composite
def windows(draw: st.DrawFn, max_requests: int = 50_000) -> WindowMetrics:
    requests = draw(st.integers(0, max_requests))
    errors = draw(st.integers(0, requests))
    p50 = draw(latency)
    p99 = None if p50 is None else draw(st.one_of(st.none(), st.floats(p50, p50 * 40)))
    return WindowMetrics(requests, errors, p50, p99)


criteria_st = st.builds(
    ValidationCriteria,
    max_5xx_rate=st.sampled_from([0.0, 0.001, 0.01, 0.05]),
    max_p99_latency_ms=st.sampled_from([200.0, 1000.0]),
    max_p99_ratio_to_stable=st.sampled_from([1.0, 1.2, 1.5, 3.0]),
    min_requests_per_window=st.sampled_from([0, 1, 50, 500]),
)
triggers_st = st.builds(
    RollbackTriggers,
    error_rate=st.sampled_from([0.05, 0.2]),
    latency_degradation_ratio=st.sampled_from([1.5, 2.0]),
)


@FAST
@given(canary=windows(), stable=windows(), criteria=criteria_st, triggers=triggers_st, data=st.data())
def test_more_errors_never_make_a_verdict_better(canary: WindowMetrics, stable: WindowMetrics,
                                                 criteria: ValidationCriteria, triggers: RollbackTriggers,
                                                 data: st.DataObject) -> None:
    assume(canary.errors_5xx < canary.requests)
    more = data.draw(st.integers(canary.errors_5xx + 1, canary.requests))
    worse = WindowMetrics(canary.requests, more, canary.p50_ms, canary.p99_ms)
    before = judge_window(canary, stable, criteria, triggers)
    after = judge_window(worse, stable, criteria, triggers)
    assert RANK[after.outcome] <= RANK[before.outcome]
    assert after.rollback or not before.rollback


@FAST
@given(stable=windows(), criteria=criteria_st, triggers=triggers_st, data=st.data())
def test_below_the_request_floor_the_verdict_is_no_data_unless_a_regression_is_proven(
        stable: WindowMetrics, criteria: ValidationCriteria, triggers: RollbackTriggers, data: st.DataObject) -> None:
    requests = data.draw(st.integers(0, max(1, criteria.min_requests_per_window) - 1))
    canary = WindowMetrics(requests, data.draw(st.integers(0, requests)), 35.0, data.draw(latency))
    verdict = judge_window(canary, stable, criteria, triggers)
    assert verdict.outcome is not Outcome.PASS
    if verdict.outcome is Outcome.NO_DATA:
        assert not verdict.rollback
        assert f"canary served {requests:,}".replace(",", " ") in verdict.explanation
    else:  # only the sequential tests judge thin traffic, and only against a worse canary
        failed = [c for c in verdict.reasons if c.outcome is Outcome.FAIL]
        assert failed and all(c.sequential and c.rollback for c in failed)
        assert all(c.canary is not None and c.stable is not None and c.canary > c.stable for c in failed)


@FAST
@given(canary=windows(), stable=windows(), criteria=criteria_st, triggers=triggers_st)
def test_never_a_pass_when_the_rate_is_surely_above_the_ceiling(canary: WindowMetrics, stable: WindowMetrics,
                                                                criteria: ValidationCriteria,
                                                                triggers: RollbackTriggers) -> None:
    assume(canary.requests > 0)
    low, _ = clopper_pearson(canary.errors_5xx, canary.requests, 0.90)
    assume(low > criteria.max_5xx_rate)
    assert judge_window(canary, stable, criteria, triggers).outcome is not Outcome.PASS


@FAST
@given(canary=windows(), stable=windows(), criteria=criteria_st, triggers=triggers_st)
def test_every_verdict_is_one_line_and_survives_json(canary: WindowMetrics, stable: WindowMetrics,
                                                     criteria: ValidationCriteria,
                                                     triggers: RollbackTriggers) -> None:
    verdict = judge_window(canary, stable, criteria, triggers)
    line = verdict.explanation
    assert line and "\n" not in line
    assert any(ch.isdigit() for ch in line)  # it shows its numbers
    assert any(word in line for word in SAYS[verdict.outcome])  # and says what it decided
    assert Verdict.from_dict(json.loads(json.dumps(verdict.to_dict()))) == verdict
    if verdict.rollback:
        assert verdict.outcome is Outcome.FAIL


outcomes = st.sampled_from(list(Outcome))


@FAST
@given(sequence=st.lists(outcomes, max_size=12), needed=st.integers(1, 4))
def test_a_decision_counts_failures_the_way_it_says(sequence: list[Outcome], needed: int) -> None:
    triggers = RollbackTriggers(consecutive_failed_windows=needed)
    decision = evaluate_deployment([Verdict(o, False, (), o.value) for o in sequence], triggers)
    streak, rolled = 0, False
    for outcome in sequence:  # the rule, restated: NO_DATA neither counts nor resets
        streak = streak + 1 if outcome is Outcome.FAIL else 0 if outcome is Outcome.PASS else streak
        rolled = rolled or streak >= needed
    expected = "rollback" if rolled else "promote_allowed" if sequence and sequence[-1] is Outcome.PASS else "hold"
    assert decision.action.value == expected
