"""Typed events the engine emits as a deployment moves; the TUI subscribes to them and the CLI prints them."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EngineEvent:
    deployment_id: str
    environment: str
    at: datetime

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["event"] = self.kind
        data["at"] = self.at.isoformat()
        return data


@dataclass(frozen=True)
class StageStarted(EngineEvent):
    stage: int
    name: str


@dataclass(frozen=True)
class StageFinished(EngineEvent):
    stage: int
    name: str
    outcome: str  # succeeded, failed or skipped


@dataclass(frozen=True)
class WeightChanged(EngineEvent):
    revision: str
    percent: int
    split: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class VerdictReached(EngineEvent):
    outcome: str  # PASS, FAIL or NO_DATA
    action: str  # PROMOTE_ALLOWED, HOLD or ROLLBACK
    explanation: str


@dataclass(frozen=True)
class VerificationDone(EngineEvent):
    passed: bool
    summary: str


@dataclass(frozen=True)
class WaitingForOperator(EngineEvent):
    reason: str  # what the operator is asked to do, in one sentence


@dataclass(frozen=True)
class RolledBack(EngineEvent):
    cause: str
    actor: str


@dataclass(frozen=True)
class DeploymentFinished(EngineEvent):
    status: str
    summary: str


@dataclass(frozen=True)
class Note(EngineEvent):
    message: str


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
