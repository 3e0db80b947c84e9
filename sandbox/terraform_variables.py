"""Terraform's rules for input variables, as the stand-in enforces them when it plans.

- A value given for a variable the module does not declare is refused (terraform.tfvars, a -var-file, -var,
  or an argument of a `module` block).
- Each value is converted to the variable's `type` (string, number, bool, any, list/set/tuple, map,
  object with optional(...) attributes) the way Terraform converts it: "5" becomes 5 for a number, "two" is refused.
- Each `validation { condition, error_message }` block is evaluated by a small evaluator of HCL expressions
  (no Python eval): literals, var.NAME with attributes and indexes, the operators, conditionals, for
  expressions and the functions listed in FUNCTIONS. A false condition is refused in one sentence naming the
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
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.terraform_hcl import ConfigError, Module

_WARNED: set[tuple[str, str, str]] = set()


class InvalidVariable(ConfigError):
    """A value that breaks a variable's type or validation rule, or a value for no declared variable."""


class Unsupported(Exception):
    """An expression the evaluator does not read."""


class EvalError(Exception):
    """The expression is read but fails, as Terraform's would (can() and try() catch this)."""


class Unknown(Exception):
    """The expression uses a value known only after apply."""


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


# -- the expression reader -------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|[()\[\]{},.:?!<>+\-*/%=])
""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match:
            raise Unsupported(f"cannot read {text[at:at + 20]!r}")
        at = match.end()
        kind = match.lastgroup
        if kind == "ws":
            continue
        if kind == "num":
            number = float(match[0])
            found.append(("num", int(number) if number.is_integer() and "." not in match[0] else number))
        elif kind == "str":
            found.append(("str", _unescape(match[0][1:-1])))
        else:
            found.append((kind or "op", match[0]))
    found.append(("end", None))
    return found


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(body: str) -> str:
    if "${" in body.replace("$${", "") or "%{" in body.replace("%%{", ""):
        raise Unsupported("a string template")
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            nxt = body[index + 1]
            if nxt == "u" and index + 6 <= len(body):
                out.append(chr(int(body[index + 2:index + 6], 16)))
                index += 6
                continue
            if nxt not in _ESCAPES:
                raise Unsupported(f"the escape \\{nxt}")
            out.append(_ESCAPES[nxt])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out).replace("$${", "${").replace("%%{", "%{")


_BINARY = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6,
           "%": 6}


class _Parser:
    """Pratt parser of HCL's expression syntax into nested tuples."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self, offset: int = 0) -> tuple[str, Any]:
        return self.tokens[min(self.at + offset, len(self.tokens) - 1)]

    def take(self, value: str | None = None) -> tuple[str, Any]:
        token = self.tokens[self.at]
        if value is not None and token[1] != value:
            raise Unsupported(f"expected {value!r}, found {token[1]!r}")
        self.at += 1
        return token

    def is_op(self, value: str) -> bool:
        return self.peek() == ("op", value)

    def whole(self) -> Any:
        tree = self.expression()
        if self.peek()[0] != "end":
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return tree

    def expression(self) -> Any:
        condition = self.binary(1)
        if self.is_op("?"):
            self.take()
            yes = self.expression()
            self.take(":")
            return ("if", condition, yes, self.expression())
        return condition

    def binary(self, level: int) -> Any:
        left = self.unary()
        while True:
            kind, value = self.peek()
            if kind != "op" or value not in _BINARY or _BINARY[value] < level:
                return left
            self.take()
            left = ("bin", value, left, self.binary(_BINARY[value] + 1))

    def unary(self) -> Any:
        if self.is_op("!"):
            self.take()
            return ("not", self.unary())
        if self.is_op("-"):
            self.take()
            return ("neg", self.unary())
        return self.postfix(self.primary())

    def postfix(self, tree: Any) -> Any:
        while True:
            if self.is_op("."):
                self.take()
                kind, value = self.take()
                if kind == "num":
                    tree = ("index", tree, ("lit", value))
                elif kind == "ident":
                    tree = ("attr", tree, value)
                else:
                    raise Unsupported("a splat expression")
            elif self.is_op("["):
                self.take()
                if self.is_op("*"):
                    raise Unsupported("a splat expression")
                index = self.expression()
                self.take("]")
                tree = ("index", tree, index)
            else:
                return tree

    def primary(self) -> Any:
        kind, value = self.take()
        if kind in ("num", "str"):
            return ("lit", value)
        if kind == "ident":
            if value in ("true", "false"):
                return ("lit", value == "true")
            if value == "null":
                return ("lit", None)
            if self.is_op("("):
                return self.call(value)
            return ("name", value)
        if value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if value == "[":
            return self.tuple_or_for()
        if value == "{":
            return self.object_or_for()
        raise Unsupported(f"unexpected {value!r}")

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while not self.is_op(")"):
            args.append(self.expression())
            if self.is_op("..."):
                raise Unsupported("argument expansion (...)")
            if not self.is_op(")"):
                self.take(",")
        self.take(")")
        return ("call", name, args)

    def for_head(self) -> tuple[str | None, str, Any]:
        self.take()  # "for"
        first = self.take()[1]
        second = None
        if self.is_op(","):
            self.take()
            second = self.take()[1]
        if self.take()[1] != "in":
            raise Unsupported("a for expression without `in`")
        collection = self.expression()
        self.take(":")
        return (first, second, collection) if second else (None, first, collection)  # (key, value, coll)

    def tuple_or_for(self) -> Any:
        if self.peek() == ("ident", "for"):
            key, val, coll = self.for_head()
            body = self.expression()
            cond = None
            if self.peek() == ("ident", "if"):
                self.take()
                cond = self.expression()
            self.take("]")
            return ("for_list", key, val, coll, body, cond)
        items = []
        while not self.is_op("]"):
            items.append(self.expression())
            if not self.is_op("]"):
                self.take(",")
        self.take("]")
        return ("list", items)

    def object_or_for(self) -> Any:
        if self.peek() == ("ident", "for"):
            key, val, coll = self.for_head()
            kexpr = self.expression()
            self.take("=>")
            vexpr = self.expression()
            if self.is_op("..."):
                raise Unsupported("grouping (...) in a for expression")
            cond = None
            if self.peek() == ("ident", "if"):
                self.take()
                cond = self.expression()
            self.take("}")
            return ("for_map", key, val, coll, kexpr, vexpr, cond)
        pairs = []
        while not self.is_op("}"):
            kind, value = self.peek()
            if kind == "ident" and self.peek(1)[1] in ("=", ":"):
                self.take()
                key: Any = ("lit", value)
            else:
                key = self.expression()
            self.take()  # = or :
            pairs.append((key, self.expression()))
            if self.is_op(","):
                self.take()
        self.take("}")
        return ("object", pairs)


def parse(text: str) -> Any:
    """An expression's tree; the HCL reader's `${...}` wrapper is taken off first."""
    text = text.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    return _Parser(text).whole()


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
