"""One refresh of one environment for the console: what is live, what the registry says, the deployment in view.

Taken in a worker thread (it calls providers and reads the registry) and handed to the screen whole,
so the widgets never block and never see half an update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.engine import Engine, Rollout
from core.errors import OpsError
from core.live import LiveEnvironment, observe_environment
from core.registry import Deployment, EnvironmentState, StepEvent


@dataclass(frozen=True)
class EnvironmentSnapshot:
    """`deployment` is the active one, else the last finished one; `error` a registry failure, in one sentence."""

    name: str
    live: LiveEnvironment
    state: EnvironmentState
    deployment: Deployment | None
    rollout: Rollout | None
    events: tuple[StepEvent, ...]
    now: datetime
    error: str | None = None

    @property
    def active(self) -> Deployment | None:
        return self.deployment if self.deployment is not None and not self.deployment.is_terminal else None


def rollout_of(deployment: Deployment | None) -> Rollout | None:
    """The rollout status, for deployments the engine ran (a component rollback has none)."""
    if deployment is None or "rollout" not in deployment.metadata:
        return None
    return Rollout.of(deployment)


def take_snapshot(engine: Engine, name: str) -> EnvironmentSnapshot:
    """Ask the providers (each failure kept as that component's error) and the registry about one environment."""
    ports = engine.ports
    live = observe_environment(engine.environment(name), ports.cloudrun(name), ports.frontend)
    now = ports.now()
    try:
        state = engine.registry.get_environment_state(name)
        deployment = state.active[0] if state.active else state.last
        events = tuple(engine.registry.events(deployment.id)) if deployment else ()
    except OpsError as exc:
        return EnvironmentSnapshot(name, live, EnvironmentState(name=name), None, None, (), now, error=str(exc))
    return EnvironmentSnapshot(name, live, state, deployment, rollout_of(deployment), events, now)
