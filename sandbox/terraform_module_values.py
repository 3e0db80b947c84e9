"""The values the stand-in's plan leaves as `${...}` text, evaluated once the references they name are known.

The stand-in renders variables into a plan and keeps references to modules, data sources and other resources as
written (Terraform's "known after apply"). Applying Monitoring objects needs them: a policy's display name holds
`${0.05 * 100}`, its filter the service name another module outputs, its channels the ids of the channels just
created, a channel's token a Secret Manager data source. `Scope` supplies those references for one module and
`render` evaluates the text with the stand-in's expression reader (sandbox/terraform_expressions.py), nested
templates included.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox import terraform_hcl as hcl
from sandbox.terraform_expressions import EvalError, Unknown, Unsupported, parse
from sandbox.terraform_functions import Evaluator

NotKnown = (EvalError, Unknown, Unsupported, KeyError, TypeError, ValueError)


@dataclass(frozen=True)
class Instance:
    """One resource instance of a plan (or of a rendered configuration): where it is and its attributes."""

    module: str  # "module.monitoring", "" for the root
    type: str
    name: str
    index: Any
    values: dict[str, Any]

    @property
    def address(self) -> str:
        return hcl.Resource(self.module, self.type, self.name, self.index, self.values).address


def _number_text(value: float) -> str:
    # Terraform's numbers are arbitrary-precision decimals: 0.05 * 100 is 5, not 5.000000000000001.
    return format(value, ".15g") if isinstance(value, float) else str(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, str):
        return value
    raise EvalError(f"cannot interpolate {json.dumps(value)} into a string")


def _closing(text: str, start: int) -> int:
    """The index of the `}` closing the interpolation whose expression starts at `start` (quotes respected)."""
    depth, at, quoted = 0, start, False
    while at < len(text):
        char = text[at]
        if quoted:
            if char == "\\":
                at += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return at
            depth -= 1
        at += 1
    raise Unsupported(f"an unclosed interpolation in {text[:40]!r}")


class Scope:
    """The references one module's expressions may make: `module.X` outputs, `data.T.N`, `T.N` resources."""

    def __init__(self, names: dict[str, Any], variables: dict[str, Any] | None = None) -> None:
        self.names = names
        self.evaluator = Evaluator(variables or {})

    def render(self, value: Any) -> Any:
        """`value` with every `${...}` evaluated; NotKnown when a reference is not (yet) known."""
        if isinstance(value, dict):
            return {k: self.render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v) for v in value]
        if not isinstance(value, str) or "${" not in value:
            return value
        parts: list[Any] = []
        at = 0
        while (start := value.find("${", at)) >= 0:
            end = _closing(value, start + 2)
            parts += [value[at:start], (self._evaluate(value[start + 2:end]),)]
            at = end + 1
        parts.append(value[at:])
        texts = [p for p in parts if p != ""]
        if len(texts) == 1 and isinstance(texts[0], tuple):
            return texts[0][0]  # a template that is one interpolation keeps its value's type, as in Terraform
        return "".join(p if isinstance(p, str) else _text(p[0]) for p in texts)

    def _evaluate(self, expression: str) -> Any:
        return self.evaluator.run(parse(self._inline_templates(expression)), self.names)

    def _inline_templates(self, expression: str) -> str:
        """Quoted strings holding templates replaced by their values' JSON (the reader takes no templates)."""
        out: list[str] = []
        at = 0
        while at < len(expression):
            if expression[at] != '"':
                out.append(expression[at])
                at += 1
                continue
            end = at + 1
            while expression[end] != '"':
                end += 2 if expression[end] == "\\" else 1
            literal = expression[at:end + 1]
            if "${" in literal:
                literal = json.dumps(self.render(json.loads(literal)))
            out.append(literal)
            at = end + 1
        return "".join(out)


# -- what a module's expressions may refer to --------------------------------------------------------------------

