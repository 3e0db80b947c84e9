"""Typed events the engine emits as a deployment moves; the TUI subscribes to them and the CLI prints them.

Each event says itself in one line (`describe()`), so the console's log and the CLI's output read alike.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.analysis.streams import Stream


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

    def describe(self) -> str:
        """What happened, in one line an operator reads (no time, no environment: the caller places those)."""
        return self.kind


@dataclass(frozen=True)
class StageStarted(EngineEvent):
    stage: int
    name: str

    def describe(self) -> str:
        return f"stage {self.name} started"


@dataclass(frozen=True)
class StageFinished(EngineEvent):
    stage: int
    name: str
    outcome: str  # succeeded, failed or skipped

    def describe(self) -> str:
        return f"stage {self.name} {self.outcome}"


@dataclass(frozen=True)
class WeightChanged(EngineEvent):
    revision: str
    percent: int
    split: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        others = ", ".join(f"{share} % on {name}" for name, share in self.split.items() if name != self.revision)
        return f"traffic: {self.percent} % on {self.revision}" + (f", {others}" if others else "")


@dataclass(frozen=True)
class VerdictReached(EngineEvent):
    outcome: str  # pass, fail, inconclusive or no_data (core.analysis.Outcome)
    action: str  # PROMOTE_ALLOWED, HOLD or ROLLBACK
    explanation: str
    stream: str = "monitoring"  # the evidence judged: monitoring or probes (core.analysis.streams.Stream)

    def describe(self) -> str:
        return f"verdict {self.outcome} in {Stream(self.stream).label}: {self.explanation}"


@dataclass(frozen=True)
class VerificationDone(EngineEvent):
    passed: bool
    summary: str

    def describe(self) -> str:
        return f"verification {'passed' if self.passed else 'failed'}: {self.summary}"


@dataclass(frozen=True)
class WaitingForOperator(EngineEvent):
    reason: str  # what the operator is asked to do, in one sentence

    def describe(self) -> str:
        return f"waiting for the operator: {self.reason}"


def rolled_back_words(cause: str) -> str:
    """`rolled back: canary judge: …` for the judge's cause; a person's cause says it already (`rolled back by
    alice: bad canary`, core.engine.operator.abort) and is not said twice."""
    return cause if cause.startswith("rolled back") else f"rolled back: {cause}"


@dataclass(frozen=True)
class RolledBack(EngineEvent):
    cause: str
    actor: str

    def describe(self) -> str:
        return self.cause if self.cause.startswith("rolled back by ") else f"rolled back by {self.actor}: {self.cause}"


@dataclass(frozen=True)
class DeploymentFinished(EngineEvent):
    status: str
    summary: str

    def describe(self) -> str:
        """`deployment succeeded: …`; a summary that starts with its status (`rolled back by alice: …`) says it once."""
        status = self.status.replace("_", " ")
        said = self.summary if self.summary.startswith(status) else f"{status}: {self.summary}"
        return f"deployment {said}"


@dataclass(frozen=True)
class Note(EngineEvent):
    message: str

    def describe(self) -> str:
        return self.message
