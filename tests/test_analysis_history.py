"""From window verdicts to promote / hold / rollback, and a canary step's history of pooled windows."""

from __future__ import annotations

import json

import pytest

from core.analysis import (
    Action,
    AnalysisHistory,
    Outcome,
    Verdict,
    WindowMetrics,
    evaluate_deployment,
    judge_window,
)
from core.config import RollbackTriggers, ValidationCriteria
from core.errors import BadInput

CRITERIA = ValidationCriteria()
TRIGGERS = RollbackTriggers()  # two failed windows in a row roll back


def verdict(outcome: Outcome, *, rollback: bool = False, text: str = "") -> Verdict:
    return Verdict(outcome, rollback, (), text or outcome.value)


PASS, FAIL, NO_DATA = verdict(Outcome.PASS), verdict(Outcome.FAIL), verdict(Outcome.NO_DATA)


def test_nothing_judged_yet_holds() -> None:
    decision = evaluate_deployment([], TRIGGERS)
    assert decision.action is Action.HOLD
    assert decision.explanation == "hold: no analysis window has been judged yet"


def test_a_passing_window_allows_promotion() -> None:
    decision = evaluate_deployment([NO_DATA, PASS], TRIGGERS)
    assert decision.action is Action.PROMOTE_ALLOWED
    assert decision.explanation == "promote allowed: pass"


def test_a_quiet_window_after_a_pass_holds() -> None:
    assert evaluate_deployment([PASS, NO_DATA], TRIGGERS).action is Action.HOLD


def test_one_failed_window_holds_and_counts() -> None:
    decision = evaluate_deployment([PASS, FAIL], TRIGGERS)
    assert decision.action is Action.HOLD
    assert decision.failed_streak == 1
    assert decision.explanation.startswith("hold (1 of 2 failed windows before a rollback)")


def test_consecutive_failed_windows_roll_back() -> None:
    decision = evaluate_deployment([PASS, FAIL, FAIL], TRIGGERS)
    assert decision.action is Action.ROLLBACK
    assert decision.explanation.startswith("rollback: 2 failed windows in a row (windows 2–3)")


def test_no_data_between_failures_neither_passes_nor_resets() -> None:
    assert evaluate_deployment([FAIL, NO_DATA, NO_DATA, FAIL], TRIGGERS).action is Action.ROLLBACK


def test_a_pass_between_failures_resets_the_streak() -> None:
    decision = evaluate_deployment([FAIL, PASS, FAIL], TRIGGERS)
    assert decision.action is Action.HOLD
    assert decision.failed_streak == 1


def test_a_trigger_rolls_back_at_once() -> None:
    fired = verdict(Outcome.FAIL, rollback=True, text="canary 5xx 8.0 % above the 5 % rollback trigger")
    decision = evaluate_deployment([PASS, fired], TRIGGERS)
    assert decision.action is Action.ROLLBACK
    assert decision.explanation == (
        "rollback: a rollback trigger fired in window 2: canary 5xx 8.0 % above the 5 % rollback trigger"
    )


def test_a_rollback_is_final_whatever_follows() -> None:
    # The engine re-evaluates after a restart: a later pass must not undo the decision.
    assert evaluate_deployment([FAIL, FAIL, PASS], TRIGGERS).action is Action.ROLLBACK


def test_one_failed_window_is_enough_when_configured() -> None:
    strict = RollbackTriggers(consecutive_failed_windows=1)
    assert evaluate_deployment([PASS, FAIL], strict).action is Action.ROLLBACK


def test_decisions_serialize_to_json() -> None:
    decision = evaluate_deployment([PASS, FAIL], TRIGGERS)
    assert json.loads(json.dumps(decision.to_dict()))["action"] == "hold"


def quiet(errors: int = 0) -> WindowMetrics:
    return WindowMetrics(5, errors, 35.0, 120.0)  # 0.5 request per second over 10 s


def test_a_quiet_service_reaches_the_request_floor_by_pooling() -> None:
    history = AnalysisHistory(CRITERIA, TRIGGERS)
    verdicts = [history.add(quiet(), quiet()) for _ in range(10)]
    assert verdicts[8].explanation == "canary served 45 requests, 50 needed to judge it: no data"
    tenth = verdicts[9]
    assert tenth.windows == 10
    # Judged now, and still held: 0 errors in 50 cannot show a rate under 1 %, and a p99 of 5 requests is no p99.
    assert tenth.outcome is Outcome.INCONCLUSIVE  # 50 requests pooled are data, not "no data"
    assert "canary 5xx 0.0 % (0.0–5.8) vs stable 0.0 % over 50 requests" in tenth.explanation
    assert "a p99 needs at least 100 timed requests, 0 so far" in tenth.explanation  # 5-request "p99"s left out
    assert history.decision().action is Action.HOLD


def test_pooling_finds_a_regression_no_single_window_shows() -> None:
    canary, stable = WindowMetrics(200, 3, 35.0, 180.0), WindowMetrics(200, 0, 35.0, 180.0)
    assert judge_window(canary, stable, CRITERIA, TRIGGERS).outcome is Outcome.INCONCLUSIVE  # 3 against 0: no proof
    history = AnalysisHistory(CRITERIA, TRIGGERS)
    outcomes = []
    for _ in range(5):
        history.add(canary, stable)
        outcomes.append(history.decision().action)
    # 12 errors against none after 4 windows: the mixture's likelihood ratio passes 1 / 0.0025, and a proven
    # regression rolls back at once instead of waiting for a second failed window.
    assert outcomes == [Action.HOLD, Action.HOLD, Action.HOLD, Action.ROLLBACK, Action.ROLLBACK]
    assert history.verdicts[3].outcome is Outcome.FAIL
    assert history.decision().explanation.startswith(
        "rollback: a rollback trigger fired in window 4 (regression proven): canary 5xx 1.5 %")


def test_a_history_rebuilt_from_its_windows_decides_the_same() -> None:
    history = AnalysisHistory(CRITERIA, TRIGGERS, lookback=3)
    for errors in (0, 1, 4, 9):
        history.add(WindowMetrics(400, errors, 35.0, 180.0), WindowMetrics(400, 1, 35.0, 180.0))
    restored = AnalysisHistory.from_dict(json.loads(json.dumps(history.to_dict())), CRITERIA, TRIGGERS)
    assert restored.verdicts == history.verdicts
    assert restored.decision() == history.decision()


def test_lookback_judges_only_the_latest_windows() -> None:
    history = AnalysisHistory(CRITERIA, TRIGGERS, lookback=2)
    for errors in (40, 0, 0):
        verdict_ = history.add(WindowMetrics(1000, errors, 35.0, 180.0), WindowMetrics(1000, 2, 35.0, 180.0))
    assert verdict_.windows == 2
    assert "over 2 000 requests" in verdict_.explanation  # the 4 % window has left the pool


def test_a_lookback_of_zero_windows_is_refused() -> None:
    with pytest.raises(BadInput, match="at least 1 window"):
        AnalysisHistory(CRITERIA, TRIGGERS, lookback=0)
