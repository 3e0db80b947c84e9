"""A clock for tests that moves only when something sleeps on it, and remembers every sleep."""

from __future__ import annotations


class ManualClock:
    """Epoch seconds that move only when slept on; drives sandbox builds and the adapters' retry waits."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Move time on without recording a sleep (a test skipping ahead)."""
        self.now += seconds
