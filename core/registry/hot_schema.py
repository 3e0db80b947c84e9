"""The shape of the hot registry file's tables, checked whenever the file is parsed: a document of the wrong shape
is damage named by table, key and field, never a KeyError or a validation traceback deep inside a read.

The side tables (``infrastructure``, ``incidents``, ``health``) belong to other parts of core, which read them
tolerantly; here they only need to be JSON objects of documents, as every table does (storage.py checks that much).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from core.registry.ids import is_deployment_id
from core.registry.models import Deployment, EnvironmentName, NonEmpty, StepEvent, UtcDatetime

Tables = dict[str, dict[str, Any]]
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ArchiveSize(_Strict):
    """How much of a month's archive file the hot file accounts for, and a fingerprint of the bytes before it."""

    size: Annotated[int, Field(ge=0)]
    tail: str | None = None  # sha256 of the last TAIL_BYTES accounted for (absent in registries written before it)


class _HeldVersion(BaseModel):
    version: NonEmpty
    deployment_id: NonEmpty
    ended_at: UtcDatetime


class _Environment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EnvironmentName
    health: NonEmpty
    statistics: dict[str, Annotated[int, Field(ge=0, strict=True)]]
    versions: dict[str, _HeldVersion]
    last: Deployment | None


class _Events(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[StepEvent]


_TABLES: dict[str, TypeAdapter[Any]] = {
    "deployments": TypeAdapter(dict[str, Deployment]),
    "events": TypeAdapter(dict[str, _Events]),
    "environments": TypeAdapter(dict[str, _Environment]),
    "archive_sizes": TypeAdapter(dict[str, ArchiveSize]),
}


def table_problems(tables: Tables) -> list[str]:
    """Every problem of the registry's own tables, one phrase each naming table, key and field ([] when sound)."""
    problems: list[str] = []
    for name, adapter in _TABLES.items():
        table = tables.get(name, {})
        try:
            adapter.validate_python(table)
        except ValidationError as error:
            problems += [_phrase(name, detail) for detail in error.errors()]
        except (OverflowError, RecursionError) as error:  # a moment past the calendar, nesting past any limit
            problems.append(f"table {name!r} holds a value no registry writes ({type(error).__name__})")
    problems += _key_problems(tables)
    return problems


def _key_problems(tables: Tables) -> list[str]:
    found: list[str] = []
    for key, doc in tables.get("deployments", {}).items():
        if not is_deployment_id(key):
            found.append(f"deployments key {_part(key)} is not a deployment id")
        elif doc.get("id") != key:
            found.append(f"deployments {key}: its id {doc.get('id')!r} differs from its key")
    found += [f"events key {key!r} is not a deployment id" for key in tables.get("events", {})
              if not is_deployment_id(key)]
    found += [f"archive_sizes key {key!r} is not a month (YYYY-MM)" for key in tables.get("archive_sizes", {})
              if not MONTH_RE.match(key)]
    for key, doc in tables.get("environments", {}).items():
        if doc.get("name") != key:
            found.append(f"environments {_part(key)}: its name {doc.get('name')!r} differs from its key")
    return found


def _phrase(table: str, detail: Any) -> str:
    key, *field = [_part(part) for part in detail["loc"]] or ["?"]
    where = f"{table} {key}" + (f" field {'.'.join(field)}" if field else "")
    message = str(detail["msg"])
    return f"{where}: {message[:1].lower() + message[1:]}"


def _part(part: Any) -> str:
    """A key or field as written in a message: one with dots, control characters or nothing is shown quoted."""
    text = str(part)
    return text if isinstance(part, int) or (text.isprintable() and text and "." not in text) else repr(text)
