"""The Terraform stand-in's reading of a configuration: parse the HCL of a root and its modules, and render
every managed resource's attributes from the variables, so a plan can be diffed against a state.

This is not Terraform's evaluator. A reference to a variable or local that is the whole expression takes
that value; inside a larger expression (a function call, a condition, a for expression) each `var.NAME`
is replaced by its value's JSON text, so the rendered text changes exactly when a variable it uses does.
References to other resources and modules stay as written, as Terraform's "known after apply" values do.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PARSED: dict[Path, Module] = {}  # one command reads a module once, however many times it is called
_WHOLE_REF = re.compile(r"^\$\{(var|local)\.([A-Za-z_][A-Za-z0-9_-]*)((?:\[\"[^\"]+\"\]|\.[A-Za-z_][A-Za-z0-9_]*)*)\}$")
_VAR_IN_TEXT = re.compile(r"\b(var|local)\.([A-Za-z_][A-Za-z0-9_-]*)")
_CONDITION = re.compile(r"^\$\{(true|false) \? (.+?) : (.+)\}$")
_STEP = re.compile(r"\[\"([^\"]+)\"\]|\.([A-Za-z_][A-Za-z0-9_]*)")


class ConfigError(Exception):
    """The configuration cannot be read: the stand-in prints it the way Terraform prints an error."""


@dataclass
class Resource:
    """One resource instance the configuration wants, with its attributes rendered."""

    module: str  # "" for the root, else "module.a.module.b"
    type: str
    name: str
    index: str | int | None
    values: dict[str, Any]

    @property
    def address(self) -> str:
        base = f"{self.type}.{self.name}"
        if self.index is not None:
            base += f"[{json.dumps(self.index)}]"
        return f"{self.module}.{base}" if self.module else base


@dataclass
class Module:
    """One parsed directory: its blocks merged across .tf files."""

    path: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    backend: tuple[str, dict[str, Any]] | None = None


def parse_file(path: Path) -> dict[str, Any]:
    """One .tf or .tfvars file as python-hcl2 reads it; a syntax error becomes a ConfigError naming the file."""
    # Imported here: the stand-in's commands that parse nothing (show, apply, state pull) start without lark.
    import hcl2
    from hcl2 import SerializationOptions

    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    try:
        return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=options)
    except Exception as exc:  # lark raises many kinds; each means the file does not parse
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"Invalid HCL in {path.name}: {first}") from None


def _items(blocks: Any) -> list[dict[str, Any]]:
    return blocks if isinstance(blocks, list) else [blocks] if isinstance(blocks, dict) else []


def load_module(directory: Path) -> Module:
    """Every .tf file of a directory, merged as Terraform merges them."""
    directory = directory.resolve()
    if directory not in _PARSED:
        _PARSED[directory] = _read_module(directory)
    return _PARSED[directory]


def _read_module(directory: Path) -> Module:
    files = sorted(directory.glob("*.tf"))
    if not files:
        raise ConfigError(f"No configuration files in {directory}")
    module = Module(path=directory)
    for path in files:
        body = parse_file(path)
        for block in _items(body.get("variable")):
            module.variables.update(block)
        for block in _items(body.get("locals")):
            module.locals.update(block)
        for block in _items(body.get("resource")):
            for rtype, named in block.items():
                for name, attrs in named.items():
                    module.resources.append((rtype, name, attrs))
        for block in _items(body.get("module")):
            module.modules.update(block)
        for block in _items(body.get("output")):
            module.outputs.update(block)
        for block in _items(body.get("terraform")):
            for backend in _items(block.get("backend")):
                for kind, settings in backend.items():
                    module.backend = (kind, dict(settings or {}))
    return module


def _lookup(value: Any, path: str) -> Any:
    for key, attr in _STEP.findall(path):
        step = key or attr
        if not isinstance(value, dict) or step not in value:
            raise KeyError(step)
        value = value[step]
    return value


class Renderer:
    """Renders expressions of one module given its variables and locals."""

    def __init__(self, variables: dict[str, Any], local_exprs: dict[str, Any]) -> None:
        self.variables = variables
        self.locals: dict[str, Any] = {}
        for name, expr in local_exprs.items():  # locals may use earlier locals
            self.locals[name] = self.render(expr)

    def _value(self, kind: str, name: str) -> Any:
        table = self.variables if kind == "var" else self.locals
        if name not in table:
            raise ConfigError(f'Reference to undeclared {"input variable" if kind == "var" else "local value"} '
                              f'"{name}"')
        return table[name]

    def render(self, expr: Any) -> Any:
        if isinstance(expr, dict):
            return {key: self.render(value) for key, value in expr.items()}
        if isinstance(expr, list):
            return [self.render(value) for value in expr]
        if not isinstance(expr, str) or "${" not in expr:
            return expr
        whole = _WHOLE_REF.match(expr)
        if whole:
            try:
                return _lookup(self._value(whole[1], whole[2]), whole[3])
            except KeyError:
                pass  # an attribute of a value we only know as text: keep the text
        rendered = _VAR_IN_TEXT.sub(lambda m: json.dumps(self._value(m[1], m[2]), sort_keys=True), expr)
        condition = _CONDITION.match(rendered)
        if condition:
            chosen = condition[2] if condition[1] == "true" else condition[3]
            try:
                return json.loads(chosen)
            except ValueError:
                return "${" + chosen + "}"
        return rendered


def module_variables(module: Module, given: dict[str, Any], where: str) -> dict[str, Any]:
    """Declared variables with given values or defaults; a missing required one is an error."""
    values: dict[str, Any] = {}
    for name, spec in module.variables.items():
        if name in given:
            values[name] = given[name]
        elif isinstance(spec, dict) and "default" in spec:
            values[name] = spec["default"]
        else:
            raise ConfigError(f'No value for required variable "{name}" ({where})')
    # Types, validation blocks and undeclared names: Terraform's rules for variables (sandbox/terraform_variables.py).
    from sandbox.terraform_variables import checked

    return checked(module, {**given, **values}, where)


def _instances(attrs: dict[str, Any], renderer: Renderer) -> list[str | int | None]:
    if "for_each" in attrs:
        keys = renderer.render(attrs["for_each"])
        if isinstance(keys, dict):
            return sorted(keys)
        if isinstance(keys, list):
            return sorted(str(k) for k in keys)
        return [None]
    if "count" in attrs:
        count = renderer.render(attrs["count"])
        return list(range(count)) if isinstance(count, int) else [None]
    return [None]


_META = {"count", "for_each", "lifecycle", "depends_on", "provider", "provisioner", "connection"}


def _with_key(value: Any, key: str) -> Any:
    """`each.key` in a for_each instance's attributes, as the key itself (quoted where it stood alone)."""
    if isinstance(value, dict):
        return {k: _with_key(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_key(v, key) for v in value]
    if isinstance(value, str):
        return key if value == "${each.key}" else value.replace("each.key", json.dumps(key))
    return value


def desired_resources(directory: Path, variables: dict[str, Any], prefix: str = "") -> list[Resource]:
    """Every managed resource instance of the module at `directory` and of the modules it calls."""
    module = load_module(directory)
    renderer = Renderer(module_variables(module, variables, prefix or "root module"), module.locals)
    found: list[Resource] = []
    for rtype, name, attrs in module.resources:
        body = {k: v for k, v in attrs.items() if k not in _META}
        for index in _instances(attrs, renderer):
            values = renderer.render(body)
            if isinstance(index, str):
                values = _with_key(values, index)
            found.append(Resource(prefix, rtype, name, index, values))
    for name, call in module.modules.items():
        source = call.get("source", "")
        if not isinstance(source, str) or not source.startswith("."):
            raise ConfigError(f'Module "{name}" has source {source!r}; the stand-in reads local modules only')
        inputs = {k: renderer.render(v) for k, v in call.items() if k not in ("source", "version", *_META)}
        child = f"{prefix}.module.{name}" if prefix else f"module.{name}"
        found.extend(desired_resources((directory / source).resolve(), inputs, child))
    return found


def module_inputs(directory: Path, variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the root passes to each module it calls, rendered (module name -> argument -> value)."""
    module = load_module(directory)
    renderer = Renderer(module_variables(module, variables, "root module"), module.locals)
    return {name: {k: renderer.render(v) for k, v in call.items() if k not in ("source", "version", *_META)}
            for name, call in module.modules.items()}


def root_outputs(directory: Path, variables: dict[str, Any]) -> dict[str, Any]:
    """The root module's outputs, rendered like attributes (references to modules stay as text)."""
    module = load_module(directory)
    renderer = Renderer(module_variables(module, variables, "root module"), module.locals)
    return {name: renderer.render(spec.get("value")) for name, spec in module.outputs.items()}


def read_variables(directory: Path, var_files: list[Path], pairs: list[str],
                   sources: dict[str, str] | None = None) -> dict[str, Any]:
    """Variable values in Terraform's order: terraform.tfvars, *.auto.tfvars(.json), -var-file, -var.

    `sources`, when given, is filled with where each value came from (a file's name, or "-var")."""
    values: dict[str, Any] = {}
    sources = {} if sources is None else sources
    files = [directory / "terraform.tfvars"] if (directory / "terraform.tfvars").exists() else []
    files += sorted(directory.glob("*.auto.tfvars")) + sorted(directory.glob("*.auto.tfvars.json")) + var_files
    for path in files:
        if not path.exists():
            raise ConfigError(f"Given variables file {path} does not exist")
        if path.suffix == ".json":
            try:
                found = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ConfigError(f"Invalid JSON in {path.name}: {exc}") from None
        else:
            found = parse_file(path)
        values.update(found)
        sources.update(dict.fromkeys(found, path.name))
    for pair in pairs:
        name, _, raw = pair.partition("=")
        values[name] = raw
        sources[name] = "-var"
    return values
