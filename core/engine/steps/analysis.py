"""Canary analysis: every window that has passed is judged (one per tick); roll back, hold, or let the step go."""

from __future__ import annotations

from core.analysis import Action, WindowMetrics
from core.analysis.streams import Stream
from core.engine.context import StepContext
from core.engine.steps import settle
from core.engine.steps.load import keep_load
from core.engine.steps.probes import probe
from core.engine.steps.rollback import roll_back
from core.engine.tick import Tick
from core.model.deployment import Deployment
from core.model.events import Note, VerdictReached
from core.model.metrics import RevisionMetrics
from core.model.rollout import Rollout

UNDECIDED_AFTER_S = 1800
"""A step the judge has not decided after its planned windows, or this long, is said out loud (once)."""


def observe(ctx: StepContext, deployment: Deployment, rollout: Rollout) -> Tick:
    stage = rollout.current
    assert stage is not None
    return analyse(ctx, deployment, rollout, stage.monitoring.window_s if stage.monitoring else 60)


def advance(ctx: StepContext, deployment: Deployment, rollout: Rollout, reason: str) -> Tick:
    """Finish this stage, unless paused or the next one waits for the operator (then keep watching this one)."""
    if rollout.paused:
        return ctx.wait(deployment, rollout, f"{reason}; paused by the operator, resume to continue",
                        operator=True)
    following = rollout.stage + 1
    if following < len(rollout.plan.stages) and rollout.plan.stages[following].needs_operator \
            and rollout.approved_through < following:
        target = rollout.plan.stages[following]
        what = f"{target.traffic_percent} %" if target.traffic_percent is not None else target.name
        return ctx.wait(deployment, rollout, f"{reason}; promote to {what} when ready "
                        f"(opsconsole promote {deployment.environment})", operator=True)
    ctx.finish_stage(deployment, rollout)
    return Tick("progressed", reason)


def _window(m: RevisionMetrics | None) -> WindowMetrics:
    if m is None or not m.total:
        return WindowMetrics(0, 0)
    # The distribution, when Monitoring gave one, is what the judge pools; the percentiles come with it.
    if m.latency is not None:
        return WindowMetrics(m.total, m.errors_5xx, latency=m.latency)
    return WindowMetrics(m.total, m.errors_5xx, m.p50_ms, m.p99_ms)


def analyse(ctx: StepContext, deployment: Deployment, rollout: Rollout, window_s: int) -> Tick:
    """Judge every analysis window that has passed (one per tick); roll back, hold, or let the next step go.

    Windows are read from metric history, so a console that was away (or killed) judges the windows it
    missed before anything else: an automatic rollback never waits for someone to be watching.
    """
    env = deployment.environment
    if rollout.weight == 0 and rollout.new_revision:
        # Nothing reaches the new revision, so no window can be judged: the next move is the operator's.
        return ctx.wait(deployment, rollout, f"0 % on {rollout.new_revision}: set a weight, promote or roll "
                        f"back (opsconsole set-weight {env} N)", operator=True)
    probed = probe(ctx, deployment, rollout, window_s)  # the second stream: it never waits for Monitoring
    if probed is not None:
        return probed
    start, end = settle.window(ctx, deployment, rollout, window_s)  # on the provider's points (whole minutes on Google)
    # The window under way, or still settling (not one missed while nobody watched), is the present: the last decision
    # stands until it is judged. Waiting ticks reuse the decision recorded with the last judged window of this step
    # instead of replaying (and re-judging) every window: a long hold stays cheap.
    judged = bool(rollout.analysis.get("windows")) and bool(rollout.verdicts)
    last = rollout.verdicts[-1] if judged else None
    overridden = rollout.overridden(f"analysis@{rollout.stage}")
    if settle.current(ctx, deployment, end) and last is not None and last["action"] == Action.PROMOTE_ALLOWED.value:
        return advance(ctx, deployment, rollout, last["decision"])
    if ctx.ports.now() < end:
        if overridden:  # an ended window is judged first, as partial data (settle.read)
            return advance(ctx, deployment, rollout, "promoted by override")
        reason = f"observing {rollout.weight} % until {end:%H:%M:%S}" + (f"; {last['decision']}" if last else "")
        if rollout.undecided_told == rollout.stage:
            reason += "; undecided for longer than planned: promote with a reason or roll back"
        keep_load(ctx, deployment, rollout, end)
        return ctx.wait(deployment, rollout, reason, seconds=(end - ctx.ports.now()).total_seconds())
    history = rollout.history((end - start).total_seconds())
    compare = rollout.weight < 100 and rollout.stable_revision
    # Judged once Monitoring has settled (re-read on later ticks until then), or marked partial.
    read = settle.read(ctx, deployment, rollout, start, end,
                       [rollout.new_revision or "", *([rollout.stable_revision or ""] if compare else [])])
    if isinstance(read, Tick):
        return read
    metrics, partial = read  # an override before it settled: partial, judged once, then the step moves on
    canary = _window(metrics.get(rollout.new_revision or ""))
    stable = _window(metrics.get(rollout.stable_revision or "")) if compare else WindowMetrics(0, 0)
    verdict = history.add(canary, stable, partial=partial)
    decision = history.decision()
    rollout.analysis = history.to_dict()
    rollout.window_start = end.isoformat()
    rollout.verdicts.append({"at": end.isoformat(), "weight": rollout.weight, "action": decision.action.value,
                             "decision": decision.explanation, "stream": Stream.MONITORING.value,
                             **verdict.to_dict(), **({"partial": True} if partial else {})})
    ctx.save(deployment, rollout)  # judged once: a console killed from here on finds this window done
    ctx.record(deployment, "note", "analysis window", {"weight": rollout.weight, "outcome": verdict.outcome.value,
                                                       "decision": decision.explanation,
                                                       "window_end": end.isoformat()})
    ctx.emit(VerdictReached(deployment.id, env, end, verdict.outcome.value, decision.action.value,
                            decision.explanation))
    if decision.action is Action.ROLLBACK:
        cause = "canary judge: " + decision.explanation.removeprefix("rollback: ")
        return roll_back(ctx, deployment, rollout, cause, "engine")
    if overridden and partial:
        return advance(ctx, deployment, rollout, "promoted by override")
    watched = len(history.windows)
    if decision.action is Action.HOLD and rollout.undecided_told < rollout.stage and watched >= 2 \
            and (watched >= history.settings.planned_windows or watched * window_s >= UNDECIDED_AFTER_S):
        _tell_undecided(ctx, deployment, rollout, watched * window_s, decision.explanation)
    ctx.save(deployment, rollout)
    return Tick("progressed", decision.explanation)


def _tell_undecided(ctx: StepContext, deployment: Deployment, rollout: Rollout, seconds: int, decision: str) -> None:
    """A step the judge could not decide in its planned windows is said out loud, once: holding is never silent.

    The judge keeps watching (a later pass still promotes, a proven fault still rolls back); the person on call
    learns the canary is stuck and why, and what they can do about it.
    """
    env = deployment.environment
    text = (f"{env} canary at {rollout.weight} % undecided after {_duration(seconds)} of analysis "
            f"({decision.removeprefix('hold: ')}); promote with a reason (opsconsole promote {env} --override "
            f"REASON) or roll back (opsconsole rollback {env} --reason REASON)")
    rollout.undecided_told = rollout.stage
    ctx.record(deployment, "note", "judge undecided", {"weight": rollout.weight, "seconds": seconds,
                                                       "decision": decision})
    ctx.emit(Note(deployment.id, env, ctx.ports.now(), text))
    ctx.notify(deployment, text, severity="warning")


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "") if minutes else f"{rest} s"
