"""What an operator action will do, in one sentence, and how it must be confirmed: asked by the CLI and the console.

The sentence is read off the persisted `Rollout` (the step a promote lets run, the weight now, the stable
revision), so `opsconsole promote production` at a terminal and `p` in the console say the same words:
"production: canary 25 % → 50 % on ws:v2.5.0, stable websocket-server-00001-dtz keeps 50 %". A step that
lowers the canary says so ("lowers the canary from 90 % to 25 %"): after a weight set by hand, the plan's
next step may well be below it.

How to confirm follows from the effect (`Effect.confirmation`): a change that moves production forward
(deploy, approve, promote, a higher weight) wants the environment's name typed; one that takes traffic
away from the new revision (a rollback, a lower weight) is one confirmation, since an incident is no time
to type; elsewhere nothing is asked (the access gate says which environments confirm).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.model.deployment import Deployment
from core.model.plan import StageKind
from core.model.rollout import Rollout

SHORT_COMPONENT = {"websocket-server": "ws", "frontend": "frontend", "infrastructure": "infra"}
"""How a sentence names each component before its version: short enough to leave room for the numbers."""


class Confirm(StrEnum):
    NONE = "none"  # nothing is asked (an environment without confirmations)
    ONCE = "once"  # one confirmation that shows the sentence (enter / y)
    TYPED = "typed"  # the environment's name typed under the sentence


@dataclass(frozen=True)
class Effect:
    """One action's effect on one environment: the sentence the operator confirms, and whether it moves forward."""

    environment: str
    action: str
    sentence: str
    forward: bool  # puts more of the release in front of users (so production wants its name typed)

    def confirmation(self, confirmed_environment: bool) -> Confirm:
        """How to confirm this effect where `confirmed_environment` says the environment confirms its changes
        (core.access.AccessGate.needs_confirmation)."""
        if not confirmed_environment:
            return Confirm.NONE
        return Confirm.TYPED if self.forward else Confirm.ONCE


def version_label(component: str, version: str) -> str:
    """'ws:v2.5.0' from websocket-server and '.../websocket-server:v2.5.0' (an untagged image keeps its name);
    a frontend's git ref or an infrastructure version is kept whole ('frontend:release/2.0')."""
    if component == "websocket-server":
        last = version.rsplit("/", 1)[-1]
        version = last.rsplit(":", 1)[-1] if ":" in last else last
    return f"{SHORT_COMPONENT.get(component, component)}:{version}"


def versions_label(versions: Mapping[str, str]) -> str:
    return ", ".join(version_label(component, version) for component, version in versions.items())


def current_weight(rollout: Rollout) -> int:
    """The weight the operator last asked for: a weight set by hand but not yet applied counts as set."""
    return rollout.manual_weight if rollout.manual_weight is not None else rollout.weight


def traffic_now(environment: str, deployment: Deployment) -> str:
    """Where traffic stands, for a question asked before the effect is known (the weight to set)."""
    rollout = Rollout.of(deployment)
    weight = current_weight(rollout)
    stable = f", stable {rollout.stable_revision} {100 - weight} %" if rollout.stable_revision else ""
    return f"{environment} now: canary {weight} % on {_canary(deployment, rollout)}{stable}"


def effect_of(action: str, environment: str, active: Deployment | None, *, percent: int | None = None,
              component: str = "websocket-server", version: str | None = None,
              versions: Mapping[str, str] | None = None) -> Effect:
    """The effect of operator `action` (core.model.actions' names) on `environment` whose running deployment is
    `active`: `percent` for set-weight, `component` and `version` for a rollback with nothing running, `versions`
    for a deploy. With no
    rollout to read (the caller's view was behind), the sentence names the action and the engine says what is
    wrong; it is still confirmed as a forward change."""
    if action == "deploy" and versions:
        return deploy_effect(environment, versions)
    if action == "rollback":
        return rollback_effect(environment, active, component=component, version=version)
    if active is None or "rollout" not in active.metadata:
        return Effect(environment, action, f"{environment}: {action.replace('-', ' ')} with no rollout to act on",
                      forward=True)
    if action == "approve":
        return approve_effect(environment, active)
    if action in ("promote", "promote-anyway"):
        return promote_effect(environment, active)
    if action == "set-weight" and percent is not None:
        return set_weight_effect(environment, active, percent)
    raise ValueError(f"no effect to confirm for {action!r}")


