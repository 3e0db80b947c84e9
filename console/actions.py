"""The console's one registry of actions: bindings, footer, command palette and help are all derived from it.

An operator action names the engine function it calls (the same one the CLI calls), whether it asks
for a value first, its effect in core's words (core.model.effects: the sentence the confirmation shows, and
whether production wants its name typed), and when it makes no sense right now (the reason the action panel
shows). The engine stays the authority: these checks only explain in
advance what the engine would refuse anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from textual.binding import Binding

from core.model.actions import READS_ONLY, ActionState, available_actions
from core.model.deployment import Deployment
from core.model.effects import Confirm, Effect, effect_of, traffic_now
from core.model.rollout import Rollout

if TYPE_CHECKING:  # the engine (and the providers it imports) loads after the first frame (console/startup.py)
    from core.engine import Engine

Ask = Literal["percent", "reason", "override"]


@dataclass(frozen=True)
class Situation:
    """What the checks look at: the selected environment, its running deployment, and what the model allows.

    `refused` is the access gate's sentence when this console may change nothing here (read-only, or an operator
    not on the allow-list), with its fix: it greys out every action that changes something, the wizard's too."""

    environment: str
    active: Deployment | None
    refused: str | None = None
    shown: Deployment | None = None  # the active deployment, else the last finished one (what `detail` opens)
    recovery: bool = False  # the composition root gave the app recovery's providers
    actions: Mapping[str, ActionState] = field(default_factory=dict)  # core.model.actions, asked by the app


@dataclass(frozen=True)
class Done:
    """What an action did, in one sentence for the toast; `ok` False shows it as a warning (a failed check)."""

    message: str
    ok: bool = True
    refused: str | None = None  # the engine's refusal when an override could get past it ("promote anyway")


Run = Callable[["Engine", str, str], Done]  # (engine, environment, answer typed in the modal)
Check = Callable[[Situation], str | None]  # the reason the action makes no sense now, or None


@dataclass(frozen=True)
class OpsAction:
    """One thing the operator can do. `action` is the Textual action string the binding and palette run."""

    id: str
    keys: str
    title: str
    description: str
    action: str
    run: Run | None = None  # the engine call; None for console-only actions (help, refresh, quit)
    ask: Ask | None = None
    confirms: bool = False  # says its effect and asks for a confirmation where the gate wants one (as the CLI does)
    drives: bool = True  # after the call, carry the deployment on until it ends or needs the operator
    check: Check | None = None
    footer: bool = False  # in the footer: help and the screens; the operator's actions are in the action panel
    panel: bool = False  # listed in the action panel (what the operator does to the environment)
    changes: bool = False  # changes things although the console runs it itself (the deploy wizard)

    @property
    def changes_things(self) -> bool:
        """Runs an engine call (or the wizard) that changes something: the model's READS_ONLY (verify) do not."""
        return (self.run is not None or self.changes) and self.id not in READS_ONLY

    def unavailable(self, situation: Situation) -> str | None:
        if self.changes_things and situation.refused is not None:
            return situation.refused
        return self.check(situation) if self.check else None

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.title, id=self.id, show=self.footer)

    def effect_of(self, environment: str, active: Deployment | None, answer: str) -> Effect | None:
        """What it will do, in core's words (None: an action that is not confirmed)."""
        if not self.confirms:
            return None
        return effect_of(self.id, environment, active, percent=int(answer) if self.ask == "percent" else None)

    def preview(self, environment: str, active: Deployment | None) -> str:
        """What the question shows above itself: where traffic stands before a weight is asked, else the effect."""
        if self.ask == "percent":
            return traffic_now(environment, active) if active is not None and "rollout" in active.metadata else ""
        effect = self.effect_of(environment, active, "")
        return effect.sentence if effect is not None else ""

    def owed(self, effect: Effect | None, confirmed_environment: bool) -> Confirm:
        """The confirmation still owed after the question. A reason typed under the effect (a rollback's, an
        override's) is that confirmation: one dialog in an incident, and "promote anyway" asks only the reason."""
        if effect is None or self.ask in ("reason", "override"):
            return Confirm.NONE
        return effect.confirmation(confirmed_environment)


# -- checks: the model's answer (core.model.actions), or the console's own for screens it opens ---------

def _model(action: str) -> Check:
    """The model's reason `action` cannot run now; a promote that only an override could get past stays
    enabled, so pressing it explains the check and offers "promote anyway"."""
    def check(s: Situation) -> str | None:
        state = s.actions.get(action)
        if state is None or state.overridable:
            return None
        return state.unavailable
    return check


def _idle(s: Situation) -> str | None:
    """The model's deploy rule without this console's access: the wizard may pick another environment."""
    return available_actions(s.environment, s.active, requires_approval=False)["deploy"].unavailable


def _anything(s: Situation) -> str | None:
    return None if s.shown is not None else f"{s.environment} has no deployment yet"


def _recovery_wired(s: Situation) -> str | None:
    return None if s.recovery else "recovery needs the console's providers: open it with opsconsole ui"


# -- engine calls (the same functions as console/deploy_commands.py), each importing it when it runs ------

def _approve(engine: Engine, env: str, _: str) -> Done:
    from core.engine import approve

    approve(engine, env)
    return Done(f"{env}: approved by {engine.operator}")


def _promote(engine: Engine, env: str, _: str) -> Done:
    from core.engine import PromotionBlocked, promote

    try:
        rollout = Rollout.of(promote(engine, env))
    except PromotionBlocked as refused:
        return Done(str(refused), ok=False, refused=str(refused))  # the app offers "promote anyway"
    return Done(f"{env}: promote to {rollout.step_name(rollout.approved_through)} requested")


