"""What one `opsconsole` invocation works with: the loaded configuration and the registry it points at.

This is the composition root's first piece: it decides which files are read, in which order the
registry location is chosen, and opens each only when a command needs it. It also imports each only
then: the group's callback makes a Session for every command, `--help` of a subcommand included, and a
command that reads the registry should not pay for the Google clients.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.wiring import Wiring
    from core.access import AccessGate
    from core.config import LoadedConfig
    from core.engine import Engine, EventBus
    from core.registry import DeploymentRegistry


@dataclass
class Session:
    """Options from the command line; the config and registry are loaded on first use."""

    config_file: Path | None = None
    registry_path: Path | None = None
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    read_only: bool = False  # --read-only: every change is refused by the access gate, reads work as ever
    _loaded: LoadedConfig | None = None
    _registry: DeploymentRegistry | None = None
    _wiring: Wiring | None = None
    _engine: Engine | None = None
    _bus: EventBus | None = None

    @property
    def bus(self) -> EventBus:
        """Engine events of this invocation: the engine publishes them, a command subscribes to print them."""
        if self._bus is None:
            from core.engine import EventBus

            self._bus = EventBus()
        return self._bus

    @property
    def loaded(self) -> LoadedConfig:
        if self._loaded is None:
            from core.config import load_config

            project_file = self.config_file
            if project_file is None and self.environ.get("OPSCONSOLE_CONFIG"):
                project_file = Path(self.environ["OPSCONSOLE_CONFIG"])
            self._loaded = load_config(project_file=project_file, environ=self.environ)
        return self._loaded

    def resolve_registry_path(self) -> Path:
        """--registry, then OPSCONSOLE_REGISTRY, then `registry_path` in the config, then the data dir."""
        from core.registry import default_registry_path

        if self.registry_path is not None:
            return self.registry_path
        if self.environ.get("OPSCONSOLE_REGISTRY"):
            return Path(self.environ["OPSCONSOLE_REGISTRY"])
        if self.loaded.config.registry_path is not None:
            return Path(self.loaded.config.registry_path).expanduser()
        return default_registry_path()

    @property
    def registry(self) -> DeploymentRegistry:
        if self._registry is None:
            from core.registry import DeploymentRegistry

            self._registry = DeploymentRegistry(self.resolve_registry_path())
        return self._registry

    @property
    def wiring(self) -> Wiring:
        """Providers for the configured profile, connected on first use (the sandbox starts here if needed)."""
        if self._wiring is None:
            from console.wiring import connect

            self._wiring = connect(self.loaded.config, self.environ)
        return self._wiring

    @property
    def operator(self) -> str:
        from core.access import current_operator

        return current_operator(self.environ)

    @property
    def gate(self) -> AccessGate:
        """The access gate every change of this invocation passes (the engine's own, once it exists)."""
        if self._engine is not None:
            return self._engine.gate
        from core.access import AccessGate

        return AccessGate(self.loaded.config, self.operator, self.read_only)

    @property
    def engine(self) -> Engine:
        """The engine on this session's registry and providers, acting as OPSCONSOLE_OPERATOR (or the OS user)."""
        if self._engine is None:
            from core.engine import Engine

            ports = self.wiring.ports(self.registry, self.operator)  # with Terraform, recording in this registry
            self._engine = Engine(self.loaded.config, self.registry, ports, operator=self.operator, bus=self.bus,
                                  read_only=self.read_only)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.release_locks()
        if self._wiring is not None:
            self._wiring.close()
            self._wiring = None