def promote_effect(environment: str, deployment: Deployment) -> Effect:
    """What `promote` (or "promote anyway") lets run: the step `Rollout.next_step()` names."""
    rollout = Rollout.of(deployment)
    target = rollout.next_step()
    if target is None:
        return Effect(environment, "promote", f"{environment}: no step waits for a promote", forward=False)
    stage = rollout.plan.stages[target]
    percent = _weight_after(rollout, target)
    if percent is not None:
        return Effect(environment, "promote", _traffic_sentence(environment, deployment, rollout, percent),
                      forward=percent >= current_weight(rollout))
    if stage.kind is StageKind.PROMOTE_FRONTEND:
        was = f" (replacing {rollout.frontend_previous})" if rollout.frontend_previous else ""
        ref = version_label("frontend", rollout.frontend_ref or deployment.versions.get("frontend", "?"))
        build = f" ({rollout.frontend_new})" if rollout.frontend_new else ""
        return Effect(environment, "promote", f"{environment}: {ref}{build} becomes the production "
                      f"deployment{was}", forward=True)
    return Effect(environment, "promote", f"{environment}: {stage.name} runs next", forward=True)


def set_weight_effect(environment: str, deployment: Deployment, percent: int) -> Effect:
    rollout = Rollout.of(deployment)
    return Effect(environment, "set-weight", _traffic_sentence(environment, deployment, rollout, percent),
                  forward=percent > current_weight(rollout))


def approve_effect(environment: str, deployment: Deployment) -> Effect:
    rollout = Rollout.of(deployment)
    waiting = rollout.next_operator_stage()
    then = (f"{rollout.step_name(waiting)} then waits for a promote" if waiting is not None
            else "its steps then run on their own")
    return Effect(environment, "approve", f"{environment}: approve deployment {deployment.id} of "
                  f"{versions_label(deployment.versions)}; {then}", forward=True)


def deploy_effect(environment: str, versions: Mapping[str, str]) -> Effect:
    return Effect(environment, "deploy", f"{environment}: deploy {versions_label(versions)}", forward=True)


def rollback_effect(environment: str, deployment: Deployment | None, *, component: str = "websocket-server",
                    version: str | None = None) -> Effect:
    """A running deployment goes back to stable; with none, `component` goes to `version` (or the one before)."""
    if deployment is None:
        to = version or "its previous version"
        return Effect(environment, "rollback", f"{environment}: {component} back to {to}", forward=False)
    rollout = Rollout.of(deployment) if "rollout" in deployment.metadata else None
    if rollout is None or not rollout.new_revision or not rollout.stable_revision:
        return Effect(environment, "rollback", f"{environment}: roll back deployment {deployment.id} of "
                      f"{versions_label(deployment.versions)}", forward=False)
    sentence = (f"{environment}: roll back deployment {deployment.id}: all traffic to stable "
                f"{rollout.stable_revision}, {_canary(deployment, rollout)} loses its {current_weight(rollout)} %")
    if rollout.frontend_promoted and rollout.frontend_previous:
        sentence += f"; frontend back to {rollout.frontend_previous}"
    return Effect(environment, "rollback", sentence, forward=False)


# -- the sentence of a traffic change ----------------------------------------------------------------------

def _weight_after(rollout: Rollout, target: int) -> int | None:
    """The new revision's weight once stage `target` has run: the last traffic step up to it not yet routed."""
    first = rollout.stage + 1 if rollout.routed_stage >= rollout.stage else rollout.stage
    percents = [s.traffic_percent for s in rollout.plan.stages[first:target + 1] if s.traffic_percent is not None]
    return percents[-1] if percents else None


def _canary(deployment: Deployment, rollout: Rollout) -> str:
    image = rollout.image or deployment.versions.get("websocket-server") or rollout.new_revision or "the new revision"
    return version_label("websocket-server", image)


def _traffic_sentence(environment: str, deployment: Deployment, rollout: Rollout, percent: int) -> str:
    now, canary = current_weight(rollout), _canary(deployment, rollout)
    if percent > now:
        change = f"canary {now} % → {percent} % on {canary}"
    elif percent < now:
        change = f"lowers the canary from {now} % to {percent} % on {canary}"
    else:
        change = f"canary stays at {percent} % on {canary}"
    stable = rollout.stable_revision
    if stable is None:
        return f"{environment}: {change} (no stable revision to share with)"
    if percent >= 100:
        return f"{environment}: {change}, stable {stable} stops serving"
    verb = "keeps" if percent >= now else "goes back to"
    return f"{environment}: {change}, stable {stable} {verb} {100 - percent} %"
