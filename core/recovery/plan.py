"""generate_recovery_plan: pick the runbook for a classification, keep the steps its signals call for,
order them by dependencies, insert verification checkpoints and estimate the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from core.recovery.classify import Classification
from core.recovery.runbook import Runbook, RunbookStep, runbook_for

# The check that proves each action took effect, inserted after an action no check depends on.
CHECKPOINTS = {
    "route_to_last_healthy_revision": "service_health",
    "raise_min_instances": "min_instances",
    "fail_over_region": "secondary_region_health",
    "point_frontend_websocket": "frontend_websocket_url",
    "redeploy_frontend": "frontend_websocket_url",
    "promote_redis_replica": "service_ready",
    "restore_redis_backup": "service_ready",
    "reapply_infrastructure": "service_health",
}
CHECKPOINT_ESTIMATE_S = 10.0


@dataclass(frozen=True)
class RecoveryPlan:
    environment: str
    failure_type: str
    runbook: str
    title: str
    steps: tuple[RunbookStep, ...]
    estimate_s: float
    dropped: tuple[str, ...] = ()  # runbook steps whose conditions do not hold here

    def index(self, step_id: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.id == step_id)

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "failure_type": self.failure_type, "runbook": self.runbook,
                "title": self.title, "estimate_s": self.estimate_s, "dropped": list(self.dropped),
                "steps": [s.model_dump(mode="json") for s in self.steps]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecoveryPlan:
        return cls(environment=data["environment"], failure_type=data["failure_type"], runbook=data["runbook"],
                   title=data["title"], estimate_s=float(data["estimate_s"]), dropped=tuple(data.get("dropped", ())),
                   steps=tuple(RunbookStep.model_validate(s) for s in data["steps"]))


def _applies(step: RunbookStep, signals: set[str]) -> bool:
    return all(s in signals for s in step.when) and not any(s in signals for s in step.unless)


def _ordered(steps: list[RunbookStep]) -> list[RunbookStep]:
    """Topological order; among steps ready together, the runbook's own order (teams put critical first)."""
    position = {s.id: i for i, s in enumerate(steps)}
    by_id = {s.id: s for s in steps}
    sorter = TopologicalSorter({s.id: [d for d in s.depends_on if d in position] for s in steps})
    sorter.prepare()
    ready: list[str] = []
    out: list[RunbookStep] = []
    while sorter.is_active():
        ready = sorted([*ready, *sorter.get_ready()], key=position.__getitem__)
        chosen = ready.pop(0)
        out.append(by_id[chosen])
        sorter.done(chosen)
    return out


def _with_checkpoints(steps: list[RunbookStep]) -> list[RunbookStep]:
    out: list[RunbookStep] = []
    for step in steps:
        out.append(step)
        if step.kind != "action" or not step.changes:
            continue
        checked = any(s.kind == "check" and step.id in s.depends_on for s in steps)
        if not checked:
            title = f"Checkpoint: {step.title[0].lower()}{step.title[1:]} took effect"
            out.append(RunbookStep(id=f"checkpoint-{step.id}"[:63], title=title, kind="check",
                                   check=CHECKPOINTS[step.action or ""], depends_on=[step.id],
                                   timeout_s=120.0, estimate_s=CHECKPOINT_ESTIMATE_S, checkpoint=True,
                                   fallback=step.fallback, params=dict(step.params)))
    return out


def generate_recovery_plan(classification: Classification, env: str, *, runbook: Runbook | None = None,
                           directory: Path | None = None) -> RecoveryPlan:
    """The plan for this classification in `env`: the runbook's applicable steps, in dependency order, with a
    checkpoint after every change no check verifies, and the time it should take (fallbacks excluded)."""
    book = runbook or runbook_for(classification.failure_type, directory)
    signals = set(classification.signals) | ({"production"} if env == "production" else set())
    kept = [s for s in book.steps if _applies(s, signals)]
    dropped = tuple(s.id for s in book.steps if not _applies(s, signals))
    kept_ids = {s.id for s in kept}
    # A dropped step's dependents inherit its dependencies, so the order stays what the runbook meant.
    inherited = {s.id: s.depends_on for s in book.steps}

    def deps(step: RunbookStep) -> list[str]:
        out: list[str] = []
        todo = list(step.depends_on)
        while todo:
            d = todo.pop(0)
            if d in kept_ids:
                out.append(d)
            else:
                todo.extend(inherited.get(d, []))
        return list(dict.fromkeys(out))

    kept = [s.model_copy(update={"depends_on": deps(s), "goto": s.goto if s.goto in kept_ids else None,
                                 "on_failure": s.on_failure if s.goto is None or s.goto in kept_ids else "abort"})
            for s in kept]
    steps = _with_checkpoints(_ordered(kept))
    estimate = sum(s.estimate_s for s in steps if not s.fallback)
    return RecoveryPlan(environment=env, failure_type=classification.failure_type, runbook=book.name,
                        title=book.title, steps=tuple(steps), estimate_s=estimate, dropped=dropped)
