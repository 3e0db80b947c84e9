"""Watching health: observe environments round after round and yield only what changed (every environment in
the first round), so a terminal, a pipeline gate or a screen shows a line per change, never one per poll.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from core.model.health import Health


def health_changes(observe: Callable[[Sequence[str]], list[Health]], names: Sequence[str],
                   sleep: Callable[[float], None], interval: float, polls: int = 0) -> Iterator[list[Health]]:
    """Each round's changes (possibly none), `interval` seconds apart on `sleep`'s clock; `polls` 0: forever."""
    last: dict[str, str] = {}
    done = 0
    while True:
        changed = [h for h in observe(names) if last.get(h.environment) != h.state]
        last.update((h.environment, h.state) for h in changed)
        yield changed
        done += 1
        if polls and done >= polls:
            return
        sleep(interval)
