"""The clock of a sandbox served by another process (`opsconsole sandbox serve`), as this console reads it.

At a real or scaled speed a mirror started from the sandbox's time keeps step by itself. A frozen clock
(`--speed 0`) moves only when some process advances it (a CLI deploy waiting out an analysis window, another
console's driver), so a mirror would stay where this console found it: cards would age wrongly and health
windows would end in the past. Then `now` asks the sandbox (its status), at most once per `fresh_s` of real
time, and a failed read falls back to the last time read, which is never wrong by more than one advance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from core.errors import OperationFailed
from sandbox.clock import SandboxClock


class RemoteClock:
    def __init__(self, mirror: SandboxClock, fetch_time: Callable[[], float], *, fresh_s: float = 0.5) -> None:
        self.mirror = mirror
        self._fetch = fetch_time
        self._fresh_s = fresh_s
        self._lock = threading.Lock()
        self._read_at = time.monotonic()

    def now(self) -> datetime:
        if self.mirror.speed == 0:
            with self._lock:
                if time.monotonic() - self._read_at >= self._fresh_s:
                    self._read_at = time.monotonic()
                    try:
                        remote = self._fetch()
                    except OperationFailed:
                        remote = self.mirror.time()
                    self.mirror.advance_to(remote)
        return self.mirror.now()
