"""From verdicts to a decision: promote, hold or roll back; and the history of one canary step's windows.

A trigger firing, or a regression proven by a test built for repeated looks (core.analysis.sequential),
rolls back at once. Otherwise `triggers.consecutive_failed_windows` failed windows in a
row roll back; an INCONCLUSIVE or NO_DATA window between them neither counts as a pass nor resets the
streak (a canary that fails, goes quiet and fails again has failed twice). Promotion is allowed only while the latest
window passes. The decision is sticky: re-evaluating the same verdicts gives the same answer, so an
engine restarted mid-step decides exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.analysis.judge import DEFAULT_SETTINGS, JudgeSettings, Outcome, Verdict, judge_window
from core.analysis.metrics import WindowMetrics, pool
from core.analysis.sequential import StepEvidence
from core.analysis.settle import as_partial
from core.config import RollbackTriggers, ValidationCriteria
from core.errors import BadInput


class Action(StrEnum):
    """What the judge lets the engine do next."""

    PROMOTE_ALLOWED = "promote_allowed"
    HOLD = "hold"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class Decision:
    """The action, a one-line explanation, the current failure streak and the verdict that decided."""

    action: Action
    explanation: str
    failed_streak: int
    windows: int
    verdict: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action.value, "explanation": self.explanation, "failed_streak": self.failed_streak,
                "windows": self.windows, "verdict": self.verdict.to_dict() if self.verdict else None}


def evaluate_deployment(windows: Sequence[Verdict], triggers: RollbackTriggers) -> Decision:
    """The decision after these window verdicts, oldest first (see the module doc for the rules)."""
    needed = triggers.consecutive_failed_windows
    streak = 0
    first_failed = 0
    for index, verdict in enumerate(windows, start=1):
        if verdict.rollback:
            proven = bool(verdict.reasons) and all(c.sequential for c in verdict.reasons if c.rollback)
            why = " (regression proven)" if proven else ""
            return Decision(Action.ROLLBACK, f"rollback: a rollback trigger fired in window {index}{why}: "
                            f"{verdict.explanation}", streak + 1, index, verdict)
        if verdict.outcome is Outcome.FAIL:
            streak += 1
            first_failed = first_failed or index
            if streak >= needed:
                span = f"windows {first_failed}–{index}" if index > first_failed else f"window {index}"
                return Decision(Action.ROLLBACK, f"rollback: {streak} failed windows in a row ({span}): "
                                f"{verdict.explanation}", streak, index, verdict)
        elif verdict.outcome is Outcome.PASS:
            streak, first_failed = 0, 0
    if not windows:
        return Decision(Action.HOLD, "hold: no analysis window has been judged yet", 0, 0)
    last = windows[-1]
    if last.outcome is Outcome.PASS:
        return Decision(Action.PROMOTE_ALLOWED, f"promote allowed: {last.explanation}", 0, len(windows), last)
    so_far = f" ({streak} of {needed} failed windows before a rollback)" if streak else ""
    return Decision(Action.HOLD, f"hold{so_far}: {last.explanation}", streak, len(windows), last)


class AnalysisHistory:
    """The windows of one canary step, each judged on all the evidence so far (or the last `lookback`).

    Pooling is what lets a quiet service reach a verdict at all: 5 requests per window are judged
    once ten windows hold the 50 the criteria ask for, instead of ten NO_DATA windows. It also lets
    a small regression (0.2 % -> 0.6 %) become significant, which no single window of a few hundred
    requests can show. Keep one history per step: a new traffic weight starts new evidence.
    Only the raw windows are state (`to_dict`), so a restarted engine rebuilds the same verdicts.
    The sequential tests always see every window of the step (`lookback` limits the pooled checks only).
    """

    def __init__(self, criteria: ValidationCriteria, triggers: RollbackTriggers, *,
                 settings: JudgeSettings = DEFAULT_SETTINGS, lookback: int | None = None,
                 windows: Iterable[tuple[WindowMetrics, WindowMetrics]] = (), partial: Iterable[int] = ()) -> None:
        if lookback is not None and (isinstance(lookback, bool) or lookback < 1):
            raise BadInput(f"The analysis lookback must be at least 1 window, got {lookback!r}.")
        self.criteria, self.triggers, self.settings, self.lookback = criteria, triggers, settings, lookback
        self._windows: list[tuple[WindowMetrics, WindowMetrics]] = []
        self._verdicts: list[Verdict] = []
        self._evidence = StepEvidence()
        self._running: tuple[WindowMetrics, WindowMetrics] | None = None  # the pool so far, while it can be added to
        self._partial: set[int] = set()  # indexes of windows judged before Monitoring settled
        marked = set(partial)
        for index, (canary, stable) in enumerate(windows):
            self.add(canary, stable, partial=index in marked)

    def add(self, canary: WindowMetrics, stable: WindowMetrics, *, partial: bool = False) -> Verdict:
        """Record one window's metrics and judge the pooled evidence; a `partial` window (judged before Monitoring
        settled) can roll back on a proven regression but never pass (core.analysis.settle.as_partial)."""
        if partial:
            self._partial.add(len(self._windows))
        self._windows.append((canary, stable))
        evidence = self._evidence.add(canary, stable)
        span = self._windows[-self.lookback:] if self.lookback else self._windows
        canary_pool, stable_pool = self._pool(span, canary, stable)
        verdict = judge_window(canary_pool, stable_pool, self.criteria, self.triggers,
                               settings=self.settings, windows=len(span), evidence=evidence)
        if partial:
            verdict = as_partial(verdict)
        self._verdicts.append(verdict)
        return verdict

    def _pool(self, span: list[tuple[WindowMetrics, WindowMetrics]], canary: WindowMetrics,
              stable: WindowMetrics) -> tuple[WindowMetrics, WindowMetrics]:
        """The span pooled. Windows with histograms pool associatively, so a step without lookback adds the new
        window to the running pool instead of summing every window again (a long hold stays cheap)."""
        exact = all(w.latency is not None or not w.requests for w in (canary, stable))
        if self.lookback is None and exact and self._running is not None:
            self._running = (pool([self._running[0], canary]), pool([self._running[1], stable]))
            return self._running
        pooled = pool(c for c, _ in span), pool(s for _, s in span)
        self._running = pooled if self.lookback is None and all(
            w.latency is not None or not w.requests for pair in span for w in pair) else None
        return pooled

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(self._verdicts)

    @property
    def windows(self) -> tuple[tuple[WindowMetrics, WindowMetrics], ...]:
        return tuple(self._windows)

    def decision(self) -> Decision:
        return evaluate_deployment(self._verdicts, self.triggers)

    def to_dict(self) -> dict[str, Any]:
        return {"lookback": self.lookback,
                "windows": [{"canary": c.to_dict(), "stable": s.to_dict(), **({"partial": True} if i in self._partial
                                                                              else {})}
                            for i, (c, s) in enumerate(self._windows)]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], criteria: ValidationCriteria, triggers: RollbackTriggers, *,
                  settings: JudgeSettings = DEFAULT_SETTINGS) -> AnalysisHistory:
        windows = [(WindowMetrics.from_dict(w["canary"]), WindowMetrics.from_dict(w["stable"]))
                   for w in data.get("windows", [])]
        partial = [i for i, w in enumerate(data.get("windows", [])) if w.get("partial")]
        return cls(criteria, triggers, settings=settings, lookback=data.get("lookback"), windows=windows,
                   partial=partial)