def _promote_anyway(engine: Engine, env: str, reason: str) -> Done:
    from core.engine import promote

    rollout = Rollout.of(promote(engine, env, override=reason))
    return Done(f"{env}: promote to {rollout.step_name(rollout.approved_through)} requested with an override by "
                f"{engine.operator}: {reason}")


def _set_weight(engine: Engine, env: str, answer: str) -> Done:
    from core.engine import set_weight

    set_weight(engine, env, int(answer))
    return Done(f"{env}: weight {int(answer)} % requested")


def _pause(engine: Engine, env: str, _: str) -> Done:
    from core.engine import pause

    pause(engine, env)
    return Done(f"{env}: paused (the judge keeps watching)")


def _resume(engine: Engine, env: str, _: str) -> Done:
    from core.engine import resume

    resume(engine, env)
    return Done(f"{env}: resumed")


def _roll_back(engine: Engine, env: str, reason: str) -> Done:
    from core.engine import roll_back

    return Done(roll_back(engine, env, reason).describe(env))


def _verify(engine: Engine, env: str, _: str) -> Done:
    from core.engine import verify

    report = verify(engine, env)
    return Done(f"{env}: {report.target.revision}: {report.summary}", ok=report.passed)


ACTIONS: tuple[OpsAction, ...] = (
    OpsAction("deploy", "d", "Deploy", "Deploy component versions with the wizard: environment, versions, strategy, "
              "plan preview, confirmation.", "app.deploy", changes=True, check=_idle, panel=True),
    OpsAction("approve", "a", "Approve", "Approve the waiting deployment (allowed operators only).",
              "app.ops('approve')", _approve, confirms=True, check=_model("approve"),
              panel=True),
    OpsAction("promote", "p", "Promote", "Move the deployment to its next step (next canary weight, or the "
              "frontend promotion).", "app.ops('promote')", _promote, confirms=True, check=_model("promote"),
              panel=True),
    OpsAction("promote-anyway", "P", "Promote anyway", "Promote past a failed check or a holding judge; asks for "
              "the reason, which is recorded with your name.", "app.ops('promote-anyway')", _promote_anyway,
              ask="override", confirms=True, check=_model("promote-anyway")),
    OpsAction("set-weight", "w", "Set weight", "Put a percentage of traffic on the new revision by hand; the judge "
              "keeps watching.", "app.ops('set-weight')", _set_weight, ask="percent", confirms=True,
              check=_model("set-weight"), panel=True),
    OpsAction("pause", "space", "Pause", "Hold the deployment at its current step; the judge can still roll back.",
              "app.ops('pause')", _pause, check=_model("pause"), panel=True),
    OpsAction("resume", "r", "Resume", "Carry on a paused deployment.", "app.ops('resume')", _resume,
              check=_model("resume"), panel=True),
    OpsAction("rollback", "b", "Roll back", "Roll back the running deployment (or the WebSocket server to its "
              "previous revision); asks for the reason, which is recorded.", "app.ops('rollback')", _roll_back,
              ask="reason", confirms=True, check=_model("rollback"), panel=True),
    OpsAction("verify", "v", "Verify", "Run the environment's required checks on the new revision, or on what "
              "serves now.", "app.ops('verify')", _verify, drives=False, check=_model("verify"), panel=True),
    OpsAction("detail", "i,enter", "Details", "The selected environment's deployment: stages with timings, "
              "analysis windows, verification report and log.", "app.detail", check=_anything, footer=True),
    OpsAction("history", "h", "History", "Every deployment in the registry, newest first, with filters; enter "
              "opens one.", "app.history", footer=True),
    OpsAction("recover", "x", "Recover", "Incident recovery for the selected environment: evidence, classification, "
              "its runbook step by step with confirmation (a dry run in a read-only console).", "app.recover",
              panel=True, check=_recovery_wired),
    OpsAction("infra", "I", "Infrastructure", "The Terraform state of the selected environment: plan, review, "
              "apply.", "app.infra", changes=True, panel=True),
    OpsAction("reports", "o", "Reports", "DORA figures, success and rollback rates, rollback causes, duration "
              "trends and the timeline.", "app.reports", footer=True),
    OpsAction("refresh", "ctrl+r,f5", "Pause refresh", "Stop or restart the live refresh (the indicator at the "
              "top says which).", "app.toggle_refresh"),
    OpsAction("select-dev", "1", "Show dev", "Select the dev environment.", "app.select('dev')"),
    OpsAction("select-staging", "2", "Show staging", "Select the staging environment.", "app.select('staging')"),
    OpsAction("select-production", "3", "Show production", "Select the production environment.",
              "app.select('production')"),
    OpsAction("help", "question_mark,f1", "Help", "Show this help: every key and what it does.", "app.help",
              footer=True),
    OpsAction("quit", "q", "Quit", "Leave the console; deployments keep their state in the registry.", "app.quit",
              footer=True),
)

BY_ID: dict[str, OpsAction] = {a.id: a for a in ACTIONS}
OPERATOR_ACTIONS: tuple[OpsAction, ...] = tuple(a for a in ACTIONS if a.panel)  # the action panel's rows


def bindings() -> list[Binding]:
    """The main screen's bindings, one per action, each with its id so the config's keymap can rebind it; help's
    first, so the footer begins with `?` at every width."""
    return [a.binding() for a in sorted(ACTIONS, key=lambda a: a.id != "help")]


def keys_for(action: OpsAction, keymap: dict[str, str]) -> str:
    """The keys as the operator sees them, after the configured keymap."""
    keys = keymap.get(action.id, action.keys)
    return ", ".join(k.replace("question_mark", "?") for k in keys.split(","))
