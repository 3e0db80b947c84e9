"""The sandbox's clock: epoch seconds that run at a chosen speed and that tests move forward by hand.

Everything time-dependent in the sandbox (revision readiness, builds, traffic, metrics) reads this
clock, never `time.time()`, so a test can jump an hour ahead instead of sleeping and a demo can run
a day of traffic in minutes. The clock never goes backwards.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SandboxClock:
    """Epoch seconds starting at `start` (default: now) and running `speed` times real time.

    `speed=0` freezes the clock so that only `advance()` moves it: the most deterministic choice for tests.
    """

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed < 0:
            raise ValueError(f"clock speed must be zero or positive, got {speed}")
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._base = time.time() if start is None else float(start)
        self._mono0 = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def time(self) -> float:
        """Sandbox epoch seconds."""
        with self._lock:
            return self._base + (time.monotonic() - self._mono0) * self._speed

    def now(self) -> datetime:
        """Sandbox time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds`; returns the new time."""
        if seconds < 0:
            raise ValueError(f"the sandbox clock cannot go backwards ({seconds} s)")
        with self._lock:
            self._base += seconds
            return self._base + (time.monotonic() - self._mono0) * self._speed

    def advance_to(self, epoch: float) -> float:
        """Move the clock forward to `epoch` if it is behind it (used when a saved sandbox is restored)."""
        now = self.time()
        return self.advance(epoch - now) if epoch > now else now

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError(f"clock speed must be zero or positive, got {speed}")
        with self._lock:
            mono = time.monotonic()
            self._base += (mono - self._mono0) * self._speed
            self._mono0 = mono
            self._speed = float(speed)
