"""Evaluating a parsed HCL expression (sandbox/terraform_expressions.py) against variable values.

Terraform's conversions between values, the functions validation blocks use (FUNCTIONS), can() and try(),
and for expressions. A value known only after apply raises Unknown; a function this evaluator lacks raises
Unsupported, so the caller can say so instead of passing the rule silently.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from sandbox.terraform_expressions import EvalError, Unknown, Unsupported

# -- evaluation --------------------------------------------------------------------------------------

def _unknown(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return False


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvalError(f"a number is required, got {json.dumps(value)}")
    return value


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _num_text(value)
    if not isinstance(value, str):
        raise EvalError(f"a string is required, got {json.dumps(value)}")
    return value


def _num_text(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise EvalError(f"a bool is required, got {json.dumps(value)}")
    return value


def _collection(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    raise EvalError(f"a list or map is required, got {json.dumps(value)}")


def _regex(pattern: Any, text: Any) -> Any:
    try:
        compiled = re.compile(_string(pattern))
    except re.error as exc:
        raise EvalError(f"invalid regular expression: {exc}") from None
    found = compiled.search(_string(text))
    if not found:
        raise EvalError("pattern did not match any part of the given string")
    if compiled.groupindex:
        return found.groupdict()
    return list(found.groups()) if compiled.groups else found[0]


def _coalesce(*args: Any) -> Any:
    for arg in args:
        if arg is not None and arg != "":
            return arg
    raise EvalError("no non-null, non-empty-string arguments")


def _length(value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise EvalError(f"length of {json.dumps(value)} is not defined")


def _map(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EvalError(f"a map is required, got {json.dumps(value)}")
    return value


def _lookup(mapping: Any, key: Any, *default: Any) -> Any:
    if not isinstance(mapping, dict):
        raise EvalError("lookup needs a map")
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise EvalError(f"the given key {key!r} does not exist in the map")


def _tonumber(value: Any) -> Any:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    try:
        number = float(_string(value))
    except ValueError:
        raise EvalError(f"cannot convert {json.dumps(value)} to number") from None
    return int(number) if number.is_integer() else number


def _cidrhost(prefix: Any, number: Any) -> str:
    """Terraform's cidrhost(): the address `number` hosts into the network `prefix` (negative: from the end)."""
    import ipaddress

    try:
        network = ipaddress.ip_network(_string(prefix), strict=False)
    except ValueError as exc:
        raise EvalError(f"invalid CIDR expression: {exc}") from None
    index = int(_number(number))
    if not -network.num_addresses <= index < network.num_addresses:
        raise EvalError(f"prefix of {network.prefixlen} bits cannot accommodate a host numbered {index}")
    return str(network[index])


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "cidrhost": _cidrhost,
    "contains": lambda coll, value: value in _collection(coll),
    "regex": _regex,
    "regexall": lambda p, s: [m[0] for m in re.finditer(_string(p), _string(s))],
    "length": _length,
    "alltrue": lambda coll: all(_bool(v) for v in _collection(coll)),
    "anytrue": lambda coll: any(_bool(v) for v in _collection(coll)),
    "floor": lambda x: math.floor(_number(x)),
    "ceil": lambda x: math.ceil(_number(x)),
    "abs": lambda x: abs(_number(x)),
    "min": lambda *xs: min(_number(x) for x in xs),
    "max": lambda *xs: max(_number(x) for x in xs),
    "coalesce": _coalesce,
    "startswith": lambda s, p: _string(s).startswith(_string(p)),
    "endswith": lambda s, p: _string(s).endswith(_string(p)),
    "strcontains": lambda s, p: _string(p) in _string(s),
    "keys": lambda m: sorted(_map(m)),
    "values": lambda m: [m[k] for k in sorted(m)] if isinstance(m, dict) else _collection(m),
    "lower": lambda s: _string(s).lower(),
    "upper": lambda s: _string(s).upper(),
    "trimspace": lambda s: _string(s).strip(),
    "trimprefix": lambda s, p: _string(s).removeprefix(_string(p)),
    "trimsuffix": lambda s, p: _string(s).removesuffix(_string(p)),
    "split": lambda sep, s: _string(s).split(_string(sep)),
    "join": lambda sep, items: _string(sep).join(_string(i) for i in _collection(items)),
    "concat": lambda *lists: [item for one in lists for item in _collection(one)],
    "distinct": lambda items: list(dict.fromkeys(json.dumps(i, sort_keys=True) for i in _collection(items))),
    "lookup": _lookup,
    "tonumber": _tonumber,
    "tostring": lambda v: None if v is None else _string(v),
    "tolist": lambda v: _collection(v),
    "toset": lambda v: _collection(v),
    "tomap": _map,
}


