"""Command-line options that have a twin in the configuration are checked by the twin's own rule.

`pipeline configure --repo` and `[pipeline] repo`, `deploy --strategy` and an environment's `strategy.kind`,
`--registry` and `registry`: each pair goes through the one pydantic type below (taken from the
configuration model itself where it can be), so an option can never accept what the file refuses, or the
other way round. The console calls `check_option`; a test enumerates the CLI's options and holds each twin
to the same answers as the configuration for every value it generates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from core.config.models import ConsoleConfig, PipelineSettings
from core.config.strategies import STRATEGY_KINDS
from core.errors import BadInput


@dataclass(frozen=True)
class Twin:
    """A configuration setting an option stands in for, and the rule both obey."""

    setting: str  # as the operator writes it in opsconsole.toml
    adapter: Callable[[], TypeAdapter[Any]]


def _field_rule(model: type[BaseModel], name: str) -> Callable[[], TypeAdapter[Any]]:
    """The exact type of a configuration field (its annotation and every constraint and validator on it)."""

    @cache
    def adapter() -> TypeAdapter[Any]:
        field = model.model_fields[name]
        # A type assembled at run time from the field, which mypy cannot follow; pydantic checks it when built.
        return TypeAdapter(Annotated[(field.annotation, *field.metadata)])  # type: ignore[arg-type]
    return adapter


@cache
def _strategy_kind() -> TypeAdapter[Any]:
    # The strategies are a union told apart by `kind`; its rule is "one of the strategy classes' kinds".
    return TypeAdapter(Literal[tuple(STRATEGY_KINDS)])  # type: ignore[arg-type]  # a Literal of a tuple built at run time


# `deploy --strategy` is a click.Choice of the same STRATEGY_KINDS (so --help lists them); the others call
# option_callback. tests/test_option_twins.py holds every pair to the same answers.
TWINS: dict[str, Twin] = {
    "--repo": Twin("[pipeline] repo", _field_rule(PipelineSettings, "repo")),
    "--strategy": Twin("environments.<name>.strategy.kind", _strategy_kind),
    "--registry": Twin("registry", _field_rule(ConsoleConfig, "registry")),
}


def check_option(option: str, value: Any) -> Any:
    """``value`` as its configuration twin's rule makes it; BadInput naming the option and the rule otherwise."""
    twin = TWINS[option]
    try:
        return twin.adapter().validate_python(value)
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first["msg"])
        raise BadInput(f"{option} {_shown(value)} {message[:1].lower() + message[1:]} "
                       f"(the rule of {twin.setting} in the configuration)") from None


def option_callback(option: str) -> Callable[[Any, Any, Any], Any]:
    """A click option callback (ctx, param, value) that checks the value by its twin's rule; None stays None."""

    def callback(ctx: Any, param: Any, value: Any) -> Any:
        return None if value is None else check_option(option, value)
    return callback


def _shown(value: Any) -> str:
    from core.config.registry_location import without_password

    text = without_password(str(value))  # a registry URL may carry one; no message ever shows it
    return repr(text if len(text) <= 60 else text[:57] + "...")
