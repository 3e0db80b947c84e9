"""Synthetic load during canary analysis: the same rate to the canary's and the stable revision's own URLs.

Asked for once per analysis window, for the rest of that window (strategy.load_test; off unless configured).
Both revisions get the same extra rate at the same moment, so the judge still compares like with like, and
a 10 % step of a quiet service gets enough requests to be judged within a window or two.

Not written ahead: a run is transient and both sides get it alike, so a console killed after asking and asked
again on restart only adds the same rate to both for the rest of the window. A load tester that fails costs
evidence, never the deployment: it is said once, and asked again on the next window.
"""

from __future__ import annotations

from datetime import datetime

from core.engine.context import StepContext
from core.errors import OpsError
from core.model.deployment import Deployment
from core.model.events import Note
from core.model.rollout import Rollout
from core.strategies import load_test_of


def keep_load(ctx: StepContext, deployment: Deployment, rollout: Rollout, until: datetime) -> None:
    """Make sure synthetic load runs on both revisions until `until` (the end of the current window)."""
    if rollout.load_until is not None and datetime.fromisoformat(rollout.load_until) >= until:
        return
    env = deployment.environment
    test = load_test_of(ctx.environment(env).strategy)
    factory = ctx.ports.loadtester
    seconds = (until - ctx.ports.now()).total_seconds()
    if test is None or factory is None or seconds <= 0 or not 0 < rollout.weight < 100 \
            or not (rollout.new_revision and rollout.stable_revision):
        return
    rollout.load_until = until.isoformat()  # asked once per window, even when it fails
    try:
        tester = factory(env)
        if tester is None:
            return
        service = ctx.ports.cloudrun(env).get_service(rollout.service)
        revisions = {name: service.revision(name) for name in (rollout.new_revision, rollout.stable_revision)}
        urls = {name: revision.url if revision else "" for name, revision in revisions.items()}
        missing = [name for name, url in urls.items() if not url]
        if missing:
            raise LoadNotPossible(f"revision {missing[0]} has no URL of its own (no tag) to send load to")
        for name, url in urls.items():
            tester.start(url, test.rps, seconds, name=f"{deployment.id}-{name}")
    except OpsError as exc:
        if not rollout.load_failed:
            text = f"synthetic load not sent ({exc}); the judge goes on with real traffic only"
            ctx.record(deployment, "note", "load test failed", {"error": str(exc)})
            ctx.emit(Note(deployment.id, env, ctx.ports.now(), text))
        rollout.load_failed = True
    else:
        if rollout.load_failed:
            ctx.emit(Note(deployment.id, env, ctx.ports.now(), "synthetic load is running again"))
        rollout.load_failed = False
        ctx.record(deployment, "note", "load test", {"rps": test.rps, "until": until.isoformat(),
                                                     "revisions": list(urls)})
    ctx.save(deployment, rollout)


class LoadNotPossible(OpsError):
    """The revisions cannot be given synthetic load (one has no URL of its own)."""
