"""The deployment engine's facade: start a deployment, then reconcile it one step per tick until it ends.

Reconcile, don't script: each tick reads the deployment's persisted rollout status and what the
providers report, and takes the one action that closes the gap (core.engine.steps). Every action is
written to the registry as an intent before it is sent and as done after; a console killed at any
moment is started again, reads the registry, asks the providers what is true and carries on without
applying a step twice. The CLI and the TUI call these same methods.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from core.access import AccessGate
from core.config import COMPONENTS, ConsoleConfig
from core.engine import steps
from core.engine.bus import EventBus
from core.engine.context import StepContext
from core.engine.lock import EnvironmentLock
from core.engine.planning import plan_for
from core.engine.tick import Tick
from core.errors import BadInput, Refused
from core.model.actions import ActionState, FourEyes, available_actions
from core.model.deployment import TERMINAL_STATUSES, Deployment, DeploymentStatus, StageRecord, StageStatus
from core.model.events import Note, StageStarted
from core.model.rollout import Rollout
from core.ports import Ports
from core.registry import Lease, Registry
from core.registry.errors import LeaseLost, RegistryUnreachable

RETAKE_S = 30.0  # how long a driver waits for a restarted registry before it gives up the environment


class Engine(StepContext):
    """Runs deployments for one configuration, registry and set of providers, on behalf of one operator."""

    def __init__(self, config: ConsoleConfig, registry: Registry, ports: Ports, *, operator: str,
                 bus: EventBus | None = None, lock_dir: Path | None = None, verify_messages: int = 10,
                 read_only: bool = False, gate: AccessGate | None = None) -> None:
        """`gate` is the console's (core.access.gate_for: its file and rules); by default the configuration's."""
        super().__init__(config, registry, ports, operator=operator, bus=bus, verify_messages=verify_messages)
        self.lock_dir = lock_dir or registry.work_dir / "locks"
        gate = gate or AccessGate(config, operator)
        self.gate = replace(gate, read_only=gate.read_only or read_only)  # every change asks it, TUI and CLI alike
        self._locks: dict[str, Lease] = {}

    @property
    def read_only(self) -> bool:
        return self.gate.read_only

    @read_only.setter
    def read_only(self, value: bool) -> None:
        self.gate = replace(self.gate, read_only=value)

    # -- access ------------------------------------------------------------------------------------

    def refusal(self, env: str) -> str | None:
        """Why this operator may change nothing in `env` (the access gate's answer), or None when they may."""
        self.environment(env)  # an unknown environment is bad input, not a refusal
        return self.gate.refusal(env, "act")

    def check_access(self, env: str) -> str:
        """The operator, if the access gate lets them act on `env`; refused in one sentence otherwise."""
        self.environment(env)
        return self.gate.check(env, "act")

    def actions(self, env: str, active: Deployment | None) -> dict[str, ActionState]:
        """What this operator may do in `env` with `active` running (None: nothing runs), each with the reason it
        cannot: the model's rule, with this console's access."""
        return available_actions(env, active, requires_approval=self.environment(env).requires_approval,
                                 refused=self.refusal(env), four_eyes=self.four_eyes(env))

    def four_eyes(self, env: str) -> FourEyes | None:
        """The environment's distinct-approver rule for this operator, when it applies (see EnvironmentConfig)."""
        config = self.environment(env)
        wanted = config.distinct_approver
        if wanted is None:
            wanted = env == "production" and config.requires_approval and self.registry.shared
        return FourEyes(self.operator, self.gate.allowed(env)) if wanted else None

    def who_may_act(self, deployment: Deployment) -> tuple[str, ...]:
        """Who may take the step the deployment waits for: the allow-list, less the deployer where four eyes rule."""
        env = deployment.environment
        allowed = self.gate.allowed(env)
        approval_pending = self.environment(env).requires_approval and Rollout.of(deployment).approval is None
        if approval_pending and self.four_eyes(env) is not None:
            allowed = tuple(name for name in allowed if name != deployment.actor)  # an approval, by someone else
        return allowed

    def lock(self, env: str) -> Lease:
        """The environment's driver lease: the shared registry's (fenced), else a file lock beside the registry."""
        if env not in self._locks:
            lease = self.registry.lease(env, self.operator)
            self._locks[env] = lease if lease is not None else EnvironmentLock(self.lock_dir, env, self.operator)
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
        if (why := self.actions(env, self.active(env))["deploy"].unavailable) is not None:
            raise Refused(why)  # one deployment per environment: the state says no, the input was fine
        stable = self.serving_revision(env) if "websocket-server" in versions else None
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
        }, at=now)
        self.registry.append_event(deployment_id, "note", "deployment planned", actor=actor,
                                   detail={"stages": [s.name for s in rollout.plan.stages], "stable": stable,
                                           "notes": list(rollout.plan.notes)}, at=now)
        planned = " → ".join(s.name for s in rollout.plan.stages)
        self.emit(Note(deployment_id, env, now, f"deployment planned: {planned}"))
        what = self.describe_versions(versions)
        self.notify_change(env, deployment_id, f"{actor} started deploying {what} to {env}")
        return self.get(deployment_id)

    def serving_revision(self, env: str) -> str | None:
        """The revision Cloud Run serves most traffic from now: the stable one a new deployment starts from."""
        service = self.environment(env).infrastructure.service_name
        return self.ports.cloudrun(env).get_service(service).serving_revision

    # -- reconcile ---------------------------------------------------------------------------------

    def tick(self, deployment_id: str) -> Tick:
        """Take the one action that moves the deployment on (or say what it waits for)."""
        deployment = self.get(deployment_id)
        if deployment.status in TERMINAL_STATUSES:
            return Tick("finished", f"deployment {deployment.status}")
        rollout = Rollout.of(deployment)
        if rollout.abort is not None:
            return steps.roll_back(self, deployment, rollout, rollout.abort["cause"], rollout.abort["actor"])
        if rollout.paused and not rollout.judging:  # a paused step is still judged: safety never pauses
            return self.wait(deployment, rollout, "paused by the operator; resume to continue", operator=True)
        if self.environment(deployment.environment).requires_approval and rollout.approval is None:
            env = deployment.environment
            who = ", ".join(self.who_may_act(deployment)) or "nobody on the allow-list"
            return self.wait(deployment, rollout, f"{env} needs an approval by an allowed operator "
                             f"(opsconsole approve {env})", operator=True,
                             tell=("approval_wait", f"{env}: deployment {deployment.id} of "
                                   f"{self.describe_versions(deployment.versions)} by {deployment.actor} waits for "
                                   f"approval; who may approve: {who} (opsconsole approve {env})"))
        if deployment.status == DeploymentStatus.PENDING:
            deployment = self.registry.update_deployment(deployment.id, status=DeploymentStatus.IN_PROGRESS,
                                                         at=self.ports.now())
        if rollout.manual_weight is not None:
            return steps.apply_manual_weight(self, deployment, rollout)
        stage = rollout.current
        if stage is None:
            return steps.finalize(self, deployment, rollout)
        if deployment.stages[rollout.stage].status == StageStatus.PENDING:
            deployment = self.mark_stage(deployment, rollout, StageStatus.IN_PROGRESS)
            self.emit(StageStarted(deployment.id, deployment.environment, self.ports.now(), rollout.stage, stage.name))
        return steps.HANDLERS[stage.kind](self, deployment, rollout)

    def drive(self, deployment_id: str, *, sleep: Callable[[float], None], max_ticks: int = 10_000,
              stop: Callable[[], bool] = lambda: False) -> Tick:
        """Tick until the deployment ends or needs the operator, sleeping (sandbox time) while it waits."""
        env = self.get(deployment_id).environment
        if self.read_only:
            raise Refused(f"this console is read-only: it does not drive deployments in {env}")
        lease = self.lock(env)
        lease.acquire()
        try:
            tick = Tick("progressed", "")
            unreachable_since: float | None = None
            for _ in range(max_ticks):
                if stop():
                    break
                if lease.lost:
                    self._retake(lease, env)
                try:
                    tick = self.tick(deployment_id)
                    unreachable_since = None
                except LeaseLost:  # a write was refused whole by the fence: nothing half-done, tick again
                    self._retake(lease, env)
                    continue
                except RegistryUnreachable:
                    # The registry went away mid-tick (a restart, a network blip): the transaction was rolled back
                    # or committed whole, and the next tick reconciles from what it records, as after a crash.
                    unreachable_since = unreachable_since or time.monotonic()
                    if time.monotonic() - unreachable_since > RETAKE_S:
                        raise
                    time.sleep(0.5)
                    continue
                if tick.state in ("finished", "operator"):
                    return tick
                if tick.state == "waiting":
                    pause = 1.0 if tick.wake_at is None else (tick.wake_at - self.ports.now()).total_seconds()
                    sleep(min(max(pause, 0.05), 5.0))
            return tick
        finally:
            lease.release()

    def _retake(self, lease: Lease, env: str) -> None:
        """The lease's session ended (a restarted or unreachable database): take it again if nobody else has, and
        carry on from what the registry records; if another console took over, stop here, applying nothing more."""
        lease.release()
        deadline = time.monotonic() + RETAKE_S
        while True:
            try:
                taken = lease.try_acquire()
                break
            except RegistryUnreachable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        if not taken:
            owner = lease.owner()
            raise LeaseLost(env, owner.describe() if owner is not None else None)
        self.emit(Note(self.active_id(env), env, self.ports.now(),
                       "the registry connection dropped and this console took the lease again"))

    def active_id(self, env: str) -> str:
        found = self.active(env)
        return found.id if found is not None else ""

    def unfinished(self) -> list[Deployment]:
        """Deployments a previous console left running; `drive` each to carry on from what is true."""
        return list(self.registry.active_deployments())
