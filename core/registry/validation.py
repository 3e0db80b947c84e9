"""Turning caller input into validated models, with one-sentence BadInput messages naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from core.errors import BadInput
from core.registry.models import DeploymentStatus

ModelT = TypeVar("ModelT", bound=BaseModel)


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(at: datetime | None) -> datetime:
    """The time a write is recorded at: the writer's `at` (its clock, e.g. the sandbox cloud's), else now.

    A naive `at` is refused: a time without a zone would be read as local time by one reader and UTC by another.
    """
    if at is None:
        return utc_now()
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise BadInput(f"a registry write's time must be an aware datetime, got {at!r}")
    return at.astimezone(UTC)


def as_status(value: DeploymentStatus | str, what: str) -> DeploymentStatus:
    try:
        return DeploymentStatus(value)
    except ValueError:
        known = ", ".join(status.value for status in DeploymentStatus)
        raise BadInput(f"{what} {value!r} is not one of {known}") from None


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def check(annotation: Any, value: Any, what: str) -> Any:
    adapter = _ADAPTERS.get(annotation)
    if adapter is None:
        adapter = _ADAPTERS[annotation] = TypeAdapter(annotation)
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise BadInput(f"{what} {value!r} is invalid: {_problem(error.errors()[0])}") from None


def validate(model: type[ModelT], data: Any, what: str) -> ModelT:
    if not isinstance(data, Mapping):
        raise BadInput(f"{what} must be a mapping of field names to values, not {type(data).__name__}")
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        raise BadInput(_describe(error, what)) from None


def _describe(error: ValidationError, what: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        text = f"{what} has an unknown field {where!r}"
    elif first["type"] == "missing":
        text = f"{what} is missing the field {where!r}"
    else:
        text = f"{what} has an invalid {where!r}: {_problem(first)}"
    more = error.error_count() - 1
    return text + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def _problem(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        # The only pattern in the models is the environment name's.
        return "use lower-case letters, digits and dashes, starting with a letter"
    message: str = error["msg"]
    return message[:1].lower() + message[1:]
