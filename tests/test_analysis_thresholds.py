"""The judge's two confidences pinned at their edges, through the settings a production canary is judged with.

A rollback trigger fires when the canary's 5xx rate is above it with 99.9 % one-sided confidence (fewer false
rollbacks), and a window passes when the exact upper bound of its 5xx rate, at 95 % one-sided confidence, is
under the ceiling. Each test finds, with its own exact binomial tail (not core.analysis.stats), the count where
the rule flips, and asks the judge on both sides of it: a change of either confidence moves the edge, and the
judge then answers on one side as on the other.
"""

from __future__ import annotations

import math

from core.analysis import Action, Outcome, Verdict, WindowMetrics
from core.config import default_config
from core.model.rollout import Rollout
from core.strategies import PlanContext, generate_deployment_plan

ROLLBACK_CONFIDENCE = 0.999  # the documented rule (core/analysis/judge.py, JudgeSettings.fail_confidence)
PASS_CONFIDENCE = 0.95  # JudgeSettings.pass_confidence: a pass is judged on the 95 % upper bound


def _log_pmf(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + \
        (n - k) * math.log1p(-p)


def at_least(x: int, n: int, p: float) -> float:
    """P(X >= x) for X ~ Binomial(n, p), summed term by term."""
    return math.fsum(math.exp(_log_pmf(k, n, p)) for k in range(x, n + 1))


def at_most(x: int, n: int, p: float) -> float:
    """P(X <= x) for X ~ Binomial(n, p)."""
    return math.fsum(math.exp(_log_pmf(k, n, p)) for k in range(0, x + 1))


def production_rollout() -> Rollout:
    """A production canary as the engine plans it: its criteria, triggers and judge settings."""
    strategy = default_config().environment("production").strategy
    context = PlanContext("production", "websocket-server", "websocket-server-00007-abc",
                          {"websocket-server": "us-docker.pkg.dev/p/r/ws:1.4.0"}, None)
    return Rollout(plan=generate_deployment_plan(strategy, context))


def judged(canary: WindowMetrics, stable: WindowMetrics) -> tuple[Verdict, Action]:
    """The first window of a step, judged as the engine judges it: the verdict and the judge's decision."""
    history = production_rollout().history()
    verdict = history.add(canary, stable)
    return verdict, history.decision().action


def five_xx(verdict: Verdict) -> str:
    return next(check.summary for check in verdict.reasons if check.name == "5xx rate")


def test_the_rollback_trigger_needs_exactly_99_9_percent_confidence() -> None:
    trigger = production_rollout().plan.triggers.error_rate
    n = 4000
    # The fewest 5xx among n requests that put the canary's rate above the trigger with 99.9 % confidence.
    edge = next(x for x in range(n) if at_least(x, n, trigger) < 1 - ROLLBACK_CONFIDENCE)
    # A stable revision failing as often (10x the requests): no regression against it, only the trigger.
    stable = WindowMetrics(10 * n, 10 * edge, 100.0, 120.0)

    verdict, action = judged(WindowMetrics(n, edge, 100.0, 120.0), stable)
    assert verdict.rollback and action is Action.ROLLBACK
    assert f"above the {trigger * 100:g} % rollback trigger" in five_xx(verdict)

    verdict, action = judged(WindowMetrics(n, edge - 1, 100.0, 120.0), stable)
    assert not verdict.rollback and action is Action.HOLD, verdict.explanation
    assert "rollback trigger" not in verdict.explanation
    # The edge is sharp at these counts: one error less is still above the trigger at 99.8 % confidence.
    assert at_least(edge - 1, n, trigger) < 0.002


def test_a_pass_needs_the_95_percent_upper_bound_under_the_ceiling() -> None:
    ceiling = production_rollout().plan.criteria.max_5xx_rate
    errors = 3
    # The fewest requests with 3 5xx whose exact one-sided 95 % upper bound is under the ceiling.
    edge = next(n for n in range(errors + 1, 100_000) if at_most(errors, n, ceiling) < 1 - PASS_CONFIDENCE)
    # Stable fails at the canary's rate (100x the requests): neither a regression nor a trigger can decide.
    stable = WindowMetrics(100 * edge, 100 * errors, 100.0, 120.0)

    verdict, action = judged(WindowMetrics(edge, errors, 100.0, 120.0), stable)
    assert verdict.outcome is Outcome.PASS and action is Action.PROMOTE_ALLOWED, verdict.explanation

    verdict, action = judged(WindowMetrics(edge - 1, errors, 100.0, 120.0), stable)
    assert verdict.outcome is Outcome.INCONCLUSIVE and action is Action.HOLD  # it had data, and could not decide
    needs = f"{edge:,}".replace(",", " ")
    assert f"upper bound not under the {ceiling * 100:g} % ceiling, needs {needs} requests" in five_xx(verdict)
    # Sharp here too: at 94 % or 96 % the edge would be another count.
    assert at_most(errors, edge - 1, ceiling) < 0.06 and at_most(errors, edge, ceiling) > 0.04
