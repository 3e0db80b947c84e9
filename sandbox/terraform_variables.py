"""Terraform's rules for input variables, as the stand-in enforces them when it plans.

- A value given for a variable the module does not declare is refused (terraform.tfvars, a -var-file, -var,
  or an argument of a `module` block).
- Each value is converted to the variable's `type` (string, number, bool, any, list/set/tuple, map,
  object with optional(...) attributes) the way Terraform converts it: "5" becomes 5 for a number, "two" is refused.
- Each `validation { condition, error_message }` block is evaluated by a small evaluator of HCL expressions
  (no Python eval): literals, var.NAME with attributes and indexes, the operators, conditionals, for
  expressions and the functions listed in FUNCTIONS (sandbox/terraform_expressions.py reads an expression,
  sandbox/terraform_functions.py evaluates it). A false condition is refused in one sentence naming the
  variable, its file and line, the rule and the module's message.
- A condition this evaluator cannot read (an unknown function, a splat, a template) is NOT silently passed:
  the plan prints a warning naming the variable and file, and tests/test_terraform_validation.py fails in CI
  for any such condition in infrastructure/, so the evaluator is extended before the rule ships. It is a
  warning rather than an error at plan time because the rule is a real one that Terraform itself enforces;
  refusing every sandbox plan over the stand-in's own limit would block the demo and every other test.
- A value that depends on a resource (text with `${`, as the HCL reader leaves it) is unknown until apply;
  Terraform checks such a condition at apply, and so it is skipped here.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from sandbox.terraform_expressions import EvalError, Unknown, Unsupported, parse
from sandbox.terraform_functions import FUNCTIONS, Evaluator, _num_text, _string, _tonumber, _unknown
from sandbox.terraform_hcl import ConfigError, Module

_WARNED: set[tuple[str, str, str]] = set()


class InvalidVariable(ConfigError):
    """A value that breaks a variable's type or validation rule, or a value for no declared variable."""


# -- where things are declared ---------------------------------------------------------------------

def _display(path: Path) -> str:
    """A file as an operator finds it: relative to the infrastructure tree (two levels above a root)."""
    anchor = Path.cwd().resolve().parent.parent
    try:
        return str(path.resolve().relative_to(anchor))
    except ValueError:
        return os.path.relpath(path.resolve())


def declared_at(module: Module, name: str) -> str:
    """`file:line` of `variable "name"` in the module's .tf files."""
    pattern = re.compile(rf'^[ \t]*variable\s+"{re.escape(name)}"', re.MULTILINE)
    for path in sorted(module.path.glob("*.tf")):
        text = path.read_text(encoding="utf-8")
        found = pattern.search(text)
        if found:
            return f"{_display(path)}:{text.count(chr(10), 0, found.start()) + 1}"
    return _display(module.path)



# -- types -------------------------------------------------------------------------------------------

_PRIMITIVES = {"string", "number", "bool", "any"}


def parse_type(expr: Any) -> Any:
    """A type constraint as a tree: "string" | ("list", T) | ("object", {name: (T, optional, default)})..."""
    text = expr if isinstance(expr, str) else json.dumps(expr)
    return _type_tree(parse(text))


def _type_tree(tree: Any) -> Any:
    if tree[0] == "name" and tree[1] in _PRIMITIVES:
        return tree[1]
    if tree[0] == "call" and tree[1] in ("list", "set", "map") and len(tree[2]) == 1:
        return (tree[1], _type_tree(tree[2][0]))
    if tree[0] == "call" and tree[1] == "tuple" and len(tree[2]) == 1 and tree[2][0][0] == "list":
        return ("tuple", [_type_tree(item) for item in tree[2][0][1]])
    if tree[0] == "call" and tree[1] == "object" and len(tree[2]) == 1 and tree[2][0][0] == "object":
        attrs: dict[str, Any] = {}
        for key, value in tree[2][0][1]:
            name = key[1]
            if value[0] == "call" and value[1] == "optional":
                default = Evaluator({}).run(value[2][1]) if len(value[2]) > 1 else None
                attrs[name] = (_type_tree(value[2][0]), True, default)
            else:
                attrs[name] = (_type_tree(value), False, None)
        return ("object", attrs)
    raise Unsupported("this type constraint")


