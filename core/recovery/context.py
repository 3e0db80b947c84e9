"""What a recovery works with: the engine, the providers beyond the engine's ports, the clock and the operator.

The composition root (console/wiring.py) builds RecoveryPorts; the CLI and the screen build a
RecoveryContext with their own way of asking the operator (`confirm`) and of showing progress (`on_entry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from core.config import EnvironmentConfig
from core.engine import Engine
from core.providers.cloudrun import CloudRunAdapter
from core.providers.memorystore import RedisProvider
from core.providers.vercel_env import VercelEnvAdapter
from core.recovery.incident import Incident


@dataclass
class RecoveryPorts:
    """Providers recovery needs besides the engine's: Cloud Run in any region, Memorystore, Vercel env vars."""

    cloudrun_in: Callable[[str, str], CloudRunAdapter]  # (environment, region) -> adapter
    redis: RedisProvider | None = None
    frontend_env: VercelEnvAdapter | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=5.0))


def _never(question: str) -> bool:
    return False


def _ignore(entry: dict[str, Any]) -> None:
    return None


@dataclass
class RecoveryContext:
    """One operator's recovery of one environment. `confirm` asks a yes/no question (the CLI: --yes or a
    prompt; the screen: a modal); `sleep` waits sandbox or real time; `on_entry` sees every timeline entry."""

    engine: Engine
    environment: str
    ports: RecoveryPorts
    sleep: Callable[[float], None]
    confirm: Callable[[str], bool] = _never
    dry_run: bool = False
    on_entry: Callable[[dict[str, Any]], None] = _ignore
    probes: int = 12
    messages: int = 5
    ack_timeout_s: float = 1.0
    incident: Incident | None = None  # set when the incident is opened or resumed
    check_interval_s: float = 5.0  # how often a check that has not passed yet is asked again
    runbooks: Path | None = None  # a directory of runbook files instead of the built-in ones

    @property
    def looking_only(self) -> bool:
        """A dry run, or a read-only console: nothing is recorded, sent or changed. Asked by every step of
        core.recovery, so no screen or command can forget that a read-only console writes no incident."""
        return self.dry_run or self.engine.read_only

    @property
    def operator(self) -> str:
        return self.engine.operator

    @property
    def config(self) -> EnvironmentConfig:
        return self.engine.environment(self.environment)

    @property
    def service(self) -> str:
        return self.config.infrastructure.service_name

    def now(self) -> datetime:
        return self.engine.ports.now()

    def primary(self) -> CloudRunAdapter:
        return self.ports.cloudrun_in(self.environment, self.config.infrastructure.region)

    def secondary(self) -> CloudRunAdapter:
        return self.ports.cloudrun_in(self.environment, self.config.infrastructure.failover_region)

    def redis_instance(self, instance: str) -> str:
        infra = self.config.infrastructure
        return f"projects/{infra.gcp_project}/locations/{infra.region}/instances/{instance}"
