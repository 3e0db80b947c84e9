"""Configuration problems as the operator reads them: the source that is wrong, the setting, one sentence.

Pydantic's errors carry the offending input; these messages are built from the error type, location
and context only, so a secret pasted into the wrong place is never repeated on screen or in a log.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from core.config.base import RULE_ERROR
from core.config.layers import MergedLayers, SettingPath
from core.config.models import ENVIRONMENTS, ConsoleConfig
from core.config.strategies import STRATEGY_CLASSES, STRATEGY_KINDS
from core.errors import BadInput

_SHOULD = re.compile(r"^(Input|String|List|Value|Dictionary|Number) should ")  # pydantic's phrasing
_INSTANCE_OF = re.compile(r" or instance of \w+")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration: where it came from, which setting, and what is wrong."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.path}: {self.message}" if self.path else f"{self.source}: {self.message}"


class ConfigError(BadInput):
    """The configuration is wrong; `problems` lists every finding, one line each in the message."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def problems_from(error: ValidationError, layers: MergedLayers) -> list[Problem]:
    """Translate a validation error of the merged layers into problems charged to their sources."""
    items = error.errors(include_url=False, include_input=False)
    # An environment that does not exist has nothing else worth saying about it.
    unknown = {item["loc"][:2] for item in items if _is_environment_key(item["loc"])}
    problems: list[Problem] = []
    for item in items:
        loc = item["loc"]
        if loc[:2] in unknown and not _is_environment_key(loc):
            continue
        base = _setting_path(loc, layers.data)
        if item["type"] == RULE_ERROR:
            for fields, message in item["ctx"]["violations"]:
                candidates = [(*base, *field.split(".")) for field in fields]
                path, source = layers.blame(candidates)
                problems.append(Problem(source, _dotted(path), message))
            continue
        path, message = _explain(item, loc, base)
        _, source = layers.blame([path])
        problems.append(Problem(source, _dotted(path) or "(top level)", message))
    # Grouped by layer, in the order they were read (sorted is stable within a layer).
    rank = {source: index for index, source in enumerate(layers.sources)}
    return sorted(problems, key=lambda problem: rank.get(problem.source, -1))


def _dotted(path: SettingPath) -> str:
    """A setting as written in a message; a key with dots or control characters (TOML allows both) is quoted."""
    return ".".join(part if part.isprintable() and part and "." not in part else repr(part) for part in path)


def _is_environment_key(loc: tuple[Any, ...]) -> bool:
    return len(loc) == 3 and loc[0] == "environments" and loc[2] == "[key]"


def _is_strategy_tag(loc: tuple[Any, ...], index: int) -> bool:
    return index >= 3 and loc[index - 1] == "strategy" and loc[index - 3] == "environments"


def _setting_path(loc: tuple[Any, ...], data: Any) -> SettingPath:
    """The dotted setting a pydantic location points at, without union tags and key markers."""
    parts = [part for index, part in enumerate(loc) if not _is_strategy_tag(loc, index)]
    # A trailing "[key]" marks a bad key, unless the data really has a key spelled "[key]".
    if parts[-1:] == ["[key]"] and not _present(data, parts):
        parts.pop()
    return tuple(str(part) for part in parts)


def _present(data: Any, parts: list[Any]) -> bool:
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def _explain(item: Any, loc: tuple[Any, ...], path: SettingPath) -> tuple[SettingPath, str]:
    kind = item["type"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return (*path, "kind"), f"kind must be one of {', '.join(STRATEGY_KINDS)}"
    if _is_environment_key(loc):
        return path, f"is not an environment; the environments are {', '.join(ENVIRONMENTS)}"
    if kind == "extra_forbidden":
        known = _known_fields(loc[:-1])
        close = difflib.get_close_matches(path[-1], known, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; known settings here: {', '.join(known)}"
        return path, f"is not a known setting{hint}" if known else "is not a known setting"
    if kind == "missing":
        return path, "must be set"
    if kind == "path_type":
        return path, "must be a file path"
    message: str = item["msg"]
    message = _INSTANCE_OF.sub("", _SHOULD.sub("must ", message, count=1))  # class names mean nothing in a file
    return path, message


def _known_fields(loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model that a pydantic location points into (empty if not a model)."""
    node: Any = ConsoleConfig
    for index, part in enumerate(loc):
        if _is_strategy_tag(loc, index):
            node = STRATEGY_CLASSES.get(str(part))
            continue
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            node = field.annotation if field else None
        elif get_origin(node) is dict:
            node = get_args(node)[1]
        else:
            return []
        while get_origin(node) is not None and get_origin(node) is not dict:
            node = get_args(node)[0]  # Annotated[X, ...] -> X; the strategy union is resolved by its tag
    if isinstance(node, type) and issubclass(node, BaseModel):
        return sorted(node.model_fields)
    return []
