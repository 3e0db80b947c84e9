"""The sandbox state file: written atomically (temporary file, fsync, rename; a reader never sees half a file) and
read defensively (sandbox/state_schema.py says what it must hold)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import BadInput
from sandbox.state_schema import SandboxState, describe


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def read_state(path: Path) -> dict[str, Any] | None:
    """The saved sandbox state, or None when there is no file yet; BadInput naming the file and the field when
    its bytes are not UTF-8, not JSON, nest too deep, or do not have the shape the sandbox writes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadInput(f"Sandbox state file {path} cannot be read: {exc.strerror or exc}.") from None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _damaged(path, f"is not UTF-8 text (byte {exc.start + 1})") from None
    try:
        SandboxState.model_validate_json(raw)  # pydantic-core's parser: a nesting limit, no recursion to blow
    except ValidationError as exc:
        problems = exc.errors()
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        first = problems[0]
        reason = f"is not valid JSON ({str(first['msg']).removeprefix('Invalid JSON: ')})" \
            if first["type"] == "json_invalid" \
            else f"is damaged: {describe(first)}{more}"
        raise _damaged(path, reason) from None
    data: dict[str, Any] = json.loads(raw)
    return data


def _damaged(path: Path, reason: str) -> BadInput:
    return BadInput(f"Sandbox state file {path} {reason}; remove it to start afresh.")