def describe_type(kind: Any) -> str:
    if isinstance(kind, str):
        return kind
    if kind[0] == "object":
        inner = ", ".join(f"{n} = {'optional(' + describe_type(t) + ')' if o else describe_type(t)}"
                          for n, (t, o, _) in kind[1].items())
        return f"object({{{inner}}})"
    if kind[0] == "tuple":
        return f"tuple([{', '.join(describe_type(t) for t in kind[1])}])"
    return f"{kind[0]}({describe_type(kind[1])})"


class TypeMismatch(Exception):
    """The value does not convert to the type; the message says where inside it and why."""


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int | float):
        return f"the number {_num_text(value)}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def convert(value: Any, kind: Any, path: str = "") -> Any:
    """The value converted to the type as Terraform converts it; TypeMismatch when it cannot be."""
    where = f" at {path}" if path else ""
    if value is None or kind == "any" or _unknown(value):
        return value
    if kind == "string":
        if isinstance(value, dict | list):
            raise TypeMismatch(f"a string is required{where}, got {_what(value)}")
        return _string(value)
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return _tonumber(value.strip())
            except EvalError:
                pass
        raise TypeMismatch(f"a number is required{where}, got {_what(value)}")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise TypeMismatch(f"a bool is required{where}, got {_what(value)}")
    if kind[0] in ("list", "set"):
        if not isinstance(value, list):
            raise TypeMismatch(f"a {kind[0]} is required{where}, got {_what(value)}")
        return [convert(item, kind[1], f"{path}[{i}]") for i, item in enumerate(value)]
    if kind[0] == "tuple":
        if not isinstance(value, list) or len(value) != len(kind[1]):
            raise TypeMismatch(f"a tuple of {len(kind[1])} elements is required{where}")
        return [convert(item, t, f"{path}[{i}]") for i, (item, t) in enumerate(zip(value, kind[1], strict=True))]
    if kind[0] == "map":
        if not isinstance(value, dict):
            raise TypeMismatch(f"a map is required{where}, got {_what(value)}")
        return {k: convert(v, kind[1], f"{path}[{json.dumps(k)}]") for k, v in value.items()}
    if kind[0] == "object":
        if not isinstance(value, dict):
            raise TypeMismatch(f"an object is required{where}, got {_what(value)}")
        out: dict[str, Any] = {}
        for name, (attr_type, optional, default) in kind[1].items():
            if name in value:
                out[name] = convert(value[name], attr_type, f"{path}.{name}" if path else name)
            elif optional:
                out[name] = convert(default, attr_type) if default is not None else None
            else:
                raise TypeMismatch(f'attribute "{name}" is required{where}')
        return out  # attributes the type does not name are dropped, as Terraform drops them
    raise TypeMismatch(f"cannot check the type {describe_type(kind)}")


# -- the checks --------------------------------------------------------------------------------------

def _items(blocks: Any) -> list[dict[str, Any]]:
    return blocks if isinstance(blocks, list) else [blocks] if isinstance(blocks, dict) else []


