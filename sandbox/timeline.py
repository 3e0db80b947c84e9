"""Which scenario was active when: the switch history that makes past metric windows reproducible.

An optional traffic override replaces every scenario's `traffic` (benchmarks measure the same faults on a
busier service); it is a property of the sandbox, not of the history, so it is not saved with it.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from typing import Any

from sandbox.scenario import Scenario, TrafficModel, load_scenario


class ScenarioTimeline:
    """Scenario switches as (sandbox time, name), oldest first; the first switch covers all earlier time."""

    def __init__(self, initial: str, at: float, loader: Callable[[str], Scenario] = load_scenario,
                 traffic: TrafficModel | None = None) -> None:
        self._loader = loader if traffic is None else _with_traffic(loader, traffic)
        loader(initial)  # validate before anything is recorded
        self._lock = threading.Lock()
        self._times: list[float] = [at]
        self._names: list[str] = [initial]

    def switch(self, name: str, at: float) -> Scenario:
        scenario = self._loader(name)
        with self._lock:
            if at < self._times[-1]:
                at = self._times[-1]
            self._times.append(at)
            self._names.append(name)
        return scenario

    @property
    def current(self) -> Scenario:
        with self._lock:
            return self._loader(self._names[-1])

    def at(self, t: float) -> Scenario:
        with self._lock:
            i = max(bisect.bisect_right(self._times, t) - 1, 0)
            return self._loader(self._names[i])

    def to_dict(self) -> list[list[Any]]:
        with self._lock:
            return [[t, n] for t, n in zip(self._times, self._names, strict=True)]

    @classmethod
    def from_dict(cls, data: list[list[Any]], loader: Callable[[str], Scenario] = load_scenario,
                  traffic: TrafficModel | None = None) -> ScenarioTimeline:
        timeline = cls(str(data[0][1]), float(data[0][0]), loader, traffic)
        for t, name in data[1:]:
            timeline.switch(str(name), float(t))
        return timeline


def _with_traffic(loader: Callable[[str], Scenario], traffic: TrafficModel) -> Callable[[str], Scenario]:
    """`loader` with every scenario's traffic replaced; cached, as the simulator looks a scenario up per minute."""
    copies: dict[str, Scenario] = {}

    def load(name: str) -> Scenario:
        if name not in copies:
            copies[name] = loader(name).model_copy(update={"traffic": traffic})
        return copies[name]
    return load
