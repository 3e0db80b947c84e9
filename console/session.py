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

from core.errors import BadInput

if TYPE_CHECKING:
    from console.wiring import Wiring
    from core.access import AccessGate
    from core.config import LoadedConfig
    from core.engine import Engine, EventBus
    from core.registry import PostgresLocation, Registry


@dataclass
class Session:
    """Options from the command line; the config and registry are loaded on first use."""

    config_file: Path | None = None
    registry_setting: str | None = None  # --registry: a file path or a postgresql:// URL
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    read_only: bool = False  # --read-only: every change is refused by the access gate, reads work as ever
    _loaded: LoadedConfig | None = None
    _registry: Registry | None = None
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

    def resolve_registry_location(self) -> Path | PostgresLocation:
        """--registry, then OPSCONSOLE_REGISTRY, then `registry` (or `registry_path`) in the config, then the data dir.

        A file path is the embedded single-user registry; a postgresql:// URL is the team's shared one.
        """
        from core.registry import default_registry_path, registry_location

        if self.registry_setting is not None:
            return registry_location(self.registry_setting)
        if self.environ.get("OPSCONSOLE_REGISTRY"):
            return registry_location(self.environ["OPSCONSOLE_REGISTRY"], where="OPSCONSOLE_REGISTRY")
        config = self.loaded.config
        if config.registry is not None:
            return registry_location(config.registry)
        if config.registry_path is not None:
            return Path(config.registry_path).expanduser()
        return default_registry_path()

    def resolve_registry_path(self) -> Path:
        """The embedded registry's file; BadInput for a shared registry (for commands that work on files)."""
        location = self.resolve_registry_location()
        if not isinstance(location, Path):
            raise BadInput(f"this command works on a registry file, and the registry is {location}")
        return location

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from core.registry import open_registry

            self._registry = open_registry(self.resolve_registry_location(), operator=self.declared_operator)
        return self._registry

    @property
    def wiring(self) -> Wiring:
        """Providers for the configured profile, connected on first use (the sandbox starts here if needed)."""
        if self._wiring is None:
            from console.wiring import connect

            self._wiring = connect(self.loaded.config, self.environ)
        return self._wiring

    @property
    def declared_operator(self) -> str:
        """Who this console says it acts for: OPSCONSOLE_OPERATOR, or the OS user."""
        from core.access import current_operator

        return current_operator(self.environ)

    @property
    def operator(self) -> str:
        """Who acts: on the shared registry the database's own user (nobody can claim to be someone else),
        else the declared name (the embedded registry and the sandbox cannot check it)."""
        identity = self.registry.identity if self.shared_registry else None
        return identity or self.declared_operator

    @property
    def shared_registry(self) -> bool:
        return not isinstance(self.resolve_registry_location(), Path)

    @property
    def gate(self) -> AccessGate:
        """The access gate every change of this invocation passes (the engine's own, once it exists)."""
        if self._engine is not None:
            return self._engine.gate
        from core.access import gate_for

        return gate_for(self.loaded, self.operator, read_only=self.read_only, shared_registry=self.shared_registry)

    @property
    def engine(self) -> Engine:
        """The engine on this session's registry and providers, acting as OPSCONSOLE_OPERATOR (or the OS user)."""
        if self._engine is None:
            from core.engine import Engine

            gate = self.gate
            ports = self.wiring.ports(self.registry, self.operator, gate)  # with Terraform, recording in this registry
            self._engine = Engine(self.loaded.config, self.registry, ports, operator=self.operator, bus=self.bus,
                                  read_only=self.read_only, gate=gate)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.release_locks()
        if self._registry is not None:
            self._registry.close()
        if self._wiring is not None:
            self._wiring.close()
            self._wiring = None