def _given(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def warn(message: str) -> None:
    print(f"\u2577\n\u2502 Warning: {message}\n\u2502\n\u2575", file=sys.stderr)


def refuse_undeclared(module: Module, given: dict[str, Any], sources: dict[str, str]) -> None:
    """Terraform's "Value for undeclared variable", for a root module's values."""
    for name in given:
        if name not in module.variables:
            source = sources.get(name, "the variables given")
            raise InvalidVariable(f'Value for undeclared variable "{name}" in {source}: the root module '
                                  f'({_display(module.path)}) declares no variable "{name}"')


def checked(module: Module, values: dict[str, Any], where: str) -> dict[str, Any]:
    """The module's variable values converted to their types, each validation rule evaluated.

    `values` has a value for every declared variable (given or default); `where` names the module
    ("root module" or its address) for the messages."""
    for name in values:
        if name not in module.variables and where == "root module":
            refuse_undeclared(module, values, {})
        if name not in module.variables:
            raise InvalidVariable(f'Unsupported argument "{name}" for {where}: {_display(module.path)} declares '
                                  f'no variable "{name}"')
    converted: dict[str, Any] = {}
    for name, value in values.items():
        spec = module.variables[name] if isinstance(module.variables[name], dict) else {}
        if spec.get("nullable") is False and value is None:
            raise InvalidVariable(f'Invalid value for input variable "{name}" ({declared_at(module, name)}, '
                                  f'{where}): the variable is not nullable, got null')
        if "type" in spec:
            try:
                kind = parse_type(spec["type"])
            except Unsupported:
                kind = "any"
                _warn_once(module, name, "type", f'the stand-in does not check the type of variable "{name}" '
                                                 f'({declared_at(module, name)}): {spec["type"]}')
            try:
                value = convert(value, kind)
            except TypeMismatch as exc:
                raise InvalidVariable(f'Invalid value for input variable "{name}" = {_given(value)} '
                                      f'({declared_at(module, name)}, {where}, type {describe_type(kind)}): '
                                      f'{exc}') from None
        converted[name] = value
    evaluator = Evaluator(converted)
    for name, spec in module.variables.items():
        if not isinstance(spec, dict):
            continue
        for rule in _items(spec.get("validation")):
            _validate(module, name, rule, evaluator, converted, where)
    return converted


def _warn_once(module: Module, name: str, what: str, message: str) -> None:
    key = (str(module.path), name, what)
    if key not in _WARNED:
        _WARNED.add(key)
        warn(message)


def condition_text(rule: dict[str, Any]) -> str:
    text = str(rule.get("condition", "")).strip()
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _validate(module: Module, name: str, rule: dict[str, Any], evaluator: Evaluator, values: dict[str, Any],
              where: str) -> None:
    condition = condition_text(rule)
    message = str(rule.get("error_message", "")).strip() or "(no error_message)"
    try:
        result = evaluator.run(parse(condition))
    except Unknown:
        return  # known only after apply: Terraform checks it then
    except Unsupported as exc:
        _warn_once(module, name, condition, f'the stand-in cannot evaluate the validation condition of variable '
                                            f'"{name}" ({declared_at(module, name)}), so it is not enforced in the '
                                            f'sandbox: {exc} in `{condition}`')
        return
    except EvalError as exc:
        raise InvalidVariable(f'Invalid value for variable "{name}" = {_given(values.get(name))} '
                              f'({declared_at(module, name)}, {where}): the validation condition `{condition}` '
                              f'failed to evaluate ({exc})') from None
    if result is not True:
        if not isinstance(result, bool):
            raise InvalidVariable(f'Invalid validation condition for variable "{name}" '
                                  f'({declared_at(module, name)}): `{condition}` gave {_given(result)}, not a bool')
        raise InvalidVariable(f'Invalid value for variable "{name}" = {_given(values.get(name))} '
                              f'({declared_at(module, name)}, {where}, rule `{condition}`): {message}')


def unsupported_conditions(module: Module) -> list[str]:
    """Each validation condition (and type) of the module the evaluator cannot read, in one sentence each."""
    found: list[str] = []
    for name, spec in module.variables.items():
        if not isinstance(spec, dict):
            continue
        if "type" in spec:
            try:
                parse_type(spec["type"])
            except Unsupported as exc:
                found.append(f'type of "{name}" ({declared_at(module, name)}): {exc}')
        for rule in _items(spec.get("validation")):
            condition = condition_text(rule)
            try:
                tree = parse(condition)
                _names(tree)
            except Unsupported as exc:
                found.append(f'condition of "{name}" ({declared_at(module, name)}): {exc} in `{condition}`')
    return found


def _names(tree: Any) -> None:
    """Raise Unsupported for any function the evaluator does not know, without evaluating."""
    if not isinstance(tree, tuple):
        if isinstance(tree, list):
            for item in tree:
                _names(item)
        return
    if tree[0] == "call" and tree[1] not in FUNCTIONS and tree[1] not in ("can", "try"):
        raise Unsupported(f"the function {tree[1]}()")
    for part in tree[1:]:
        if isinstance(part, tuple | list):
            _names(part)

