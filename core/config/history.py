"""Changing a configuration file setting by setting, keeping a history of who changed what.

A change is written only when the whole resulting configuration is valid, and atomically, so a
crash or a bad value never leaves a half-written or invalid file behind. The history is JSON Lines:
one appended, fsynced line per accepted change.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w
from filelock import FileLock
from pydantic import BaseModel, ConfigDict, ValidationError

from core.config.loader import default_layers, env_overrides, read_config_file, validated
from core.config.models import ConsoleConfig
from core.config.problems import ConfigError, Problem
from core.errors import BadInput, OperationFailed

_TAIL_BYTES = 65536  # far longer than any history line, so the last newline is always within it


class FieldChange(BaseModel):
    """One setting changed: its dotted path, the value in force before, and the value written."""

    model_config = ConfigDict(frozen=True)

    path: str
    old: Any = None
    new: Any = None


class ConfigChange(BaseModel):
    """One accepted update of a configuration file: `id` is its place in the history (1 for the first), the number
    `opsconsole config revert` takes; `reverts` names the change it undid, if it was a revert."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    file: str
    changes: list[FieldChange]
    id: int = 0  # 0 only in records written before ids: read_config_history gives them their place
    reason: str = ""
    reverts: int | None = None


def update_config(
    changes: Mapping[str, Any],
    *,
    file: Path,
    actor: str,
    history_file: Path,
    environ: Mapping[str, str] | None = None,
) -> ConsoleConfig:
    """Set dotted settings in `file` (None removes a setting) and record the change in `history_file`.

    The result (defaults + file, and OPSCONSOLE_* overrides from `environ` when given) must validate,
    or ConfigError is raised and neither file is touched. Returns the configuration now in force.
    """
    return record_config_change(changes, file=file, actor=actor, history_file=history_file, environ=environ)[0]


def record_config_change(
    changes: Mapping[str, Any],
    *,
    file: Path,
    actor: str,
    history_file: Path,
    environ: Mapping[str, str] | None = None,
    reason: str = "",
    reverts: int | None = None,
) -> tuple[ConsoleConfig, ConfigChange | None]:
    """update_config, also returning the change as recorded (None when `changes` is empty), with its reason."""
    if not actor.strip():
        raise BadInput("A configuration change needs the name of the operator making it.")
    paths = {dotted: _split(dotted) for dotted in changes}
    history_file.parent.mkdir(parents=True, exist_ok=True)
    # One writer at a time, so two operators' read-modify-write cycles never lose either change.
    with FileLock(f"{history_file}.lock"):
        data = read_config_file(file) or {}
        before = default_layers()
        before.add(data, str(file))
        updated = copy.deepcopy(data)
        for dotted, value in changes.items():
            _assign(updated, paths[dotted], value, file)
        layers = default_layers()
        layers.add(updated, str(file))
        config = validated(layers)
        if environ is not None:
            overrides, problems = env_overrides(environ)
            if problems:
                raise ConfigError(problems)
            for source, override in overrides:
                layers.add(override, source)
            config = validated(layers)
        if not changes:
            return config, None
        content = _toml(updated, file)
        record = ConfigChange(
            id=len(read_config_history(history_file)) + 1,  # under the lock: no two changes get one number
            reason=reason,
            reverts=reverts,
            at=datetime.now(UTC),
            actor=actor,
            file=str(file),
            changes=[
                FieldChange(path=dotted, old=setting_at(before.data, paths[dotted]), new=value)
                for dotted, value in changes.items()
            ],
        )
        _write_atomically(file, content)
        _append_line(history_file, record.model_dump_json(), file)
    return config, record


def read_config_history(history_file: Path) -> list[ConfigChange]:
    """Every recorded change, oldest first; a torn last line (an append cut short) is ignored."""
    try:
        text = history_file.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as error:
        raise OperationFailed(f"Cannot read the configuration history {history_file}: {error.strerror}.") from None
    *complete, last = text.split("\n")
    history: list[ConfigChange] = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            history.append(ConfigChange.model_validate_json(line))
        except ValidationError:
            raise BadInput(
                f"Line {number} of the configuration history {history_file} is not a change record."
            ) from None
    whole_record = _record_in(last)  # a complete record whose newline did not land still happened
    history = [*history, whole_record] if whole_record else history
    return [c if c.id else c.model_copy(update={"id": place}) for place, c in enumerate(history, start=1)]


def _record_in(line: str | bytes) -> ConfigChange | None:
    try:
        return ConfigChange.model_validate_json(line) if line.strip() else None
    except ValidationError:
        return None


def _split(dotted: str) -> tuple[str, ...]:
    parts = tuple(dotted.split("."))
    if not all(parts):
        raise BadInput(f"The setting {dotted!r} is not a dotted path such as environments.production.strategy.steps.")
    return parts


def _assign(data: dict[str, Any], path: tuple[str, ...], value: Any, file: Path) -> None:
    node = data
    tables = [data]
    for depth, key in enumerate(path[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            table = ".".join(path[: depth + 1])
            raise ConfigError([Problem(str(file), ".".join(path), f"cannot be set because {table} is not a table")])
        node = child
        tables.append(node)
    if value is None:
        node.pop(path[-1], None)
        # a table this removal emptied goes too, so setting and removing a value leaves the file as it was
        for parent, key, table in reversed(list(zip(tables, path, tables[1:], strict=False))):
            if table:
                break
            parent.pop(key)
    else:
        node[path[-1]] = str(value) if isinstance(value, Path) else value


def setting_at(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path` in merged configuration data, None when it is not set."""
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _toml(data: dict[str, Any], file: Path) -> bytes:
    try:
        return tomli_w.dumps(data).encode()
    except (TypeError, ValueError):
        raise BadInput(
            f"A new value for {file} cannot be stored in TOML (use text, numbers, booleans, lists)."
        ) from None


def _write_atomically(path: Path, content: bytes) -> None:
    """Replace `path` with `content` so that readers see the old file or the new one, never a mix."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, mode)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_directory(path.parent)
    except OSError as error:
        raise OperationFailed(f"Could not write {path}: {error.strerror or error}.") from None


def _append_line(history_file: Path, line: str, file: Path) -> None:
    try:
        created = not history_file.exists()
        if not created:
            _mend_tail(history_file)
        with history_file.open("ab") as handle:
            handle.write(line.encode() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        if created:
            _fsync_directory(history_file.parent)
    except OSError as error:
        raise OperationFailed(
            f"{file} was updated but its history {history_file} could not be written: {error.strerror or error}."
        ) from None


def _mend_tail(history_file: Path) -> None:
    """End the file with a newline so the next line stands alone: a last line without one is either a
    complete record (kept) or an append that crashed midway (cut)."""
    with history_file.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - _TAIL_BYTES)
        handle.seek(start)
        tail = handle.read()
        if not tail or tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n") + 1
        if _record_in(tail[cut:]):
            handle.write(b"\n")
        else:
            handle.truncate(start + cut)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
