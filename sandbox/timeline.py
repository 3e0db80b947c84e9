"""Which scenario was active when: the switch history that makes past metric windows reproducible.

A switch may strike revisions that already exist (`opsconsole sandbox scenario NAME --now`): those revisions
serve with the scenario's `new_revision` behaviour from the switch until the next switch, so a fault can hit a
canary under traffic and a later switch (e.g. to `healthy`) clears it again.

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
    """Scenario switches as (sandbox time, name, struck revisions), oldest first; the first covers all earlier time."""

    def __init__(self, initial: str, at: float, loader: Callable[[str], Scenario] = load_scenario,
                 traffic: TrafficModel | None = None) -> None:
        self._loader = loader if traffic is None else _with_traffic(loader, traffic)
        loader(initial)  # validate before anything is recorded
        self._lock = threading.Lock()
        self._times: list[float] = [at]
        self._names: list[str] = [initial]
        self._struck: list[frozenset[str]] = [frozenset()]

    def switch(self, name: str, at: float, struck: frozenset[str] | set[str] | tuple[str, ...] = ()) -> Scenario:
        """Switch to `name` at `at`; `struck` (full revision names) serve with its new-revision behaviour from then."""
        scenario = self._loader(name)
        with self._lock:
            if at < self._times[-1]:
                at = self._times[-1]
            self._times.append(at)
            self._names.append(name)
            self._struck.append(frozenset(struck))
        return scenario

    def _index(self, t: float) -> int:
        return max(bisect.bisect_right(self._times, t) - 1, 0)

    def since(self, t: float) -> float:
        """When the scenario in effect at `t` was switched on."""
        with self._lock:
            return self._times[self._index(t)]

    def struck_at(self, t: float) -> frozenset[str]:
        """The revisions a `--now` switch in effect at `t` strikes (empty for an ordinary switch)."""
        with self._lock:
            return self._struck[self._index(t)]

    def switches_within(self, lo: float, hi: float) -> list[float]:
        """Switch times strictly inside (lo, hi): where a span must be cut so each part has one scenario."""
        with self._lock:
            i = bisect.bisect_right(self._times, lo)
            j = bisect.bisect_left(self._times, hi)
            return sorted(set(self._times[i:j]))

    @property
    def current(self) -> Scenario:
        with self._lock:
            return self._loader(self._names[-1])

    def at(self, t: float) -> Scenario:
        with self._lock:
            return self._loader(self._names[self._index(t)])

    def to_dict(self) -> list[list[Any]]:
        with self._lock:
            return [[t, n] for t, n in zip(self._times, self._names, strict=True)]

    def strikes(self) -> list[list[Any]]:
        """[switch index, [revisions]] for each switch that struck revisions (saved beside the switches; by index,
        as a frozen clock may record several switches at one instant)."""
        with self._lock:
            return [[i, sorted(s)] for i, s in enumerate(self._struck) if s]

    @classmethod
    def from_dict(cls, data: list[list[Any]], loader: Callable[[str], Scenario] = load_scenario,
                  traffic: TrafficModel | None = None, strikes: list[list[Any]] | None = None) -> ScenarioTimeline:
        struck = {int(i): frozenset(str(r) for r in revisions) for i, revisions in strikes or []}
        timeline = cls(str(data[0][1]), float(data[0][0]), loader, traffic)
        for i, (t, name) in enumerate(data[1:], start=1):
            timeline.switch(str(name), float(t), struck.get(i, frozenset()))
        return timeline


def _with_traffic(loader: Callable[[str], Scenario], traffic: TrafficModel) -> Callable[[str], Scenario]:
    """`loader` with every scenario's traffic replaced; cached, as the simulator looks a scenario up per minute."""
    copies: dict[str, Scenario] = {}

    def load(name: str) -> Scenario:
        if name not in copies:
            copies[name] = loader(name).model_copy(update={"traffic": traffic})
        return copies[name]
    return load
