"""Errors the console explains to an operator in one sentence, each with the exit code the CLI returns."""

from __future__ import annotations


class OpsError(Exception):
    """An error with a one-sentence explanation for the operator; never shown as a traceback."""

    exit_code = 1


class BadInput(OpsError):
    """The operator's input (a config file, an argument, a runbook) is wrong: exit code 2."""

    exit_code = 2


class OperationFailed(OpsError):
    """The operation was valid but did not succeed: exit code 1."""

    exit_code = 1
