"""Loading the configuration: built-in defaults, the user's file, the project's file, then OPSCONSOLE_*
environment variables, each layer overriding single settings of the ones before.

Every failure becomes a ConfigError whose lines name the file or variable that set the bad value.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import ValidationError

from core.config.defaults import default_config
from core.config.layers import MergedLayers
from core.config.models import ConsoleConfig
from core.config.problems import ConfigError, Problem, problems_from
from core.errors import BadInput

CONFIG_FILE_NAME = "opsconsole.toml"
DEFAULTS_SOURCE = "built-in defaults"
ENV_PREFIX = "OPSCONSOLE_"
ENV_DELIMITER = "__"
ENV_SOURCE = "environment variable "  # a layer's source name: this, then the variable's name
OPERATOR_VARIABLE = "OPSCONSOLE_OPERATOR"  # who this console says it acts for (core.access.current_operator)
RESERVED_ENV_VARS = frozenset(
    {"OPSCONSOLE_REGISTRY", "OPSCONSOLE_CONFIG", OPERATOR_VARIABLE, "OPSCONSOLE_DEBUG", "OPSCONSOLE_SANDBOX"}
)
"""OPSCONSOLE_ variables the CLI reads for itself; they are not configuration overrides."""

_ENV_KEY = re.compile(r"[a-z0-9_]+")  # what survives env_overrides' lower() in a shell variable's name
_TOML_POSITION = re.compile(r"^(?P<reason>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$", re.DOTALL)


def user_config_file() -> Path:
    """The user's configuration file, e.g. ~/.config/opsconsole/opsconsole.toml on Linux."""
    return Path(platformdirs.user_config_dir("opsconsole")) / CONFIG_FILE_NAME


def project_config_file() -> Path:
    """The project-local configuration file: opsconsole.toml in the current directory."""
    return Path.cwd() / CONFIG_FILE_NAME


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where each of its settings came from."""

    config: ConsoleConfig
    sources: list[str]
    _layers: MergedLayers = field(repr=False)
    files: tuple[Path, ...] = ()  # the files consulted, in order, read or not: the last (the project's) wins

    def origin(self, path: str) -> str:
        """Which source set the dotted setting `path` (for a table: the last source that set part of it)."""
        parts = tuple(path.split("."))
        node: Any = self._layers.data
        for part in parts:
            if not isinstance(node, dict):
                break  # inside a list or value: it was set as a whole
            if part not in node:
                raise BadInput(f"There is no setting {path} in the configuration.")
            node = node[part]
        source = self._layers.origin(parts)
        assert source is not None  # every setting present came from some layer
        return source

    def file_of(self, path: str) -> Path | None:
        """The configuration file that set the dotted setting `path`, or None when no file did."""
        source = self.origin(path)
        return next((file for file in self.files if str(file) == source), None)

    def set_by_variable(self, path: str) -> bool:
        """Whether an OPSCONSOLE_* variable set the dotted setting `path` (or, for a table, the last part of it)."""
        return self.origin(path).startswith(ENV_SOURCE)


def env_variable(setting: Sequence[str]) -> str | None:
    """The OPSCONSOLE_* variable that sets `setting` (env_overrides' rule read backwards), or None when no shell
    variable can name it (a key with upper-case letters, '-' or '__' in it)."""
    if not setting or not all(_ENV_KEY.fullmatch(key) and ENV_DELIMITER not in key for key in setting):
        return None
    return ENV_PREFIX + ENV_DELIMITER.join(key.upper() for key in setting)


def read_config_file(path: Path) -> dict[str, Any] | None:
    """The TOML table in `path`, or None if there is no such file; ConfigError if it cannot be used."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise _file_error(path, "is a directory, not a TOML configuration file") from None
    except PermissionError:
        raise _file_error(path, "cannot be read: permission denied") from None
    except OSError as error:
        raise _file_error(path, f"cannot be read: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _file_error(path, f"not valid TOML: the file is not UTF-8 text (byte {error.start + 1})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _file_error(path, f"not valid TOML: {_toml_reason(str(error), text)}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise _file_error(path, "not valid TOML: arrays or tables nest deeper than a configuration can") from None


def _file_error(path: Path, message: str) -> ConfigError:
    return ConfigError([Problem(str(path), "", message)])


def _toml_reason(message: str, text: str) -> str:
    match = _TOML_POSITION.match(message)
    if match:
        return f"{match['reason']} (line {match['line']}, column {match['column']})"
    reason = message.removesuffix(" (at end of document)")
    lines = text.split("\n")
    return f"{reason} (line {len(lines)}, column {len(lines[-1]) + 1})"


def env_overrides(environ: Mapping[str, str]) -> tuple[list[tuple[str, dict[str, Any]]], list[Problem]]:
    """Each OPSCONSOLE_* variable (sorted by name) as a one-setting layer, and the malformed ones.

    `OPSCONSOLE_A__B_C=v` sets a.b_c. The value is JSON when it parses as JSON (3, true, [10,25,100],
    "quoted text"), otherwise the text itself.
    """
    layers: list[tuple[str, dict[str, Any]]] = []
    problems: list[Problem] = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV_VARS:
            continue
        source = f"{ENV_SOURCE}{name}"
        keys = name.removeprefix(ENV_PREFIX).lower().split(ENV_DELIMITER)
        if not all(keys):
            problems.append(
                Problem(source, "", "names no setting; write OPSCONSOLE_SECTION__KEY with __ between levels")
            )
            continue
        value = _env_value(environ[name])
        for key in reversed(keys):
            value = {key: value}
        layers.append((source, value))
    return layers, problems


def _env_value(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON (or nested past any setting): the text itself
        return text


@cache
def _default_data() -> dict[str, Any]:
    return default_config().model_dump(mode="json")


def default_layers() -> MergedLayers:
    """A fresh merge that starts from the built-in defaults."""
    layers = MergedLayers()
    layers.add(_default_data(), DEFAULTS_SOURCE)
    return layers


def validated(layers: MergedLayers) -> ConsoleConfig:
    """The configuration the merged layers describe; ConfigError naming the layer at fault."""
    try:
        return ConsoleConfig.model_validate(layers.data)
    except ValidationError as error:
        raise ConfigError(problems_from(error, layers)) from None


def load_config(
    *,
    project_file: Path | None = None,
    user_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Defaults, then the user's file, the project's file, then OPSCONSOLE_* variables.

    Missing files are fine; `environ` defaults to os.environ and the files to their usual places.
    """
    files = [user_file or user_config_file(), project_file or project_config_file()]
    layers = default_layers()
    problems: list[Problem] = []
    for path in files:
        try:
            data = read_config_file(path)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        if data is not None:
            layers.add(data, str(path))
    overrides, env_problems = env_overrides(os.environ if environ is None else environ)
    problems.extend(env_problems)
    if problems:  # judging the rest against a half-read configuration would mislead
        raise ConfigError(problems)
    for source, data in overrides:
        layers.add(data, source)
    return LoadedConfig(validated(layers), list(layers.sources), layers, tuple(files))


def validate_configuration(data: Mapping[str, Any], source: str = "<input>") -> ConsoleConfig:
    """Validate a whole configuration mapping (defaults merged in first); ConfigError if it is wrong."""
    if not isinstance(data, Mapping):
        raise ConfigError([Problem(source, "(top level)", f"must be a table of settings, not {type(data).__name__}")])
    layers = default_layers()
    layers.add(data, source)
    return validated(layers)
