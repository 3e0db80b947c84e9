"""Fan-out of engine events to whoever listens (the TUI, the CLI's printer); a failing one never stops a deployment."""

from __future__ import annotations

import threading
from collections.abc import Callable

from core.model.events import EngineEvent

Listener = Callable[[EngineEvent], None]


class EventBus:
    """Fan-out of engine events to subscribers; a failing subscriber never stops the engine."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: EngineEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a display that breaks must not break a deployment
                continue
