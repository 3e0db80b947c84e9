"""A deployment engine wired to a real in-process sandbox cloud whose clock only moves when the engine sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from console.wiring import Wiring, seed_from_config
from core.config import ConsoleConfig, default_config
from core.engine import Engine, EngineEvent, EventBus, Rollout, Tick
from core.registry import Deployment, DeploymentRegistry, Registry
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.monitoring_ingest import FAST as FAST_POINTS
from sandbox.monitoring_ingest import Ingestion

OPERATOR = "alice"
IMAGE = "us-central1-docker.pkg.dev/ai-agent-network-prod/agent-network/websocket-server:v2.0.0"
START = 1_790_000_000.0
"""A fixed sandbox epoch: with it the simulated traffic, and so every verdict, is the same on every run."""


def rig_config(**production_strategy: object) -> ConsoleConfig:
    """The default configuration, alice and bob operating, production's strategy changed by the keywords.

    Production's probe stream (on by default) is off unless `probes` is given: a burst is real requests with real
    latency, about 0.6 s of wall time per judged window here, and these tests judge Cloud Monitoring's stream;
    tests/test_engine_probes.py turns it on. Dev and staging keep the defaults."""
    config = default_config()
    data = config.model_dump()
    data["teams"] = {"operations": [OPERATOR, "bob"]}
    strategy = data["environments"]["production"]["strategy"]
    strategy.update(production_strategy)
    if "probes" not in production_strategy and strategy.get("kind") in ("canary", "blue-green"):
        strategy["probes"] = {"enabled": False}
    return ConsoleConfig.model_validate(data)


@dataclass
class Rig:
    cloud: SandboxCloud
    clock: SandboxClock
    wiring: Wiring
    engine: Engine
    registry: Registry
    events: list[EngineEvent] = field(default_factory=list)
    _extra: list[Wiring] = field(default_factory=list)

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

    def rollout(self, deployment_id: str) -> Rollout:
        return Rollout.of(self.deployment(deployment_id))

    def tick_until(self, deployment_id: str, done: Callable[[Rollout], bool], max_ticks: int = 500) -> Tick:
        """Tick (sleeping sandbox time while it waits) until `done(rollout)` holds; fails if it never does."""
        for _ in range(max_ticks):
            if done(self.rollout(deployment_id)):
                return Tick("progressed", "condition reached")
            tick = self.engine.tick(deployment_id)
            if tick.state in ("finished", "operator") and not done(self.rollout(deployment_id)):
                raise AssertionError(f"stopped before the condition held: {tick}")
            if tick.state == "waiting":
                self.sleep(2.0)
        raise AssertionError(f"condition not reached in {max_ticks} ticks")

    def restarted(self, operator: str = OPERATOR) -> Engine:
        """A new console on the same registry file and cloud: new registry handle, providers, engine and bus."""
        wiring = Wiring.for_sandbox(self.engine.config, self.cloud)
        self._extra.append(wiring)
        return Engine(self.engine.config, DeploymentRegistry(self.registry.path), wiring.ports(), operator=operator,
                      verify_messages=self.engine.verify_messages)


@contextmanager
def rig(tmp_path: Path, *, scenario: str = "healthy", config: ConsoleConfig | None = None,
        start: float | None = START, registry: Registry | None = None, random_seed: int = 0,
        ingestion: Ingestion = FAST_POINTS, state_file: Path | None = None) -> Iterator[Rig]:
    """`start` pins the sandbox clock (epoch seconds) so the simulated traffic is the same on every run;
    `registry` (default: an embedded one in tmp_path) is where the engine records; `random_seed` is the
    sandbox's own (revision names, what the revisions' servers answer); `ingestion` how Monitoring serves Cloud
    Run's points (default: 10 s, visible at once; not Google's, for the speed of 10 s windows); with `state_file`
    the sandbox saves itself there, so `opsconsole` commands run meanwhile attach to it."""
    config = config or rig_config()
    clock = SandboxClock(speed=0, start=start)
    cloud = SandboxCloud(seed=seed_from_config(config), scenario=scenario, clock=clock,
                         random_seed=random_seed, ingestion=ingestion, state_file=state_file).start()
    wiring = Wiring.for_sandbox(config, cloud)
    registry = registry or DeploymentRegistry(tmp_path / "registry.json")
    bus = EventBus()
    engine = Engine(config, registry, wiring.ports(), operator=OPERATOR, bus=bus, verify_messages=5)
    built = Rig(cloud, clock, wiring, engine, registry)
    bus.subscribe(built.events.append)
    try:
        yield built
    finally:
        engine.release_locks()
        for extra in built._extra:
            extra.close()
        wiring.close()
        cloud.stop()
