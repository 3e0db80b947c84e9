"""Errors the console explains to an operator in one sentence, each with the outcome (and so the exit code) the CLI
returns: core/outcome.py holds the table."""

from __future__ import annotations

from core.outcome import Outcome


class OpsError(Exception):
    """An error with a one-sentence explanation for the operator; never shown as a traceback."""

    outcome = Outcome.FAILED

    @property
    def exit_code(self) -> int:
        return int(self.outcome)


class BadInput(OpsError):
    """The operator's input (a config file, an argument, a runbook) is wrong: nothing was changed."""

    outcome = Outcome.BAD_INPUT


class OperationFailed(OpsError):
    """The operation was valid but did not succeed."""

    outcome = Outcome.FAILED


class Refused(OpsError):
    """Understood and not allowed: this operator may not (allow-list, read-only console), or the state does not
    allow it now (one deployment per environment, a promote the judge holds). Nothing was changed."""

    outcome = Outcome.REFUSED
