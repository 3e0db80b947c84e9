"""Which operator actions an environment allows right now, and why not: asked by the engine, the CLI and the console.

The engine refuses with exactly these words, the console greys out its keys with them and the CLI prints
them, so the three can never disagree about what may happen next.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model.deployment import Deployment
from core.model.rollout import Rollout

OPERATOR_ACTIONS = ("deploy", "approve", "promote", "promote-anyway", "set-weight", "pause", "resume", "rollback",
                    "verify")
READS_ONLY = frozenset({"verify"})  # actions that change nothing: no access needed


@dataclass(frozen=True)
class ActionState:
    """One action's availability: `unavailable` is the one-sentence reason it cannot run now (None: it can).

    `overridable` marks a promote refused only by checks that an override reason gets past (a failed
    verification, a judge that holds), so the console can offer "promote anyway".
    """

    action: str
    unavailable: str | None = None
    overridable: bool = False

    @property
    def available(self) -> bool:
        return self.unavailable is None


@dataclass(frozen=True)
class FourEyes:
    """An environment whose approver may not be the person who deployed: who is asking, and who else may approve."""

    operator: str
    approvers: tuple[str, ...] = ()  # everyone the allow-list names (the deployer is left out when told)

    def refusal(self, environment: str, active: Deployment) -> str | None:
        if self.operator != active.actor:
            return None
        others = [name for name in self.approvers if name != active.actor]
        who = ", ".join(others) if others else "another person on its allow-list"
        return f"{environment} needs a second person: {active.actor} deployed {active.id}, so {who} must approve it"


def available_actions(environment: str, active: Deployment | None, *, requires_approval: bool,
                      refused: str | None = None, four_eyes: FourEyes | None = None) -> dict[str, ActionState]:
    """Every operator action on `environment` given its running deployment (None: nothing runs).

    `refused` is why this operator may change nothing here (read-only console, not on the allow-list); it
    wins over every other reason for the actions that change something. `four_eyes`, when the environment
    asks for a distinct approver, refuses the approval to the person who deployed.
    """
    rollout = Rollout.of(active) if active is not None and "rollout" in active.metadata else None
    reasons = {action: _reason(action, environment, active, rollout, requires_approval)
               for action in OPERATOR_ACTIONS}
    if four_eyes is not None and active is not None and reasons["approve"][0] is None:
        reasons["approve"] = (four_eyes.refusal(environment, active), False)
    states = {}
    for action, (why, overridable) in reasons.items():
        if refused is not None and action not in READS_ONLY:
            why, overridable = refused, False
        states[action] = ActionState(action, why, overridable)
    return states


def _reason(action: str, env: str, active: Deployment | None, rollout: Rollout | None,
            requires_approval: bool) -> tuple[str | None, bool]:
    if action == "deploy":
        return (None if active is None else
                f"{env} already has deployment {active.id} ({active.status}, started by {active.actor}); finish, "
                "abort or roll it back first",
                False)
    if action in ("rollback", "verify"):
        return None, False  # with nothing running, a component goes back / what serves is verified
    if active is None:
        return f"{env} has no deployment in progress", False
    if rollout is None:
        return "this deployment has no rollout status to act on", False
    if action == "approve":
        if not requires_approval:
            return f"{env} needs no approval", False
        if rollout.approval is not None:
            return f"already approved by {rollout.approval.get('actor', 'someone')}", False
        return None, False
    if action in ("promote", "promote-anyway"):
        if requires_approval and rollout.approval is None:
            return f"{env} needs an approval first", False
        if rollout.next_step() is None:
            return "no step waits for the operator; it runs on its own", False
        blockers = rollout.promotion_blockers()
        if blockers and action == "promote":
            return f"not promoting {env}: {blockers[0][1]}; give an override reason to promote anyway", True
        return None, False
    if action == "set-weight":
        if not rollout.new_revision or rollout.routed_stage < 0:
            return "no traffic has moved yet; promote first", False
        return None, False
    if action == "pause":
        return ("already paused" if rollout.paused else None), False
    if action == "resume":
        return (None if rollout.paused else "not paused"), False
    raise ValueError(f"unknown operator action {action!r}")
