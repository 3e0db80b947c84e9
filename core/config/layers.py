"""Configuration layers deep-merged in order, remembering which source set each value.

The provenance is what lets an error say "./opsconsole.toml set this" rather than blaming the built-in
defaults for a value the operator wrote. Tables merge key by key (a file may set a single field);
any other value, lists included, replaces what the layers below said.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from core.config.strategies import STRATEGY_CLASSES

SettingPath = tuple[str, ...]


class MergedLayers:
    """The merged data of every layer added so far, and the source of each leaf value."""

    def __init__(self) -> None:
        self.data: dict[Any, Any] = {}
        self.sources: list[str] = []
        self._rank: dict[str, int] = {}
        self._origins: dict[SettingPath, str] = {}

    def add(self, overlay: Mapping[Any, Any], source: str) -> None:
        """Merge one layer on top of the others; later layers win."""
        self.sources.append(source)
        self._rank[source] = len(self.sources)
        self._merge(self.data, (), overlay, source)

    def _merge(self, base: dict[Any, Any], prefix: SettingPath, overlay: Mapping[Any, Any], source: str) -> None:
        new_kind = overlay.get("kind") if prefix[-1:] == ("strategy",) else None
        if isinstance(new_kind, str) and new_kind in STRATEGY_CLASSES and base.get("kind") != new_kind:
            # A layer that switches the strategy kind keeps what the layers below said that the new
            # kind understands (criteria, triggers) and drops the rest: observation_window_s means
            # nothing to a canary. Same kind: keep everything, so a typo below is still reported.
            for key in [k for k in base if k not in STRATEGY_CLASSES[new_kind].model_fields]:
                del base[key]
                self._forget((*prefix, str(key)))
        for key, value in overlay.items():
            path = (*prefix, str(key))
            if isinstance(value, Mapping) and isinstance(base.get(key), dict):
                self._merge(base[key], path, value, source)
                continue
            if key in base:
                self._forget(path)
            base[key] = _plain(value)
            self._record(path, value, source)

    def _forget(self, path: SettingPath) -> None:
        for known in [p for p in self._origins if p[: len(path)] == path]:
            del self._origins[known]

    def _record(self, path: SettingPath, value: Any, source: str) -> None:
        if isinstance(value, Mapping) and value:
            for key, item in value.items():
                self._record((*path, str(key)), item, source)
        else:
            self._origins[path] = source

    def origin(self, path: SettingPath) -> str | None:
        """The source of the value at `path`: the layer that set it or the table holding it, or for a
        table the latest layer that set anything inside it; None if no layer said anything about it."""
        for end in range(len(path), 0, -1):
            if path[:end] in self._origins:
                return self._origins[path[:end]]
        inside = [source for known, source in self._origins.items() if known[: len(path)] == path]
        return max(inside, key=self._rank.__getitem__, default=None)

    def blame(self, candidates: Iterable[SettingPath]) -> tuple[SettingPath, str]:
        """Of settings that break a rule together, the one the most recent layer set, and that layer.

        A setting nobody set (a missing field) is charged to the nearest table that some layer did set.
        """
        best: tuple[int, SettingPath, str] | None = None
        for path in candidates:
            source = next(filter(None, (self.origin(path[:end]) for end in range(len(path), -1, -1))), None)
            rank = self._rank.get(source, 0) if source else 0
            if best is None or rank > best[0]:
                best = (rank, path, source or (self.sources[0] if self.sources else "<input>"))
        if best is None:
            raise ValueError("blame needs at least one setting")
        return best[1], best[2]


def _plain(value: Any) -> Any:
    """A private copy, with mappings as dicts, so later layers never alias a caller's data."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return copy.deepcopy(value)