class Evaluator:
    """Evaluates a parsed expression against variable values (no Python eval anywhere)."""

    def __init__(self, variables: dict[str, Any]) -> None:
        self.variables = variables

    def run(self, tree: Any, scope: dict[str, Any] | None = None) -> Any:
        scope = scope or {}
        kind = tree[0]
        if kind == "lit":
            return tree[1]
        if kind == "name":
            name = tree[1]
            if name in scope:
                return scope[name]
            if name == "var":
                return _VarRoot
            raise Unsupported(f"the reference {name!r}")
        if kind == "attr":
            base = self.run(tree[1], scope)
            if base is _VarRoot:
                if tree[2] not in self.variables:
                    raise EvalError(f'reference to undeclared input variable "{tree[2]}"')
                value = self.variables[tree[2]]
                if _unknown(value):
                    raise Unknown(tree[2])
                return value
            return self._index(base, tree[2])
        if kind == "index":
            return self._index(self.run(tree[1], scope), self.run(tree[2], scope))
        if kind == "not":
            return not _bool(self.run(tree[1], scope))
        if kind == "neg":
            return -_number(self.run(tree[1], scope))
        if kind == "if":
            return self.run(tree[2] if _bool(self.run(tree[1], scope)) else tree[3], scope)
        if kind == "bin":
            return self._binary(tree[1], tree[2], tree[3], scope)
        if kind == "list":
            return [self.run(item, scope) for item in tree[1]]
        if kind == "object":
            return {_string(self.run(k, scope)): self.run(v, scope) for k, v in tree[1]}
        if kind == "call":
            return self._call(tree[1], tree[2], scope)
        if kind in ("for_list", "for_map"):
            return self._for(tree, scope)
        raise Unsupported(kind)

    def _index(self, base: Any, key: Any) -> Any:
        if base is None:
            raise EvalError("attempt to get an attribute of a null value")
        if isinstance(base, dict):
            if key not in base:
                raise EvalError(f"the map has no element {key!r}")
            return base[key]
        if isinstance(base, list) and isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < len(base):
                raise EvalError(f"index {key} out of range")
            return base[key]
        raise EvalError(f"cannot index {json.dumps(base)} with {json.dumps(key)}")

    def _binary(self, op: str, left_tree: Any, right_tree: Any, scope: dict[str, Any]) -> Any:
        left = self.run(left_tree, scope)
        if op == "||" and _bool(left):
            return True
        if op == "&&" and not _bool(left):
            return False
        right = self.run(right_tree, scope)
        if op in ("||", "&&"):
            return _bool(right)
        if op == "==":
            return left == right and isinstance(left, bool) == isinstance(right, bool)
        if op == "!=":
            return not (left == right and isinstance(left, bool) == isinstance(right, bool))
        a, b = _number(left), _number(right)
        if op in ("<", ">", "<=", ">="):
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        if op in ("/", "%") and b == 0:
            raise EvalError("division by zero")
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
                "%": lambda: math.fmod(a, b)}[op]()

    def _call(self, name: str, args: list[Any], scope: dict[str, Any]) -> Any:
        if name in ("can", "try"):
            if name == "can" and len(args) != 1:
                raise EvalError("can takes one argument")
            for arg in args:
                try:
                    value = self.run(arg, scope)
                except EvalError:
                    continue
                return True if name == "can" else value
            if name == "can":
                return False
            raise EvalError("no expression given to try could be evaluated")
        if name not in FUNCTIONS:
            raise Unsupported(f"the function {name}()")
        values = [self.run(arg, scope) for arg in args]
        try:
            return FUNCTIONS[name](*values)
        except TypeError as exc:
            raise EvalError(f"{name}(): {exc}") from None

    def _for(self, tree: Any, scope: dict[str, Any]) -> Any:
        key_name, value_name, coll_tree = tree[1], tree[2], tree[3]
        coll = self.run(coll_tree, scope)
        if isinstance(coll, dict):
            pairs = [(k, coll[k]) for k in sorted(coll)]
        elif isinstance(coll, list):
            pairs = list(enumerate(coll))
        else:
            raise EvalError(f"cannot iterate over {json.dumps(coll)}")
        list_out: list[Any] = []
        map_out: dict[str, Any] = {}
        for key, value in pairs:
            inner = {**scope, value_name: value}
            if key_name:
                inner[key_name] = key
            cond = tree[5] if tree[0] == "for_list" else tree[6]
            if cond is not None and not _bool(self.run(cond, inner)):
                continue
            if tree[0] == "for_list":
                list_out.append(self.run(tree[4], inner))
            else:
                map_out[_string(self.run(tree[4], inner))] = self.run(tree[5], inner)
        return list_out if tree[0] == "for_list" else map_out


class _VarRootType:
    """The `var` object: only its attributes mean anything."""


_VarRoot = _VarRootType()

