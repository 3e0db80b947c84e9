"""The canary judge on windows a person can check by hand: what it decides, and the line it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.analysis import (
    InvalidMetrics,
    JudgeSettings,
    Outcome,
    Verdict,
    WindowMetrics,
    judge_window,
    pool,
)
from core.config import RollbackTriggers, ValidationCriteria
from core.errors import BadInput

ROOT = Path(__file__).resolve().parent.parent
CRITERIA = ValidationCriteria()  # 5xx <= 1 %, p99 <= 1000 ms and <= 1.5x stable, >= 50 requests
TRIGGERS = RollbackTriggers()  # 5xx 5 %, p99 2x stable, 2 failed windows in a row


def window(requests: int, errors: int, p50: float | None = 35.0, p99: float | None = 180.0) -> WindowMetrics:
    return WindowMetrics(requests, errors, p50, p99)


def judge(canary: WindowMetrics, stable: WindowMetrics, criteria: ValidationCriteria = CRITERIA) -> Verdict:
    return judge_window(canary, stable, criteria, TRIGGERS)


def reason(verdict: Verdict, name: str) -> Outcome:
    return next(check.outcome for check in verdict.reasons if check.name == name)


def test_a_clear_5xx_regression_fails_and_says_so_with_numbers() -> None:
    verdict = judge(window(4812, 101), window(40_000, 120))  # 2.1 % against 0.3 %
    assert verdict.outcome is Outcome.FAIL
    assert verdict.explanation == "canary 5xx 2.1 % (1.8–2.5) vs stable 0.3 % over 4 812 requests: fail, 7.0× stable"
    assert "\n" not in verdict.explanation
    # Under the 5 % trigger, but proven by a test whose error is bounded over all looks: it rolls back at once.
    (check,) = [c for c in verdict.reasons if c.name == "5xx rate"]
    assert verdict.rollback and check.sequential


def test_a_healthy_canary_passes() -> None:
    verdict = judge(window(4812, 10), window(40_000, 80))  # 0.2 % both
    assert verdict.outcome is Outcome.PASS
    assert not verdict.rollback
    assert "canary 5xx 0.2 %" in verdict.explanation
    assert "canary p99 180 ms" in verdict.explanation
    assert verdict.explanation.endswith("pass")


def test_no_errors_on_either_side_passes_with_enough_traffic() -> None:
    assert judge(window(2000, 0), window(2000, 0)).outcome is Outcome.PASS


def test_no_errors_with_too_little_traffic_to_be_sure_holds() -> None:
    # 0 of 200: the exact upper bound is 1.5 %, above the 1 % ceiling; 299 requests would do.
    verdict = judge(window(200, 0), window(2000, 0))
    assert verdict.outcome is Outcome.INCONCLUSIVE  # 200 requests are data: undecided, not "no data"
    assert "upper bound not under the 1 % ceiling, needs 299 requests with no more 5xx" in verdict.explanation


def test_a_borderline_canary_is_held_not_failed() -> None:
    # 0.3 % against 0.1 % is over the 0.2 % allowed, but 3 errors against 2 prove nothing yet.
    verdict = judge(window(1000, 3), window(2000, 2))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert not verdict.rollback
    assert "inconclusive, above 0.2 % allowed but not yet significant" in verdict.explanation


def test_low_traffic_is_no_data_saying_how_many_requests_were_seen_and_needed() -> None:
    verdict = judge(window(12, 1), window(400, 1))
    assert verdict.outcome is Outcome.NO_DATA
    assert not verdict.rollback
    assert verdict.explanation == "canary served 12 requests, 50 needed to judge it: no data"
    assert {check.outcome for check in verdict.reasons} == {Outcome.NO_DATA}


def test_no_traffic_at_all_is_no_data_even_without_a_floor() -> None:
    verdict = judge(window(0, 0, None, None), window(0, 0, None, None), ValidationCriteria(min_requests_per_window=0))
    assert verdict.outcome is Outcome.NO_DATA


def test_an_error_rate_above_the_trigger_rolls_back() -> None:
    verdict = judge(window(2000, 160), window(2000, 4))  # 8 %: the sandbox's canary-5xx scenario
    assert verdict.outcome is Outcome.FAIL
    assert verdict.rollback
    assert "canary 5xx 8.0 % (7.0–9.1) vs stable 0.2 % over 2 000 requests: above the 5 % rollback trigger" in (
        verdict.explanation
    )


def test_a_rate_just_above_the_trigger_without_confidence_does_not_fire_the_trigger() -> None:
    verdict = judge(window(100, 6), window(2000, 4))  # 6 % of 100 could well be 5 %
    assert "rollback trigger" not in verdict.explanation
    assert verdict.outcome is Outcome.FAIL  # but it is surely worse than stable's 0.2 %: a proven regression
    assert all(c.sequential for c in verdict.reasons if c.outcome is Outcome.FAIL)


def test_errors_on_both_sides_above_the_ceiling_hold_rather_than_blame_the_canary() -> None:
    verdict = judge(window(2000, 60), window(2000, 60))  # 3 % everywhere: not the new revision's doing
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "hold, both above the 1 % ceiling" in verdict.explanation


def test_a_canary_alone_above_the_ceiling_fails_without_a_stable_baseline() -> None:
    # At the 100 % step stable serves nothing: the ceiling is the only reference.
    verdict = judge(window(5000, 100), window(0, 0, None, None))
    assert verdict.outcome is Outcome.FAIL
    assert "canary 5xx 2.0 % (1.7–2.4) over 5 000 requests: fail, above the 1 % ceiling" in verdict.explanation


def test_latency_above_the_ceiling_fails() -> None:
    verdict = judge(window(2000, 2, 300.0, 1800.0), window(0, 0, None, None))
    assert verdict.outcome is Outcome.FAIL
    assert not verdict.rollback
    assert "canary p99 1800 ms" in verdict.explanation
    assert "fail, above the 1000 ms ceiling" in verdict.explanation


def test_latency_above_the_ratio_to_stable_fails_without_triggering() -> None:
    verdict = judge(window(2000, 2, 35.0, 400.0), window(2000, 2, 35.0, 178.0))
    assert reason(verdict, "p99 latency") is Outcome.FAIL
    assert not verdict.rollback  # 2.25x measured, but not surely above the 2x trigger
    assert "canary p99 400 ms (345–464) vs stable 178 ms (2.25×) over 2 000 requests: fail, above 1.5× stable" in (
        verdict.explanation
    )


def test_latency_far_above_the_degradation_trigger_rolls_back() -> None:
    verdict = judge(window(2000, 2, 45.0, 900.0), window(2000, 2, 35.0, 180.0))  # the canary-latency scenario
    assert verdict.rollback
    assert "above the 2× rollback trigger" in verdict.explanation


def test_a_latency_within_the_ratio_but_not_surely_so_holds() -> None:
    verdict = judge(window(2000, 2, 35.0, 260.0), window(2000, 2, 35.0, 178.0))  # 1.46x, noisy p99s
    assert reason(verdict, "p99 latency") is Outcome.INCONCLUSIVE
    assert "inconclusive, ratio not yet surely under 1.5×" in verdict.explanation


def test_a_p99_of_a_few_requests_is_not_judged() -> None:
    # 60 requests clear the floor of 50, but their "p99" is their slowest request.
    verdict = judge(window(60, 0, 35.0, 5000.0), window(5000, 5))
    assert reason(verdict, "p99 latency") is Outcome.NO_DATA
    assert verdict.outcome is Outcome.INCONCLUSIVE  # 60 requests are data; the 5xx check cannot decide yet
    assert "a p99 needs at least 100 timed requests, 60 so far" in verdict.explanation


def test_missing_latency_is_no_data_for_that_check_only() -> None:
    verdict = judge(window(4812, 101, None, None), window(40_000, 120))
    assert reason(verdict, "p99 latency") is Outcome.NO_DATA
    assert verdict.outcome is Outcome.FAIL  # the 5xx evidence still counts


def test_a_rollback_trigger_leads_the_explanation() -> None:
    verdict = judge(window(2000, 160, 35.0, 400.0), window(2000, 4, 35.0, 178.0))
    assert verdict.rollback
    assert verdict.explanation.startswith("canary 5xx 8.0 %")


def test_verdicts_survive_json() -> None:
    verdict = judge(window(4812, 101), window(40_000, 120))
    assert Verdict.from_dict(json.loads(json.dumps(verdict.to_dict()))) == verdict


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ((10, 11, None, None), "11 5xx answers but only 10 requests"),
        ((-1, 0, None, None), "requests must be a whole number"),
        ((10, 1, float("nan"), None), "p50_ms must be a positive number"),
        ((10, 1, None, 0.0), "p99_ms must be a positive number"),
    ],
)
def test_impossible_metrics_are_refused_in_one_sentence(fields: tuple, words: str) -> None:
    with pytest.raises(InvalidMetrics, match=words) as caught:
        WindowMetrics(*fields)
    assert isinstance(caught.value, BadInput)
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")


def test_pooling_adds_counts_and_leaves_thin_percentiles_out() -> None:
    pooled = pool([window(200, 1, 30.0, 150.0), window(200, 3, 40.0, 200.0), window(5, 0, 35.0, 9000.0)])
    assert (pooled.requests, pooled.errors_5xx) == (405, 4)
    assert pooled.p99_ms == pytest.approx((150.0 * 200.0) ** 0.5)  # the 5-request window's "p99" is left out
    assert pooled.latency_sample == 400


def test_stricter_settings_need_stronger_evidence() -> None:
    canary, stable = window(1000, 11), window(10_000, 20)  # 1.1 % against 0.2 %: p = 5e-5
    assert judge_window(canary, stable, CRITERIA, TRIGGERS).outcome is Outcome.FAIL
    strict = JudgeSettings(fail_confidence=0.999999, sequential_alpha=1e-6, horizon_alpha=1e-6)
    assert judge_window(canary, stable, CRITERIA, TRIGGERS, settings=strict).outcome is Outcome.INCONCLUSIVE
    with pytest.raises(BadInput):
        JudgeSettings(pass_confidence=0.99, fail_confidence=0.95)
    with pytest.raises(BadInput, match="sequential error bounds"):
        JudgeSettings(sequential_alpha=0.0)


def test_the_judge_and_the_plans_need_neither_scipy_nor_numpy() -> None:
    code = ("import sys, core.analysis, core.strategies; "
            "print(sorted(m for m in ('scipy', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"
