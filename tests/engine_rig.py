"""A deployment engine wired to a real in-process sandbox cloud whose clock only moves when the engine sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from console.wiring import Wiring, seed_from_config
from core.config import ConsoleConfig, default_config
from core.engine import Engine, EngineEvent, EventBus, Tick
from core.registry import Deployment, DeploymentRegistry
from core.sandbox.clock import SandboxClock
from core.sandbox.cloud import SandboxCloud

OPERATOR = "alice"
IMAGE = "us-central1-docker.pkg.dev/ai-agent-network-prod/agent-network/websocket-server:v2.0.0"


def rig_config(**production_strategy: object) -> ConsoleConfig:
    config = default_config()
    data = config.model_dump()
    data["teams"] = {"operations": [OPERATOR, "bob"]}
    data["environments"]["production"]["strategy"].update(production_strategy)
    return ConsoleConfig.model_validate(data)


@dataclass
class Rig:
    cloud: SandboxCloud
    clock: SandboxClock
    wiring: Wiring
    engine: Engine
    registry: DeploymentRegistry
    events: list[EngineEvent] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def drive(self, deployment_id: str) -> Tick:
        return self.engine.drive(deployment_id, sleep=self.sleep)

    def deployment(self, deployment_id: str) -> Deployment:
        found = self.registry.get_deployment(deployment_id)
        assert found is not None
        return found

    def served(self, env: str = "production") -> dict[str, int]:
        return dict(self.wiring.cloudrun(env).get_service("websocket-server").traffic)

    def engine_for(self, operator: str) -> Engine:
        return Engine(self.engine.config, self.registry, self.engine.ports, operator=operator, bus=self.engine.bus)


@contextmanager
def rig(tmp_path: Path, *, scenario: str = "healthy", config: ConsoleConfig | None = None) -> Iterator[Rig]:
    config = config or rig_config()
    clock = SandboxClock(speed=0)
    cloud = SandboxCloud(seed=seed_from_config(config), scenario=scenario, clock=clock).start()
    wiring = Wiring.for_sandbox(config, cloud)
    registry = DeploymentRegistry(tmp_path / "registry.json")
    bus = EventBus()
    engine = Engine(config, registry, wiring.ports(), operator=OPERATOR, bus=bus, verify_messages=5)
    built = Rig(cloud, clock, wiring, engine, registry)
    bus.subscribe(built.events.append)
    try:
        yield built
    finally:
        engine.release_locks()
        wiring.close()
        cloud.stop()
