"""Errors of the deployment registry, each explained to the operator in one sentence."""

from __future__ import annotations

from pathlib import Path

from core.errors import BadInput, OperationFailed, Refused


class RegistryCorrupt(OperationFailed):
    """The hot registry file or an archive file is damaged; it was refused, never adopted, and left as it was.

    Exit code 1, as for every registry that cannot be used (README: exit codes).
    """

    def __init__(self, path: Path, reason: str, *, backup: Path | None = None) -> None:
        self.path = path
        self.reason = reason
        self.backup = backup
        if backup is not None:
            message = (
                f"registry {path} is unreadable ({reason}); the previous version is {backup}; "
                "move the damaged file aside and copy the backup into its place, or let `opsconsole registry repair` "
                "do it (it keeps the damaged copy)"
            )
        else:
            message = (
                f"registry archive {path} is damaged ({reason}) and was left as it is: restore it from a backup, "
                "or run `opsconsole registry check` to see every problem and `opsconsole registry repair` to keep "
                "what is sound (the damaged file is kept beside it)"
            )
        super().__init__(message)


class RegistryRecordDamaged(OperationFailed):
    """A record of a side table (an incident) has a shape its reader cannot use; nothing was changed."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"registry {path} holds a damaged record ({reason}) and was left as it is: run `opsconsole registry "
            "check` to see every problem and `opsconsole registry repair` to set it aside (kept in a copy)"
        )


class RegistrySchemaTooNew(BadInput):
    """The registry was written by a newer opsconsole whose format this one does not know."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"registry {path} was written by a newer opsconsole (schema {found}, this one reads "
            f"{supported}); upgrade opsconsole"
        )


class RegistryLocked(OperationFailed):
    """Another process held the registry lock for longer than we were willing to wait."""

    def __init__(self, lock_path: Path, waited: float) -> None:
        self.lock_path = lock_path
        super().__init__(
            f"registry lock {lock_path} is held by another process (waited {waited:g} s); "
            "let that opsconsole finish or stop it, then retry"
        )


class UnknownDeployment(BadInput):
    """The operator named a deployment id that the registry does not hold."""

    def __init__(self, deployment_id: str, path: Path | str) -> None:
        self.deployment_id = deployment_id
        super().__init__(f"there is no deployment {deployment_id!r} in registry {path}")


class DeploymentFinished(OperationFailed):
    """A finished deployment is final: it cannot change status or gain events."""

    def __init__(self, deployment_id: str, status: str, what: str) -> None:
        self.deployment_id = deployment_id
        self.status = status
        super().__init__(f"deployment {deployment_id} already finished ({status}), so {what}")


class RegistryUnavailable(OperationFailed):
    """The registry's files could not be read or written (permissions, a full disk, a missing mount)."""

    def __init__(self, path: Path, error: OSError) -> None:
        self.path = path
        where = error.filename or path
        super().__init__(
            f"registry file {where} could not be used ({error.strerror or error}); "
            "check that the disk has space and that this user may write there"
        )


class RegistryUnreachable(OperationFailed):
    """The PostgreSQL registry could not be reached (down, a network cut, a timeout). Exit 1: try again later."""

    def __init__(self, location: str, reason: str) -> None:
        self.location = location
        self.reason = reason
        super().__init__(f"the registry {location} cannot be reached ({reason}); nothing was changed, try again "
                         "when it answers")


class RegistryRefused(BadInput):
    """The PostgreSQL registry answered but refused us: a wrong password, an unknown user or database. Exit 2."""

    def __init__(self, location: str, reason: str) -> None:
        self.location = location
        self.reason = reason
        super().__init__(f"the registry {location} refused the connection: {reason}")


class RegistrySchemaMismatch(BadInput):
    """The PostgreSQL registry's schema is not the one this opsconsole reads (newer, or older and not ours)."""

    def __init__(self, location: str, reason: str) -> None:
        self.location = location
        super().__init__(f"the registry {location} {reason}")


class EnvironmentOccupied(Refused):
    """The database refused a second active deployment in one environment (another console won the race)."""

    def __init__(self, environment: str, holder: str, actor: str) -> None:
        self.environment = environment
        self.holder = holder
        super().__init__(f"{environment} already has deployment {holder} in progress, started by {actor}: one "
                         "deployment per environment; approve, promote or roll back that one first")


class LeaseLost(OperationFailed):
    """This console no longer drives the environment: its lease was taken over or its connection dropped."""

    def __init__(self, environment: str, now_held_by: str | None) -> None:
        self.environment = environment
        who = f"{now_held_by} drives it now" if now_held_by else "its lease lapsed"
        super().__init__(f"this console stopped driving {environment}: {who}; nothing more was applied from here")
