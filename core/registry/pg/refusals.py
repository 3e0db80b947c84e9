"""What the database's refusals and failures mean to an operator, in one sentence each: a row-level security or
grant refusal names the role that is missing; any other error is its last line."""

from __future__ import annotations

import psycopg


def refused(error: psycopg.Error, environment: str | None) -> Exception:
    """The database said no to this user: the four-eyes rule's own sentence, or which role or grant is missing."""
    from core.errors import OperationFailed

    primary = error.diag.message_primary or str(error)
    if "row-level security" in primary:
        if environment is not None:
            return not_a_member(environment)
        return OperationFailed("the registry refused: changing an environment needs its role opsconsole_<environment>, "
                               "which this database user is not a member of")
    if "permission denied" in primary:
        return OperationFailed(f"the registry refused: {primary}; ask the registry's owner for the team's grants "
                               "(README: a team registry on PostgreSQL)")
    return OperationFailed(primary)


def not_a_member(environment: str) -> Exception:
    from core.errors import OperationFailed

    return OperationFailed(f"the registry refused: this database user is not a member of opsconsole_{environment}, "
                           f"the role that may change {environment}")


def reason(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__
