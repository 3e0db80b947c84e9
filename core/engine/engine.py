"""The deployment engine: start a deployment, then reconcile it one step per tick until it ends.

Reconcile, don't script: each tick reads the deployment's persisted rollout status and what the
providers report, and takes the one action that closes the gap. Every action is written to the
registry as an intent before it is sent and as done after; a console killed at any moment is
started again, reads the registry, asks the providers what is true and carries on without applying
a step twice. The CLI and the TUI call these same methods.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.config import COMPONENTS, ConsoleConfig, EnvironmentConfig
from core.engine import stages
from core.engine.events import (
    DeploymentFinished,
    EngineEvent,
    EventBus,
    Note,
    StageFinished,
    StageStarted,
    WaitingForOperator,
)
from core.engine.lock import EnvironmentLock
from core.engine.planning import plan_for
from core.engine.ports import Ports
from core.engine.rollout import Rollout
from core.engine.tick import Tick
from core.errors import BadInput, OperationFailed
from core.providers.notify import Notice
from core.registry import Deployment, DeploymentRegistry, DeploymentStatus, StageRecord, StageStatus

OUTCOME_KEYS = ("error", "observed")  # what an outcome adds to its intent's detail


def current_operator(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get("OPSCONSOLE_OPERATOR") or getpass.getuser()


class Engine:
    """Runs deployments for one configuration, registry and set of providers, on behalf of one operator."""

    def __init__(self, config: ConsoleConfig, registry: DeploymentRegistry, ports: Ports, *, operator: str,
                 bus: EventBus | None = None, lock_dir: Path | None = None, verify_messages: int = 10,
                 read_only: bool = False) -> None:
        self.config = config
        self.registry = registry
        self.ports = ports
        self.operator = operator
        self.bus = bus or EventBus()
        self.lock_dir = lock_dir or registry.path.parent / "locks"
        self.verify_messages = verify_messages
        self.read_only = read_only  # refuse every change here, so the TUI and CLI are refused alike
        self._locks: dict[str, EnvironmentLock] = {}

    # -- access ------------------------------------------------------------------------------------

    def environment(self, name: str) -> EnvironmentConfig:
        return self.config.environment(name)

    def check_access(self, env: str, actor: str | None = None) -> str:
        """The operator, if allowed to act on `env`; otherwise a BadInput that says who is allowed."""
        actor = actor or self.operator
        if self.read_only:
            raise OperationFailed(f"this console is read-only: {env} was not changed")
        access = self.environment(env).access
        if not access.allows(actor, self.config.teams):
            allowed = ", ".join([*(f"operator {o}" for o in access.operators), *(f"team {g}" for g in access.groups)])
            raise BadInput(f"operator {actor} may not act on {env} (allowed: {allowed or 'nobody'}); "
                           "add them to the team in opsconsole.toml under [teams]")
        return actor

    def lock(self, env: str) -> EnvironmentLock:
        if env not in self._locks:
            self._locks[env] = EnvironmentLock(self.lock_dir, env, self.operator)
        return self._locks[env]

    def release_locks(self) -> None:
        for lock in self._locks.values():
            lock.release()

    # -- starting ----------------------------------------------------------------------------------

    def active(self, env: str) -> Deployment | None:
        found = self.registry.get_environment_state(env).active
        return found[0] if found else None

    def deploy_to_environment(self, env: str, versions: Mapping[str, str], *, strategy: str | None = None,
                              mode: str | None = None, ci_status: str | None = None,
                              note: str = "", commit_times: Mapping[str, datetime] | None = None) -> Deployment:
        """Validate, check prerequisites, plan and register a deployment; `tick` then carries it out.

        `commit_times` (component -> time of the commit its version was built from), when the caller knows
        them, are recorded as metadata["commit_times"] for the reports' lead time for changes.
        """
        config = self.environment(env)
        actor = self.check_access(env)
        unknown = sorted(set(versions) - set(COMPONENTS))
        if unknown or not versions:
            raise BadInput(f"name the component versions to deploy as COMPONENT=VERSION with components "
                           f"{', '.join(COMPONENTS)}" + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
        if any(not v.strip() for v in versions.values()):
            raise BadInput("every component needs a version (an image for websocket-server, a git ref for frontend)")
        if ci_status is not None and ci_status != "success":
            raise BadInput(f"CI status for these versions is {ci_status!r}; deploy only builds whose CI succeeded")
        running = self.active(env)
        if running is not None:
            raise OperationFailed(f"{env} already has deployment {running.id} ({running.status}); "
                                  "finish, abort or roll it back first")
        service = config.infrastructure.service_name
        stable = None
        if "websocket-server" in versions:
            serving = self.ports.cloudrun(env).get_service(service)
            stable = max(serving.traffic, key=lambda r: serving.traffic[r]) if serving.traffic else None
        rollout = plan_for(config, versions, stable=stable, strategy=strategy, mode=mode)
        now = self.ports.now()
        deployment_id = self.registry.register_deployment({
            "environment": env, "versions": dict(versions), "strategy": strategy or config.strategy.kind,
            "actor": actor, "started_at": now, "status": DeploymentStatus.PENDING,
            "stages": [StageRecord(name=s.name, status=StageStatus.PENDING).model_dump(mode="json")
                       for s in rollout.plan.stages],
            "metadata": {"rollout": rollout.dump(), "note": note,
                         **({"commit_times": {c: t.isoformat() for c, t in commit_times.items() if c in versions}}
                            if commit_times else {})},
        })
        self.registry.append_event(deployment_id, "note", "deployment planned", actor=actor,
                                   detail={"stages": [s.name for s in rollout.plan.stages], "stable": stable,
                                           "notes": list(rollout.plan.notes)})
        self._emit(Note(deployment_id, env, now,
                        f"deployment planned: {' → '.join(s.name for s in rollout.plan.stages)}"))
        what = self.describe_versions(versions)
        self._notify_change(env, deployment_id, f"{actor} started deploying {what} to {env}")
        return self.get(deployment_id)

    # -- reconcile ---------------------------------------------------------------------------------

    def get(self, deployment_id: str) -> Deployment:
        found = self.registry.get_deployment(deployment_id)
        if found is None:
            raise BadInput(f"no deployment with id {deployment_id!r}")
        return found

    def tick(self, deployment_id: str) -> Tick:
        """Take the one action that moves the deployment on (or say what it waits for)."""
        deployment = self.get(deployment_id)
        if deployment.status in (DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED,
                                 DeploymentStatus.ROLLED_BACK, DeploymentStatus.ABORTED):
            return Tick("finished", f"deployment {deployment.status}")
        rollout = Rollout.of(deployment)
        if rollout.abort is not None:
            return stages.roll_back(self, deployment, rollout, rollout.abort["cause"], rollout.abort["actor"])
        stage = rollout.current
        judging = stage is not None and rollout.routed_stage == rollout.stage and stage.validation is not None \
            and stage.validation.judge
        if rollout.paused and not judging:  # a paused canary still judges its windows: safety never pauses
            return self._wait(deployment, rollout, "paused by the operator; resume to continue", operator=True)
        if self.environment(deployment.environment).requires_approval and rollout.approval is None:
            return self._wait(deployment, rollout, f"{deployment.environment} needs an approval by an allowed "
                              f"operator (opsconsole approve {deployment.environment})", operator=True)
        if deployment.status == DeploymentStatus.PENDING:
            deployment = self.registry.update_deployment(deployment.id, status=DeploymentStatus.IN_PROGRESS)
        if rollout.manual_weight is not None:
            return stages.apply_manual_weight(self, deployment, rollout)
        if stage is None:
            return stages.finalize(self, deployment, rollout)
        if deployment.stages[rollout.stage].status == StageStatus.PENDING:
            deployment = self.mark_stage(deployment, rollout, StageStatus.IN_PROGRESS)
            self._emit(StageStarted(deployment.id, deployment.environment, self.ports.now(), rollout.stage, stage.name))
        handler: Callable[[Engine, Deployment, Rollout], Tick] = stages.HANDLERS[stage.kind]
        return handler(self, deployment, rollout)

    def drive(self, deployment_id: str, *, sleep: Callable[[float], None], max_ticks: int = 10_000,
              stop: Callable[[], bool] = lambda: False) -> Tick:
        """Tick until the deployment ends or needs the operator, sleeping (sandbox time) while it waits."""
        env = self.get(deployment_id).environment
        if self.read_only:
            raise OperationFailed(f"this console is read-only: it does not drive deployments in {env}")
        self.lock(env).acquire()
        try:
            tick = Tick("progressed", "")
            for _ in range(max_ticks):
                if stop():
                    break
                tick = self.tick(deployment_id)
                if tick.state in ("finished", "operator"):
                    return tick
                if tick.state == "waiting":
                    pause = 1.0 if tick.wake_at is None else (tick.wake_at - self.ports.now()).total_seconds()
                    sleep(min(max(pause, 0.05), 5.0))
            return tick
        finally:
            self.lock(env).release()

    def unfinished(self) -> list[Deployment]:
        """Deployments a previous console left running; `drive` each to carry on from what is true."""
        return list(self.registry.active_deployments())

    # -- shared helpers for stages and actions --------------------------------------------------------

    def save(self, deployment: Deployment, rollout: Rollout, **changes: Any) -> Deployment:
        return self.registry.update_deployment(deployment.id, metadata={"rollout": rollout.dump()}, **changes)

    def record(self, deployment: Deployment, kind: str, action: str, detail: Mapping[str, Any] | None = None,
               actor: str | None = None) -> None:
        self.registry.append_event(deployment.id, kind, action, actor=actor or self.operator, detail=dict(detail or {}))

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

    def finish_stage(self, deployment: Deployment, rollout: Rollout, outcome: StageStatus = StageStatus.SUCCEEDED,
                     **changes: Any) -> Deployment:
        index = rollout.stage
        stage = rollout.plan.stages[index]
        rollout.stage += 1
        rollout.waiting_for = ""
        records = self._stage_records(deployment, index, outcome)
        deployment = self.save(deployment, rollout, stages=records, **changes)
        self._emit(StageFinished(deployment.id, deployment.environment, self.ports.now(), index, stage.name,
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

    def _wait(self, deployment: Deployment, rollout: Rollout, reason: str, *, operator: bool = False,
              wake_at: datetime | None = None) -> Tick:
        if rollout.waiting_for != reason:
            rollout.waiting_for = reason
            self.save(deployment, rollout)
            if operator:
                self._emit(WaitingForOperator(deployment.id, deployment.environment, self.ports.now(), reason))
        return Tick("operator" if operator else "waiting", reason, wake_at)

    def wait(self, deployment: Deployment, rollout: Rollout, reason: str, *, operator: bool = False,
             seconds: float | None = None) -> Tick:
        wake = self.ports.now() + timedelta(seconds=seconds) if seconds is not None else None
        return self._wait(deployment, rollout, reason, operator=operator, wake_at=wake)

    def end(self, deployment: Deployment, rollout: Rollout, status: DeploymentStatus, summary: str,
            cause: str | None = None) -> Tick:
        rollout.waiting_for = ""
        changes: dict[str, Any] = {"status": status, "ended_at": self.ports.now()}
        if cause:
            changes["rollback_cause"] = cause
        deployment = self.save(deployment, rollout, **changes)
        self._emit(DeploymentFinished(deployment.id, deployment.environment, self.ports.now(), str(status), summary))
        self._metric(deployment.environment, deployment, str(status))
        self._dashboard(deployment, rollout)
        return Tick("finished", summary)

    def _emit(self, event: EngineEvent) -> None:
        self.bus.emit(event)

    def emit(self, event: EngineEvent) -> None:
        self._emit(event)

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
            self._emit(Note(deployment.id, env, self.ports.now(), f"dashboard of {env} not updated: {exc}"))

    def _notify_change(self, env: str, deployment_id: str, summary: str, severity: str = "info") -> None:
        failures = self.ports.notify(Notice(summary=summary, severity=severity, source=f"opsconsole/{env}",
                                            details={"deployment": deployment_id, "environment": env},
                                            dedup_key=f"opsconsole-{deployment_id}"))
        for failure in failures:
            self.registry.append_event(deployment_id, "note", "notification failed", actor=self.operator,
                                       detail={"error": failure})

    def notify(self, deployment: Deployment, summary: str, severity: str = "info") -> None:
        self._notify_change(deployment.environment, deployment.id, summary, severity)

    @staticmethod
    def describe_versions(versions: Mapping[str, str]) -> str:
        return ", ".join(f"{c} {v}" for c, v in sorted(versions.items()))
