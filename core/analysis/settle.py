"""When an analysis window's Monitoring data may be judged: windows on whole points, and the rule "is it settled".

On Google Cloud a Cloud Run point covers a minute and becomes visible up to 180 s after it ends (the metrics
provider tells both: core.model.metrics.MetricsTiming). So a window is aligned to the provider's resolution (it
starts on a whole point and lasts whole points) and, when data can arrive late, it is judged only once settled:
it is read when it ends and again every `poll_s` (half a point, 30 s on Google) until

* two reads in a row give the same counts and every compared revision has requests (a revision with none may
  simply not be ingested yet), or
* a read after the delay bound has passed gives the same counts as the one before it (nothing more came in), or
  is the first read of the window (one missed while nobody watched: its data is whole by the provider's word).

A read after the bound that still differs from the one before it is PARTIAL: the counts kept moving past the point
where they should have stopped. A window the operator forces on before it settled is PARTIAL too. What a partial
window may decide is the judge's rule (`as_partial`, documented in core.analysis.judge).

Pure: numbers in, a decision out; the engine persists the last read (core.engine.steps.settle).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from core.analysis.judge import Outcome, Verdict

Counts = Mapping[str, tuple[int, int, int]]
"""Per compared revision: (requests, 5xx, timed requests), what a read of a window saw."""


class Settle(StrEnum):
    SETTLED = "settled"
    PARTIAL = "partial"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class SettleStep:
    """What to do after one read: judge it (settled or partial) or read again in `wait_s` seconds."""

    state: Settle
    why: str
    wait_s: float = 0.0


def aligned_window(start: datetime, window_s: int, resolution_s: int) -> tuple[datetime, datetime]:
    """The window that starts at `start` on the provider's points: from the next whole point, whole points long.

    A 10 s window on Google's 60 s points is a minute: a shorter one does not exist there.
    """
    if resolution_s <= 1:
        return start, start + timedelta(seconds=window_s)
    step = float(resolution_s)
    first = math.ceil(start.timestamp() / step - 1e-9) * step
    length = max(1, math.ceil(window_s / step - 1e-9)) * step
    begin = datetime.fromtimestamp(first, start.tzinfo or UTC)
    return begin, begin + timedelta(seconds=length)


def poll_s(resolution_s: int, bound_s: float) -> float:
    """Seconds between reads of a window that has not settled: half a point (30 s on Google), at least 1 s."""
    return max(1.0, min(resolution_s / 2.0, bound_s))


def settle(previous: Counts | None, previous_at: float | None, current: Counts, now: float, end: float,
           bound_s: float, resolution_s: int) -> SettleStep:
    """The rule (see the module doc) after a read of the window ending at `end` (epoch seconds) taken at `now`."""
    if bound_s <= 0:
        return SettleStep(Settle.SETTLED, "Monitoring has no ingestion delay")
    if previous is None and now >= end + bound_s:
        return SettleStep(Settle.SETTLED, f"first read {bound_s:g} s or more after the window ended")
    past_bound = previous_at is not None and previous_at >= end + bound_s
    if previous is not None and dict(current) == dict(previous):
        if current and all(c[0] > 0 for c in current.values()):
            return SettleStep(Settle.SETTLED, "the same counts on two reads")
        if past_bound:
            return SettleStep(Settle.SETTLED, f"nothing more arrived {bound_s:g} s after the window ended")
    elif past_bound:
        return SettleStep(Settle.PARTIAL, f"counts still moving {bound_s:g} s after the window ended")
    step = poll_s(resolution_s, bound_s)
    next_at = now + step
    if now < end + bound_s < next_at:
        next_at = end + bound_s  # one read exactly at the bound
    return SettleStep(Settle.WAIT, "counts may still grow", max(0.0, next_at - now))


def waiting_text(start: datetime, end: datetime, now: datetime) -> str:
    """What the deployment waits on while a window settles, e.g. "waiting for Monitoring to settle (minute 12:03,
    40 s)": the window's minute(s) and how long ago it ended."""
    last = end - timedelta(minutes=1)
    minutes = f"minute {start:%H:%M}" if end - start <= timedelta(minutes=1) else \
        f"minutes {start:%H:%M}–{last:%H:%M}"
    if start.second or end.second:  # not on whole minutes: a finer provider
        minutes = f"window {start:%H:%M:%S}–{end:%H:%M:%S}"
    return f"waiting for Monitoring to settle ({minutes}, {max(0, round((now - end).total_seconds()))} s)"


def as_partial(verdict: Verdict) -> Verdict:
    """A verdict on a partial window: a regression proven even on partial data stands (it rolls back); anything
    else holds the step, never a pass and never a failed window toward the streak."""
    if verdict.rollback:
        return verdict
    note = "partial window (Monitoring had not settled), not judged as evidence"
    return replace(verdict, outcome=Outcome.INCONCLUSIVE, explanation=f"{note}: {verdict.explanation}")
