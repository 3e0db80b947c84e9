"""The judge's two evidence streams (core.analysis.streams): what a probe burst becomes, what each stream may decide,
and how a decision names the stream that proved it."""

from __future__ import annotations

import json
import random

from core.analysis import Action, AnalysisHistory, Decision, JudgeSettings
from core.analysis.streams import Stream, acts_on, compact, expand, named, path_failed, probe_settings, probe_window
from core.config import RollbackTriggers, ValidationCriteria


def test_a_burst_keeps_its_latencies_to_the_judges_resolution_and_its_failures_as_5xx() -> None:
    rng = random.Random(7)
    latencies = [rng.lognormvariate(3.55, 0.7) for _ in range(500)]  # p50 about 35 ms
    window = probe_window(520, 20, latencies)
    assert (window.requests, window.errors_5xx) == (520, 20)
    ordered = sorted(latencies)
    for q, exact in ((50, ordered[249]), (99, ordered[494])):
        read = window.latency.percentile(q) if window.latency else None
        assert read is not None and abs(read / exact - 1) < 0.1, (q, read, exact)
    assert probe_window(10, 10, []).latency is None, "no answer, no latency"


def test_a_step_of_probe_windows_is_kept_compact_and_read_back_the_same() -> None:
    rng = random.Random(3)
    windows = [probe_window(50, rng.randrange(3), [rng.lognormvariate(3.55, 0.7) for _ in range(50)])
               for _ in range(60)]
    kept = [compact(w) for w in windows]
    assert [expand(k) for k in json.loads(json.dumps(kept))] == windows
    assert len(json.dumps(kept)) < 60 * 400, "an hour of 1-minute probe windows stays a few kB in the rollout"


def test_probes_may_roll_back_but_only_monitoring_passes_or_holds_a_step() -> None:
    rollback = Decision(Action.ROLLBACK, "rollback: x", 1, 1)
    promote = Decision(Action.PROMOTE_ALLOWED, "promote allowed: x", 0, 1)
    hold = Decision(Action.HOLD, "hold: x", 0, 1)
    assert acts_on(Stream.PROBES, rollback)
    assert not acts_on(Stream.PROBES, promote) and not acts_on(Stream.PROBES, hold)
    assert all(acts_on(Stream.MONITORING, d) for d in (rollback, promote, hold))


def test_a_decision_from_the_probes_says_so_and_monitorings_reads_as_before() -> None:
    history = AnalysisHistory(ValidationCriteria(), RollbackTriggers(), settings=probe_settings(JudgeSettings()))
    history.add(probe_window(50, 20, [30.0] * 30), probe_window(50, 0, [30.0] * 50))
    decision = history.decision()
    assert decision.action is Action.ROLLBACK, "20 of 50 probes failing on the canary, none on stable"
    said = named(Stream.PROBES, decision).explanation
    assert said.startswith("rollback: in the engine's probes, ") and "canary 5xx 40.0 %" in said
    assert named(Stream.MONITORING, decision) == decision


def test_a_burst_that_failed_on_stable_too_failed_on_the_way() -> None:
    assert path_failed(50, 50, 0.05) and path_failed(50, 3, 0.05)
    assert not path_failed(50, 2, 0.05) and not path_failed(0, 0, 0.05)
