"""HCL expressions as Terraform's variable validation blocks write them: read into a small tree (no Python eval).

Tokens, literals, var.NAME with attributes and indexes, the operators with Terraform's precedence,
conditionals, for expressions and function calls; sandbox/terraform_functions.py evaluates the tree.
"""

from __future__ import annotations

import re
from typing import Any


class Unsupported(Exception):
    """An expression the evaluator does not read."""


class EvalError(Exception):
    """The expression is read but fails, as Terraform's would (can() and try() catch this)."""


class Unknown(Exception):
    """The expression uses a value known only after apply."""



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

