"""One driver per environment, and a record of who it is.

Only the process that holds an environment's driver lock sends changes for its deployment; operator
actions from other consoles are written to the registry as requests that the driver applies on its
next tick. The lock is an OS file lock (flock), which the kernel drops the moment its process dies,
so a killed console never leaves a lock behind that someone must clear by hand: that is the stale
detection. Beside it, an owner file says who drives (operator, pid, host, since) so a refused console
can name them. The one-deployment-per-environment rule itself is durable: it is the registry's
active deployment, which survives any crash.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import filelock

from core.errors import OperationFailed


@dataclass(frozen=True)
class LockOwner:
    pid: int
    host: str
    operator: str
    since: float

    def describe(self) -> str:
        return f"{self.operator} (pid {self.pid} on {self.host})"


class EnvironmentBusy(OperationFailed):
    def __init__(self, environment: str, owner: LockOwner | None) -> None:
        who = owner.describe() if owner else "another console"
        super().__init__(f"{environment} is being driven by {who}; that console applies requests recorded for it")
        self.owner = owner


class EnvironmentLock:
    """`<dir>/<environment>.lock` (the flock) and `<dir>/<environment>.owner.json` (who holds it)."""

    def __init__(self, directory: Path, environment: str, operator: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.environment = environment
        self.operator = operator
        self._lock = filelock.FileLock(directory / f"{environment}.lock", thread_local=False)
        self._owner_file = directory / f"{environment}.owner.json"

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    @property
    def lost(self) -> bool:
        return False  # the kernel drops a flock only with its process, which then has nothing left to lose

    def owner(self) -> LockOwner | None:
        """Who drives the environment now, or None if nobody does (a leftover owner file is ignored)."""
        if self.held:
            return self._read_owner()
        probe = filelock.FileLock(self._lock.lock_file, thread_local=False)
        try:
            probe.acquire(timeout=0)
        except filelock.Timeout:
            return self._read_owner()
        probe.release()
        return None

    def _read_owner(self) -> LockOwner | None:
        try:
            return LockOwner(**json.loads(self._owner_file.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def try_acquire(self) -> bool:
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        if self._lock.lock_counter == 1:
            owner = LockOwner(os.getpid(), socket.gethostname(), self.operator, time.time())
            tmp = self._owner_file.with_name(f".{self._owner_file.name}.{os.getpid()}")
            tmp.write_text(json.dumps(asdict(owner)))
            os.replace(tmp, self._owner_file)
        return True

    def acquire(self) -> None:
        if not self.try_acquire():
            raise EnvironmentBusy(self.environment, self._read_owner())

    def release(self) -> None:
        if self.held:
            if self._lock.lock_counter == 1:
                self._owner_file.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> EnvironmentLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
