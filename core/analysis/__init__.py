"""Canary analysis: judge a canary window against the stable revision, and decide promote / hold / rollback.

    verdict = judge_window(canary, stable, criteria, triggers)     # one window (or a span)
    history = AnalysisHistory(criteria, triggers); history.add(canary, stable)  # a step, pooled
    decision = evaluate_deployment(history.verdicts, triggers)       # PROMOTE_ALLOWED / HOLD / ROLLBACK

Pure computation on numbers (standard library only): the engine maps provider metrics to WindowMetrics,
latency as a LatencyHistogram (bucket layout and counts, as Cloud Monitoring keeps a distribution).
"""

from core.analysis.history import Action, AnalysisHistory, Decision, evaluate_deployment
from core.analysis.judge import DEFAULT_SETTINGS, Check, JudgeSettings, Outcome, Verdict, judge_window
from core.analysis.latency import BucketLayout, InvalidHistogram, LatencyHistogram
from core.analysis.metrics import InvalidMetrics, WindowMetrics, pool

__all__ = [
    "DEFAULT_SETTINGS",
    "Action",
    "AnalysisHistory",
    "BucketLayout",
    "Check",
    "Decision",
    "InvalidHistogram",
    "InvalidMetrics",
    "JudgeSettings",
    "LatencyHistogram",
    "Outcome",
    "Verdict",
    "WindowMetrics",
    "evaluate_deployment",
    "judge_window",
    "pool",
]
