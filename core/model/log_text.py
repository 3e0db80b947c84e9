"""How a deployment's log reads to a person: status names in words, a traffic split by role, a registry step event
in one line, a CLI hint as the console's key, a stage of an ended deployment that never ran, and the judge's
headline once a deployment has ended.

The console's log and the detail screen ask these; the CLI keeps its own wording (and its hints), so a script
that reads `rolled_back` or `(opsconsole promote production)` today reads the same tomorrow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.model.deployment import TERMINAL_STATUSES, Deployment, DeploymentStatus, StageStatus, StepEvent
from core.model.events import EngineEvent, VerdictReached, WeightChanged

# The hint the engine appends to what it waits on: "(opsconsole promote production)",
# "(opsconsole promote production --override REASON)", "(opsconsole rollback production --reason ...)".
CLI_HINT = re.compile(r"\(opsconsole (?P<verb>[a-z-]+) (?P<env>[a-z0-9-]+)(?P<rest>[^()]*)\)")
VERB_ACTIONS = {"approve": "approve", "promote": "promote", "set-weight": "set-weight", "pause": "pause",
                "resume": "resume", "rollback": "rollback", "verify": "verify"}
ACTION_WORDS = {"approve": "approve", "promote": "promote", "promote-anyway": "promote anyway",
                "set-weight": "set the weight", "pause": "pause", "resume": "resume", "rollback": "roll back",
                "verify": "verify"}
# The order a registry event's detail is told in: the first one present says what the step did.
DETAIL_KEYS = ("decision", "summary", "reason", "cause", "error", "to", "split", "percent", "revision", "status")


def status_words(status: object) -> str:
    """`rolled_back` → `rolled back`, `no_data` → `no data`, `PROMOTE_ALLOWED` → `promote allowed`."""
    return str(status).replace("_", " ").lower()


def hint_as_key(text: str, keys: Mapping[str, str]) -> str:
    """The console's words for an engine sentence: each `(opsconsole VERB ENV ...)` becomes `(press K to VERB)` when
    the console has a key for that action (`keys`: action id → key as shown); other hints are left as they are."""
    def key_for(match: re.Match[str]) -> str:
        action = VERB_ACTIONS.get(match["verb"])
        if action == "promote" and "--override" in match["rest"]:
            action = "promote-anyway"
        key = keys.get(action or "")
        return match[0] if action is None or not key else f"(press {key} to {ACTION_WORDS[action]})"

    return CLI_HINT.sub(key_for, text)


def split_words(split: Mapping[str, Any], roles: Mapping[str, str]) -> str:
    """`candidate 90 % · stable 10 %`: each revision by its role in the deployment (`roles`: revision → role),
    a revision with no role by its name, in the split's order (the new revision first, as the engine routes)."""
    return " · ".join(f"{roles.get(name, name)} {share} %" for name, share in split.items())


def revision_roles(new_revision: str | None, stable_revision: str | None) -> dict[str, str]:
    """Revision name → its role in a deployment, for `split_words`."""
    roles = {name: role for name, role in ((stable_revision, "stable"), (new_revision, "candidate")) if name}
    return roles


def _value_words(key: str, value: Any, roles: Mapping[str, str]) -> str:
    if key == "split" and isinstance(value, Mapping):
        return split_words(value, roles)
    if key == "percent":
        return f"{value} %"
    if key == "status":
        return status_words(value)
    if key == "revision" and isinstance(value, str) and value in roles:
        return f"{roles[value]} {value}"
    if isinstance(value, Mapping):  # never a Python dict in a person's log: its pairs, in words
        return ", ".join(f"{status_words(k)} {_value_words(str(k), v, roles)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def detail_words(detail: Mapping[str, Any], roles: Mapping[str, str]) -> str:
    """What a step event's detail says, in words: its first telling field (`DETAIL_KEYS`), or ""; a promote past a
    check also says the reason it was overridden with."""
    said = ""
    for key in DETAIL_KEYS:
        value = detail.get(key)
        if value not in ("", None, {}, []):
            words = _value_words(key, value, roles)
            own = key in ("decision", "summary", "split", "percent", "revision") or \
                (key == "cause" and words.startswith("rolled back by "))  # a person's cause says what it is
            said = words if own else f"{key} {words}"
            break
    override = detail.get("override")
    return f"{said} · override: {override}" if override and said else said


def step_words(event: StepEvent, roles: Mapping[str, str]) -> str:
    """`set traffic by alice: candidate 10 % · stable 90 %` (no time, no kind: the log places those)."""
    said = detail_words(event.detail, roles).removeprefix(f"rolled back by {event.actor}: ")  # said once
    return f"{status_words(event.action)} by {event.actor}" + (f": {said}" if said else "")


def engine_words(event: EngineEvent, roles: Mapping[str, str]) -> str:
    """An engine event as `describe()` says it, but a split by role and an outcome in words."""
    if isinstance(event, WeightChanged) and event.split:
        return f"traffic: {split_words(event.split, roles)}"
    if isinstance(event, VerdictReached):
        return f"verdict {status_words(event.outcome)}: {event.explanation}"
    return event.describe()


def stage_words(status: object, deployment_status: object) -> str:
    """A stage's status in words; a stage still `pending` when its deployment ended never ran: `not run`."""
    if str(status) == StageStatus.PENDING and str(deployment_status) in {str(s) for s in TERMINAL_STATUSES}:
        return "not run"
    return status_words(status)


FAILING = re.compile(r"(canary \w+ [^:;]*): (?:fail|above)")  # core.analysis.judge's "HEAD: TAIL" of a check


def _failing_clause(cause: str) -> str:
    """The judge's failing comparison, short: `canary 5xx 6.6 % vs 0.25 %` from its explanation (`canary judge: a
    rollback trigger fired in window 1: canary 5xx 6.6 % (5.1–8.3) vs stable 0.25 % over 2 480 requests: above the
    5 % rollback trigger; ...`); any other cause whole."""
    failing = FAILING.search(cause)
    if failing is None:
        return cause.removeprefix("canary judge: ")
    head = re.sub(r" \([^()]*\)", "", failing[1])  # the intervals
    return re.sub(r" over [\d  ]+ requests$", "", head).replace(" vs stable ", " vs ")


ENDINGS = {DeploymentStatus.SUCCEEDED: "PROMOTED", DeploymentStatus.ROLLED_BACK: "ROLLED BACK",
           DeploymentStatus.FAILED: "FAILED", DeploymentStatus.ABORTED: "ABORTED",
           DeploymentStatus.CANCELLED: "CANCELLED"}


def ending_headline(deployment: Deployment) -> str | None:
    """How a deployment ended, for the judge's headline once none is running: `ROLLED BACK: canary 5xx 6.6 % vs
    0.25 %`, `PROMOTED`, `FAILED: stage canary 25 % failed`; None while it runs."""
    label = ENDINGS.get(deployment.status)
    if label is None:
        return None
    why = _failing_clause(deployment.rollback_cause) if deployment.rollback_cause else ""
    if why.startswith("rolled back by "):  # a person's rollback: "ROLLED BACK by alice: bad canary"
        return f"{label} {why.removeprefix('rolled back ')}"
    if not why and deployment.status is DeploymentStatus.FAILED:
        failed = next((s.name for s in deployment.stages if s.status is StageStatus.FAILED), None)
        why = f"stage {failed} failed" if failed else ""
    return f"{label}: {why}" if why else label
