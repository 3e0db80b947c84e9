"""The probe stream: each analysis window, a burst of the engine's own requests to the new and the stable revision's
tag URLs, judged like Monitoring's windows, so a regression it proves rolls back before Monitoring has the minute.

Why (core.analysis.streams): Cloud Monitoring serves a window a minute or more after it ends; a burst is read
the moment it ends. Why probes rather than the load tester (core.providers.probes): a Flagger load tester
reports nothing back. What the probes may do is streams.acts_on's rule: roll back, never pass or hold a step.

Windows follow the weight: one burst per `window_s` since the weight was put in place (`Rollout.routed_at`), at
the first analysis tick after each window ends; a console away for several windows probes once when it is back
(the past cannot be probed). The stream's state (`Rollout.probes`) is the compact windows of this weight and
the last look, rewritten with the rollout, so a restarted console judges exactly the same evidence. Not written
ahead: a burst changes nothing in the cloud. A prober that fails costs evidence, never the deployment: it is
said once, and tried again next window; so is a burst whose probes to stable failed too (streams.path_failed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.analysis import AnalysisHistory
from core.analysis.streams import (
    Stream,
    acts_on,
    compact,
    expand,
    named,
    path_failed,
    probe_settings,
    probe_window,
)
from core.engine.context import StepContext
from core.engine.steps.rollback import roll_back
from core.engine.tick import Tick
from core.errors import OpsError
from core.model.deployment import Deployment
from core.model.events import Note, VerdictReached
from core.model.rollout import Rollout
from core.strategies import probes_of


class ProbesNotPossible(OpsError):
    """The revisions cannot be probed (one has no URL of its own)."""


def probe(ctx: StepContext, deployment: Deployment, rollout: Rollout, window_s: int) -> Tick | None:
    """Probe both revisions if a window has ended since the last burst, judge the stream, and roll back if it
    proves a regression (that Tick); None when nothing was due or the probes decided nothing to act on."""
    env = deployment.environment
    settings = probes_of(ctx.environment(env).strategy)
    if settings is None or ctx.ports.prober is None or rollout.weight <= 0 or rollout.routed_at is None \
            or not (rollout.new_revision and rollout.stable_revision):
        return None
    state: dict[str, Any] = dict(rollout.probes) if rollout.probes.get("routed_at") == rollout.routed_at \
        else {"routed_at": rollout.routed_at, "looks": 0, "windows": []}
    now = ctx.ports.now()
    due = int((now - datetime.fromisoformat(rollout.routed_at)).total_seconds() // window_s)
    if due < 1 or due <= state["looks"]:
        return None
    state["looks"] = due
    rollout.probes = state
    try:
        prober = ctx.ports.prober(env)
        if prober is None:
            return None
        samples = prober.burst(_tag_urls(ctx, env, rollout), settings.requests, timeout_s=settings.timeout_s)
    except OpsError as exc:
        if not state.get("failed"):
            ctx.record(deployment, "note", "probes failed", {"error": str(exc)})
            ctx.emit(Note(deployment.id, env, now, f"probes not sent ({exc}); the judge goes on with Cloud "
                                                   "Monitoring only"))
        state["failed"] = True
        ctx.save(deployment, rollout)
        return None
    state["failed"] = False
    canary, stable = (samples[name] for name in (rollout.new_revision, rollout.stable_revision))
    if path_failed(stable.sent, stable.failures, rollout.plan.triggers.error_rate):
        if not state.get("set_aside"):
            text = (f"probes set aside: {stable.failures} of {stable.sent} to the stable revision failed too, so "
                    "the way to both failed, not the canary; the judge goes on with Cloud Monitoring")
            ctx.record(deployment, "note", "probes set aside", {"stable_failures": stable.failures,
                                                                "stable_sent": stable.sent})
            ctx.emit(Note(deployment.id, env, now, text))
        state["set_aside"] = True
        ctx.save(deployment, rollout)
        return None
    state["set_aside"] = False
    window = (probe_window(canary.sent, canary.failures, canary.latencies_ms),
              probe_window(stable.sent, stable.failures, stable.latencies_ms))
    state["windows"] = [*state["windows"], [compact(window[0]), compact(window[1])]]
    history = AnalysisHistory(rollout.plan.criteria, rollout.plan.triggers,
                              settings=probe_settings(rollout.judge_settings().for_window(window_s)),
                              windows=[(expand(c), expand(s)) for c, s in state["windows"]])
    verdict = history.verdicts[-1]
    decision = named(Stream.PROBES, history.decision())
    state["last"] = {"at": now.isoformat(), "outcome": verdict.outcome.value, "action": decision.action.value,
                     "decision": decision.explanation}
    if not acts_on(Stream.PROBES, decision):
        ctx.save(deployment, rollout)
        return None
    rollout.verdicts.append({"at": now.isoformat(), "weight": rollout.weight, "action": decision.action.value,
                             "decision": decision.explanation, "stream": Stream.PROBES.value, **verdict.to_dict()})
    ctx.record(deployment, "note", "probe window", {"weight": rollout.weight, "outcome": verdict.outcome.value,
                                                    "decision": decision.explanation})
    ctx.emit(VerdictReached(deployment.id, env, now, verdict.outcome.value, decision.action.value,
                            decision.explanation, Stream.PROBES.value))
    return roll_back(ctx, deployment, rollout, "canary judge: " + decision.explanation.removeprefix("rollback: "),
                     "engine")


def _tag_urls(ctx: StepContext, env: str, rollout: Rollout) -> dict[str, str]:
    """Each revision's own URL (its tag's), by revision name, as Cloud Run reports it now."""
    service = ctx.ports.cloudrun(env).get_service(rollout.service)
    urls = {}
    for name in (rollout.new_revision or "", rollout.stable_revision or ""):
        revision = service.revision(name)
        if revision is None or not revision.url:
            raise ProbesNotPossible(f"revision {name} has no URL of its own (no tag) to probe")
        urls[name] = revision.url
    return urls
