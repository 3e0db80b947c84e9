"""The step context: what every step of the engine does around its one action (save, record, write ahead, wait, end).

Steps (core.engine.steps) are functions of this context and the deployment they move; they never reach
the facade (core.engine.engine), so the engine has no import circle and a step reads like its concern alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from core.config import ConsoleConfig, EnvironmentConfig
from core.engine.bus import EventBus
from core.engine.tick import Tick
from core.errors import BadInput
from core.model.deployment import Deployment, DeploymentStatus, StageRecord, StageStatus
from core.model.events import DeploymentFinished, EngineEvent, Note, StageFinished, WaitingForOperator
from core.model.notice import Notice
from core.model.paging import Announcement, NotifiedEvent, announcement, deployment_dedup_key
from core.model.rollout import Rollout
from core.ports import Ports
from core.registry import Registry

OUTCOME_KEYS = ("error", "observed")  # what an outcome adds to its intent's detail


class StepContext:
    """The registry, providers and event bus one operator's engine works with, and the bookkeeping of a step."""

    def __init__(self, config: ConsoleConfig, registry: Registry, ports: Ports, *, operator: str,
                 bus: EventBus | None = None, verify_messages: int = 10) -> None:
        self.config = config
        self.registry = registry
        self.ports = ports
        self.operator = operator
        self.bus = bus or EventBus()
        self.verify_messages = verify_messages

    def environment(self, name: str) -> EnvironmentConfig:
        return self.config.environment(name)

    def get(self, deployment_id: str) -> Deployment:
        found = self.registry.get_deployment(deployment_id)
        if found is None:
            raise BadInput(f"no deployment with id {deployment_id!r}")
        return found

    # -- the registry ------------------------------------------------------------------------------------

    def save(self, deployment: Deployment, rollout: Rollout, *, beside: Mapping[str, Any] | None = None,
             **changes: Any) -> Deployment:
        """The rollout (and `beside` it, other metadata keys) and `changes` recorded in one write."""
        return self.registry.update_deployment(deployment.id, metadata={**(beside or {}), "rollout": rollout.dump()},
                                               at=self.ports.now(), **changes)

    def record(self, deployment: Deployment, kind: str, action: str, detail: Mapping[str, Any] | None = None,
               actor: str | None = None) -> None:
        # On the cloud's clock, as the stages are: in a sandbox whose clock runs fast or stands still, a wall-clock
        # time would put the log out of order with the stages.
        self.registry.append_event(deployment.id, kind, action, actor=actor or self.operator,
                                   detail=dict(detail or {}), at=self.ports.now())

    def act(self, deployment: Deployment, action: str, detail: Mapping[str, Any], send: Callable[[], Any], *,
            in_place: bool = False) -> Any:
        """Write-ahead: the intent is in the registry before `send` runs, the outcome after.

        `in_place` says the provider already shows the effect, so nothing is sent. If a killed console
        wrote this intent and died before recording its outcome, it is closed now as done ("observed"),
        so every intent in the registry ends with exactly one outcome.
        """
        if in_place:
            if self._open_intent(deployment, action, detail):
                self.record(deployment, "done", action, {**detail, "observed": True})
            return None
        self.record(deployment, "intent", action, detail)
        try:
            result = send()
        except Exception as exc:
            self.record(deployment, "failed", action, {**detail, "error": str(exc)})
            raise
        self.record(deployment, "done", action, detail)
        return result

    def _open_intent(self, deployment: Deployment, action: str, detail: Mapping[str, Any]) -> bool:
        """Whether the newest record of this exact action is an intent with no outcome after it."""
        wanted = dict(detail)
        for event in reversed(self.registry.events(deployment.id)):
            if event.action == action and {k: v for k, v in event.detail.items() if k not in OUTCOME_KEYS} == wanted:
                return event.kind == "intent"
        return False

    # -- stages ------------------------------------------------------------------------------------------

    def finish_stage(self, deployment: Deployment, rollout: Rollout, outcome: StageStatus = StageStatus.SUCCEEDED,
                     **changes: Any) -> Deployment:
        index = rollout.stage
        stage = rollout.plan.stages[index]
        rollout.stage += 1
        rollout.waiting_for = ""
        records = self._stage_records(deployment, index, outcome)
        deployment = self.save(deployment, rollout, stages=records, **changes)
        self.emit(StageFinished(deployment.id, deployment.environment, self.ports.now(), index, stage.name,
                                str(outcome)))
        return deployment

    def _stage_records(self, deployment: Deployment, index: int, status: StageStatus) -> list[StageRecord]:
        now = self.ports.now()
        records = [r.model_copy() for r in deployment.stages]
        record = records[index]
        started = record.started_at or now
        ended = now if status in (StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.SKIPPED) else None
        records[index] = record.model_copy(update={"status": status, "started_at": started, "ended_at": ended})
        return records

    def mark_stage(self, deployment: Deployment, rollout: Rollout, status: StageStatus) -> Deployment:
        """Record the current stage's status (and timings) without moving on."""
        return self.save(deployment, rollout, stages=self._stage_records(deployment, rollout.stage, status))

    # -- waiting and ending ------------------------------------------------------------------------------

    def wait(self, deployment: Deployment, rollout: Rollout, reason: str, *, operator: bool = False,
             seconds: float | None = None, tell: tuple[NotifiedEvent, str] | None = None) -> Tick:
        """Say what the deployment waits on (once, when it changes); `operator` asks a person to act; `tell`
        (event, text) is announced with it, once, under the environment's paging rule."""
        wake_at: datetime | None = self.ports.now() + timedelta(seconds=seconds) if seconds is not None else None
        if rollout.waiting_for != reason or rollout.waits_for_person != operator:
            rollout.waiting_for = reason
            rollout.waits_for_person = operator
            self.save(deployment, rollout)
            if operator:
                self.emit(WaitingForOperator(deployment.id, deployment.environment, self.ports.now(), reason))
            if tell is not None:
                self.announce(deployment, self.announcement(deployment, *tell))
        return Tick("operator" if operator else "waiting", reason, wake_at)

    def end(self, deployment: Deployment, rollout: Rollout, status: DeploymentStatus, summary: str,
            cause: str | None = None, metadata: Mapping[str, Any] | None = None) -> Tick:
        rollout.waiting_for = ""
        rollout.waits_for_person = False
        changes: dict[str, Any] = {"status": status, "ended_at": self.ports.now()}
        if cause:
            changes["rollback_cause"] = cause
        deployment = self.save(deployment, rollout, beside=metadata, **changes)
        self.emit(DeploymentFinished(deployment.id, deployment.environment, self.ports.now(), str(status), summary))
        self._metric(deployment.environment, deployment, str(status))
        self._dashboard(deployment, rollout)
        return Tick("finished", summary)

    # -- telling -----------------------------------------------------------------------------------------

    def emit(self, event: EngineEvent) -> None:
        self.bus.emit(event)

    def notify(self, deployment: Deployment, summary: str, severity: str = "info") -> None:
        self.notify_change(deployment.environment, deployment.id, summary, severity)

    def announcement(self, deployment: Deployment, event: NotifiedEvent, text: str) -> Announcement:
        """`event` of this deployment under its environment's paging rule (a page, or Slack only)."""
        env = deployment.environment
        return announcement(self.environment(env).notifications.rules(env), event, text,
                            deployment_dedup_key(deployment.id))

    def announce(self, deployment: Deployment, said: Announcement) -> None:
        """Send `said` on every channel; a channel that fails is a note on the deployment, never fatal."""
        failures = self.ports.notify(said.notice({"deployment": deployment.id, "environment": deployment.environment}))
        if said.pagerduty != "none":  # the page's lifecycle on the deployment's log (core/engine/pages.py reads it)
            self.registry.append_event(deployment.id, "note", "paged" if said.pagerduty == "page" else "page resolved",
                                       actor=self.operator, at=self.ports.now(), detail={"dedup_key": said.dedup_key})
        for failure in failures:
            self.registry.append_event(deployment.id, "note", "notification failed", actor=self.operator,
                                       at=self.ports.now(), detail={"error": failure})

    def notify_change(self, env: str, deployment_id: str, summary: str, severity: str = "info") -> None:
        failures = self.ports.notify(Notice(summary=summary, severity=severity, source=f"opsconsole/{env}",
                                            details={"deployment": deployment_id, "environment": env},
                                            dedup_key=f"opsconsole-{deployment_id}"))
        for failure in failures:
            self.registry.append_event(deployment_id, "note", "notification failed", actor=self.operator,
                                       at=self.ports.now(),
                                       detail={"error": failure})

    def _metric(self, env: str, deployment: Deployment, kind: str) -> None:
        for component in deployment.versions:
            try:
                self.ports.metrics(env).write_deployment_event(env, component, kind)
            except Exception as exc:  # a dashboard point is not worth failing a deployment for
                self.record(deployment, "note", "deployment metric not written", {"error": str(exc)})

    def _dashboard(self, deployment: Deployment, rollout: Rollout) -> None:
        """Point the environment's dashboard at this rollout's canary and stable revisions (best effort)."""
        if self.ports.dashboards is None or not rollout.service:
            return
        env = deployment.environment
        try:
            self.ports.dashboards(env).upsert_environment(env, rollout.service, canary_revision=rollout.new_revision,
                                                          stable_revision=rollout.stable_revision)
        except Exception as exc:  # a dashboard is not worth failing a deployment for; the deployment is archived
            self.emit(Note(deployment.id, env, self.ports.now(), f"dashboard of {env} not updated: {exc}"))

    @staticmethod
    def describe_versions(versions: Mapping[str, str]) -> str:
        return ", ".join(f"{c} {v}" for c, v in sorted(versions.items()))
