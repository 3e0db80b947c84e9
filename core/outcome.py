"""How a command ended, and the exit code that says it: the one table every CLI command, error and JSON object uses.

A script reads the exit code (or the `outcome` of the JSON object a `--json` command prints last) and knows,
without parsing a sentence, whether to go on, retry, page someone, or fix its own call:

    0  done        the command did what was asked (a deployment succeeded, a request was recorded, a rollback
                   the operator asked for went through)
    1  failed      it was allowed and tried, and did not succeed (a provider, a check, the registry, or the judge
                   rolled the deployment back)
    2  bad input   the arguments, the configuration or a runbook are wrong; nothing was changed
    3  waiting     the deployment waits for a person (an approval, the next promote); any console goes on with it
    4  refused     the request was understood and not allowed: the operator may not act here (allow-list,
                   read-only console), or the state does not allow it now (a second deployment, a promote the judge
                   holds, nothing to approve); nothing was changed
    5  unhealthy   `watch --exit-on-down` saw an environment down (its line says why): a pipeline gate's stop

Kept free of imports beyond the standard library: `opsconsole --help` and every error class read it.
"""

from __future__ import annotations

from enum import IntEnum


class Outcome(IntEnum):
    """A command's outcome; its value is the process's exit code."""

    DONE = 0
    FAILED = 1
    BAD_INPUT = 2
    WAITING = 3
    REFUSED = 4
    UNHEALTHY = 5

    @property
    def label(self) -> str:
        """The name a script reads in a JSON object's `outcome` ("done", "bad_input", ...)."""
        return self.name.lower()

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    Outcome.DONE: "done: the command did what was asked",
    Outcome.FAILED: "failed: the operation was tried and did not succeed, or the deployment was rolled back",
    Outcome.BAD_INPUT: "bad input (arguments, configuration, runbook); nothing was changed",
    Outcome.WAITING: "waiting: the deployment waits for a person (an approval, the next promote)",
    Outcome.REFUSED: "refused: not allowed to this operator, or not now in this state; nothing was changed",
    Outcome.UNHEALTHY: "unhealthy: with watch --exit-on-down, an environment is down (its line says why)",
}


def exit_codes_help() -> str:
    """The exit codes as a command's --help epilog shows them (click keeps a paragraph after \\b as written)."""
    lines = [f"  {outcome.value}  {outcome.meaning}" for outcome in Outcome]
    return "\b\nExit codes:\n" + "\n".join(lines)
