"""One environment's settings changed by an operator: set a key, list the changes, revert one.

The CLI (`opsconsole config set|history|revert`) and the console's palette both call these, so the rules are
written once: which file and history, how a typed value is read, that the access gate for the environment is
asked before anything is read or written, and that the whole configuration validates before it is written
(core.config.history.record_config_change).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.access import AccessGate
from core.config.history import ConfigChange, FieldChange, read_config_history, record_config_change, setting_at
from core.config.loader import default_layers, project_config_file, read_config_file
from core.config.models import ConsoleConfig
from core.errors import BadInput, Refused

WHAT = "change the configuration"  # the gate says "operator x may not change the configuration on dev"


def project_file(config_file: Path | None, environ: Mapping[str, str]) -> Path:
    """The project file a change is written to: --config, else OPSCONSOLE_CONFIG, else ./opsconsole.toml (the order
    the loader reads them in)."""
    if config_file is not None:
        return config_file
    named = environ.get("OPSCONSOLE_CONFIG")
    return Path(named) if named else project_config_file()


def history_file_for(file: Path) -> Path:
    """The history kept beside the project file (opsconsole.toml → opsconsole.history.jsonl), so it travels, and is
    reviewed, with the file it describes."""
    return file.with_name(f"{file.stem}.history.jsonl")


def parse_value(text: str) -> Any:
    """A typed value as TOML would read it (0.02, true, [10, 100], "x"), else as JSON ({"a": 1}, null, which
    removes the setting so its default applies again), else the text itself (a bare word such as canary)."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except (tomllib.TOMLDecodeError, RecursionError):
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def shown(value: Any) -> str:
    """A value as the operator reads it in a before → after line."""
    return "(not set)" if value is None else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class EnvironmentChange:
    """One recorded change as it concerns one environment: its keys relative to the environment."""

    change: ConfigChange
    fields: list[FieldChange]  # only those under environments.ENV, with the path relative to the environment

    def to_dict(self) -> dict[str, Any]:
        c = self.change
        return {"id": c.id, "at": c.at.isoformat(), "actor": c.actor, "reason": c.reason, "reverts": c.reverts,
                "changes": [{"key": f.path, "before": f.old, "after": f.new} for f in self.fields]}


@dataclass(frozen=True)
class ConfigEditor:
    """Changes to the environments of one project file, by the operator the gate names."""

    file: Path
    gate: AccessGate
    environ: Mapping[str, str]

    @property
    def history_file(self) -> Path:
        return history_file_for(self.file)

    def set(self, environment: str, key: str, value: Any, reason: str = "") -> tuple[ConfigChange, ConsoleConfig]:
        """Set `key` (dotted, inside the environment) to `value`; refused by the gate, or ConfigError naming the
        key and why when the resulting configuration is invalid. Nothing is written unless all is well."""
        actor = self.gate.check(environment, WHAT)
        path = f"environments.{environment}.{key}"
        config, change = record_config_change({path: value}, file=self.file, actor=actor,
                                              history_file=self.history_file, environ=self.environ,
                                              reason=reason.strip())
        assert change is not None  # one setting was given
        return change, config

    def revert(self, environment: str, change_id: int, reason: str = "") -> tuple[ConfigChange, ConsoleConfig]:
        """Set every setting change `change_id` made back to the value in force before it, as a change of its own."""
        actor = self.gate.check(environment, WHAT)
        history = read_config_history(self.history_file)
        found = next((c for c in history if c.id == change_id), None)
        if found is None:
            raise BadInput(f"there is no configuration change {change_id} in {self.history_file} "
                           f"(see opsconsole config history {environment})")
        prefix = f"environments.{environment}."
        if not all(f.path.startswith(prefix) for f in found.changes):
            raise BadInput(f"configuration change {change_id} is not a change of {environment} "
                           "(revert it as the environment it changed)")
        now = default_layers()
        now.add(read_config_file(self.file) or {}, str(self.file))
        moved = {f.path for f in found.changes if setting_at(now.data, tuple(f.path.split("."))) != f.new}
        later = [c for c in history if c.id > change_id and moved & {f.path for f in c.changes}]
        if moved:  # undoing it now would silently undo what was changed since
            since = f"by change {later[-1].id} ({later[-1].actor})" if later else "in the file by hand"
            raise Refused(f"configuration change {change_id} was changed again {since}; revert that one first, "
                          "or set the value with config set")
        config, change = record_config_change(
            {f.path: f.old for f in found.changes}, file=self.file, actor=actor, history_file=self.history_file,
            environ=self.environ, reason=reason.strip() or f"revert of change {change_id}", reverts=change_id)
        assert change is not None
        return change, config

    def history(self, environment: str) -> list[EnvironmentChange]:
        """Every recorded change of `environment`, newest first."""
        prefix = f"environments.{environment}."
        found = []
        for change in reversed(read_config_history(self.history_file)):
            fields = [f.model_copy(update={"path": f.path.removeprefix(prefix)})
                      for f in change.changes if f.path.startswith(prefix)]
            if fields:
                found.append(EnvironmentChange(change, fields))
        return found


def value_in_force(config: ConsoleConfig, environment: str, key: str) -> Any:
    """The value `key` has in `environment` of `config` (None: not set), read as the file would hold it."""
    node: Any = config.environment(environment).model_dump(mode="json")
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def change_lines(environment: str, change: ConfigChange, config: ConsoleConfig) -> list[str]:
    """What a change did, one line per key, before → after (after: the value now in force), as the CLI prints it
    and the console notifies it."""
    prefix = f"environments.{environment}."
    return [f"{environment} {key}: {shown(f.old)} → {shown(value_in_force(config, environment, key))}"
            for f in change.changes for key in [f.path.removeprefix(prefix)]]


def editor_for(config_file: Path | None, gate: AccessGate, environ: Mapping[str, str] | None = None) -> ConfigEditor:
    """The editor of the project file this console reads (see project_file)."""
    environ = dict(os.environ) if environ is None else environ
    return ConfigEditor(project_file(config_file, environ), gate, environ)
