"""What every configuration model shares: strictness, and how rules that span fields report errors.

Rules that span several fields raise `rule_error`, which names each offending field relative to the
model, so the loader can tell the operator which file or variable set the value that broke the rule.
"""

from __future__ import annotations

import re

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

RULE_ERROR = "config_rule"

Violation = tuple[tuple[str, ...], str]
"""(fields relative to the model, the first one being the one to name; a one-sentence message)."""


class FrozenModel(BaseModel):
    """Base of every configuration model: unknown keys rejected, types strict, instances immutable."""

    # Strict: in a config file `true` is not an instance count and "5" is not a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def rule_error(violations: list[Violation]) -> PydanticCustomError:
    """One pydantic error carrying every violated cross-field rule of a model.

    The other fields of a violation are the ones it was compared with, so the loader can blame
    whichever of them the operator actually set (setting min_instances to 30 breaks min <= max,
    even though the default max_instances is the field that "fails").
    """
    return PydanticCustomError(
        RULE_ERROR,
        "{summary}",
        {"summary": "; ".join(message for _, message in violations), "violations": tuple(violations)},
    )


def matching(pattern: str, expected: str) -> AfterValidator:
    """A string check whose message says what is expected and never repeats the value."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError("format", "{expected}", {"expected": expected})
        return value

    return AfterValidator(check)