# Attributes the provider computes, which the plan does not hold (the google provider's "Attributes Reference":
# a google_redis_instance's id is projects/{{project}}/locations/{{region}}/instances/{{name}}).
COMPUTED_IDS = {
    "google_redis_instance": lambda v: f"projects/{v.get('project')}/locations/{v.get('region')}/instances/"
                                       f"{v.get('name')}",
}


def resource_names(instances: list[Instance], module: str, counted: set[tuple[str, str]]) -> dict[str, Any]:
    """`TYPE.NAME` of one module's resources; a counted resource is a list of its instances (none when its count
    is 0), as in Terraform."""
    names: dict[str, Any] = {}
    for rtype, name in counted:
        names.setdefault(rtype, {})[name] = []
    for item in sorted((i for i in instances if i.module == module), key=lambda i: str(i.index)):
        values = dict(item.values)
        if item.type in COMPUTED_IDS:
            values.setdefault("id", COMPUTED_IDS[item.type](values))
        by_type = names.setdefault(item.type, {})
        if (item.type, item.name) in counted or isinstance(item.index, int):
            by_type.setdefault(item.name, []).append(values)
        else:
            by_type[item.name] = values
    return names


def counted(directory: Path) -> set[tuple[str, str]]:
    """The (type, name) of a module's resources that have `count` (referenced as lists)."""
    return {(rtype, name) for rtype, name, attrs in hcl.load_module(directory).resources if "count" in attrs}


def module_outputs(root: Path, variables: dict[str, Any], instances: list[Instance]) -> dict[str, dict[str, Any]]:
    """Each module the root calls, with the outputs the stand-in can evaluate from the plan's resources."""
    inputs = hcl.module_inputs(root, variables)
    called = hcl.load_module(root).modules
    found: dict[str, dict[str, Any]] = {}
    for name, call in called.items():
        directory = (root / str(call.get("source", ""))).resolve()
        module = hcl.load_module(directory)
        given = {k: v for k, v in inputs[name].items() if not (isinstance(v, str) and "${" in v)}
        defaults = {k: spec["default"] for k, spec in module.variables.items()
                    if isinstance(spec, dict) and "default" in spec}
        scope = Scope(resource_names(instances, f"module.{name}", counted(directory)), {**defaults, **given})
        found[name] = {}
        for output, spec in module.outputs.items():
            try:
                found[name][output] = scope.render(spec.get("value"))
            except NotKnown:
                continue  # an output the plan cannot give (an URL Cloud Run assigns): nothing here uses it
    return found


def sandbox_secret(project: str, secret: str) -> str:
    """What a google_secret_manager_secret_version data source reads, in the sandbox.

    The provider reads the secret's latest version from Secret Manager; the sandbox's Secret Manager does not
    hold the monitoring secrets, so the stand-in uses a value derived from the project and the secret's id:
    stable (a second apply compares equal), 32 hexadecimal characters (a valid PagerDuty integration key, which
    the sandbox's PagerDuty checks), and never a real credential.
    """
    return hashlib.sha256(f"sandbox/{project}/{secret}".encode()).hexdigest()[:32]


def data_sources(directory: Path, variables: dict[str, Any]) -> dict[str, Any]:
    """`data.google_secret_manager_secret_version.NAME[i].secret_data` of one module (`variables` rendered)."""
    found: dict[str, Any] = {}
    evaluator = Scope({}, variables)
    for path in sorted(directory.glob("*.tf")):
        for block in hcl._items(hcl.parse_file(path).get("data")):
            for name, attrs in (block.get("google_secret_manager_secret_version") or {}).items():
                try:
                    project, secret = evaluator.render(attrs.get("project")), evaluator.render(attrs.get("secret"))
                    count = evaluator.render(attrs.get("count", 1))
                except NotKnown:
                    continue
                value = {"secret_data": sandbox_secret(str(project), str(secret).rsplit("/", 1)[-1])}
                found[name] = [value] * int(count) if "count" in attrs else value
    return {"google_secret_manager_secret_version": found}
