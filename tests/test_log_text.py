"""The console's words for what the engine and the registry say (core.model.log_text), as the operator reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.model.deployment import Deployment, StepEvent
from core.model.log_text import ending_headline, hint_as_key, split_words, stage_words, step_words

KEYS = {"approve": "a", "promote": "p", "promote-anyway": "P", "rollback": "b", "set-weight": "w"}
AT = datetime(2031, 5, 17, 3, 0, tzinfo=UTC)


def deployment(status: str, cause: str | None = None) -> Deployment:
    return Deployment.model_validate({
        "id": "d-1", "environment": "production", "versions": {"websocket-server": "v2"}, "strategy": "canary",
        "actor": "alice", "started_at": AT, "created_at": AT, "updated_at": AT, "status": status,
        "rollback_cause": cause})


def test_the_cli_hints_become_the_consoles_keys_and_other_text_stays() -> None:
    held = ("hold: canary p99 inconclusive; promote with a reason (opsconsole promote production --override REASON) "
            "or roll back (opsconsole rollback production --reason REASON)")
    assert hint_as_key(held, KEYS) == ("hold: canary p99 inconclusive; promote with a reason (press P to promote "
                                       "anyway) or roll back (press b to roll back)")
    assert hint_as_key("promote to 25 % when ready (opsconsole promote production)", KEYS) == \
        "promote to 25 % when ready (press p to promote)"
    assert hint_as_key("lower it (opsconsole set-weight production N)", {**KEYS, "set-weight": "W"}) == \
        "lower it (press W to set the weight)"
    # A command the console has no key for keeps the CLI's words; so does text with no hint.
    assert hint_as_key("(opsconsole incident root-cause ID TEXT)", KEYS) == "(opsconsole incident root-cause ID TEXT)"
    assert hint_as_key("nothing to press (really)", KEYS) == "nothing to press (really)"


def test_a_split_reads_by_role_and_a_step_never_shows_a_python_dict() -> None:
    roles = {"ws-candidate-1": "candidate", "ws-00001": "stable"}
    assert split_words({"ws-candidate-1": 90, "ws-00001": 10}, roles) == "candidate 90 % · stable 10 %"
    assert split_words({"ws-other": 100}, roles) == "ws-other 100 %"
    event = StepEvent(deployment_id="d-1", seq=3, at=AT, kind="done", action="roll back traffic", actor="engine",
                      detail={"cause": "canary judge: 5xx", "split": {"ws-00001": 100}})
    assert step_words(event, roles) == "roll back traffic by engine: cause canary judge: 5xx"
    # A person's rollback: their cause names them already, so the line says who and why once.
    theirs = StepEvent(deployment_id="d-1", seq=4, at=AT, kind="done", action="roll back traffic", actor="root",
                       detail={"cause": "rolled back by root: end the trial canary"})
    assert step_words(theirs, roles) == "roll back traffic by root: end the trial canary"
    anyway = StepEvent(deployment_id="d-1", seq=5, at=AT, kind="request", action="promote", actor="alice",
                       detail={"to": "canary 50 %", "override": "p99 noise at night"})
    assert step_words(anyway, roles) == "promote by alice: to canary 50 % · override: p99 noise at night"
    nested: dict[str, Any] = {"stable_check": {"passed": True, "revision": "ws-00001"}}
    odd = StepEvent(deployment_id="d-1", seq=4, at=AT, kind="note", action="checked", actor="engine", detail=nested)
    assert step_words(odd, roles) == "checked by engine"  # no telling field: the action alone, never "{'"


def test_stages_an_ended_deployment_never_reached_did_not_run() -> None:
    assert stage_words("pending", "rolled_back") == "not run"
    assert stage_words("pending", "in_progress") == "pending"
    assert stage_words("in_progress", "in_progress") == "in progress"


def test_the_judges_headline_says_how_a_deployment_ended() -> None:
    judged = ("canary judge: canary 5xx 6.6 % (5.1–8.3) vs stable 0.25 % over 2 480 requests: fail, proven; canary "
              "p99 180 ms (150–210) vs stable 170 ms (1.06×) over 2 480 requests: pass")
    assert ending_headline(deployment("rolled_back", judged)) == "ROLLED BACK: canary 5xx 6.6 % vs 0.25 %"
    trigger = ("canary judge: a rollback trigger fired in window 1: canary p99 900 ms (800–1000) vs stable 150 ms "
               "(6.00×) over 700 requests: above the 3× rollback trigger")
    assert ending_headline(deployment("rolled_back", trigger)) == "ROLLED BACK: canary p99 900 ms vs 150 ms"
    assert ending_headline(deployment("rolled_back", "rolled back by alice: bad canary")) == \
        "ROLLED BACK by alice: bad canary"
    assert ending_headline(deployment("succeeded")) == "PROMOTED"
    assert ending_headline(deployment("in_progress")) is None
