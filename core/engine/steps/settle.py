"""Reading an analysis window once Cloud Monitoring's data has settled: windows on the provider's points, re-read on
later ticks until the counts stop growing (the rule: core.analysis.settle), each read persisted in the Rollout.

The last read (its counts and time) lives in `rollout.settling`, saved before the engine waits, so a console killed
between reads carries on from it; the window is judged once, when `analysis.analyse` records its verdict and
clears `settling` in the same save.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.analysis.settle import Settle, aligned_window, settle, waiting_text
from core.engine.context import StepContext
from core.engine.steps.load import keep_load
from core.engine.tick import Tick
from core.model.deployment import Deployment
from core.model.metrics import RevisionMetrics
from core.model.rollout import Rollout


def window(ctx: StepContext, deployment: Deployment, rollout: Rollout, window_s: int) -> tuple[datetime, datetime]:
    """The current analysis window: from `window_start`, on the metrics provider's points."""
    start = datetime.fromisoformat(rollout.window_start or ctx.ports.now().isoformat())
    timing = ctx.ports.metrics(deployment.environment).timing()
    return aligned_window(start, window_s, timing.resolution_s)


def current(ctx: StepContext, deployment: Deployment, end: datetime) -> bool:
    """Whether the window ending at `end` is under way or still settling, rather than one missed while nobody
    watched: until the provider's delay bound has passed since it ended (until it ends, without a delay)."""
    bound = ctx.ports.metrics(deployment.environment).timing().settle_bound_s
    return ctx.ports.now() < end + timedelta(seconds=bound)


def _counts(metrics: dict[str, RevisionMetrics], revisions: list[str]) -> dict[str, list[int]]:
    out = {}
    for revision in revisions:
        m = metrics.get(revision)
        out[revision] = [m.total, m.errors_5xx, m.latency.total if m.latency else 0] if m else [0, 0, 0]
    return out


def read(ctx: StepContext, deployment: Deployment, rollout: Rollout, start: datetime, end: datetime,
         revisions: list[str]) -> tuple[dict[str, RevisionMetrics], bool] | Tick:
    """The window's metrics and whether they are partial, once they may be judged; else the Tick that waits."""
    provider = ctx.ports.metrics(deployment.environment)
    timing = provider.timing()
    metrics = provider.revision_metrics(rollout.service, start, end)
    if not timing.delayed:
        return metrics, False
    now = ctx.ports.now()
    counts = _counts(metrics, revisions)
    last: dict[str, Any] | None = rollout.settling if (rollout.settling or {}).get("end") == end.isoformat() else None
    previous = {k: (v[0], v[1], v[2]) for k, v in last["counts"].items()} if last else None
    previous_at = datetime.fromisoformat(last["read_at"]).timestamp() if last else None
    step = settle(previous, previous_at, {k: (v[0], v[1], v[2]) for k, v in counts.items()}, now.timestamp(),
                  end.timestamp(), timing.settle_bound_s, timing.resolution_s)
    forced = rollout.overridden(f"analysis@{rollout.stage}")
    if step.state is Settle.WAIT and not forced:
        rollout.settling = {"end": end.isoformat(), "counts": counts, "read_at": now.isoformat(),
                            "reads": (last or {}).get("reads", 0) + 1}
        keep_load(ctx, deployment, rollout, end + (end - start))  # the next window runs while this one settles
        reason = waiting_text(start, end, now)
        if rollout.waiting_for == reason:
            ctx.save(deployment, rollout)  # the same words: wait() would not save the read
        return ctx.wait(deployment, rollout, reason, seconds=step.wait_s)
    rollout.settling = None  # saved with the verdict
    return metrics, step.state is not Settle.SETTLED

