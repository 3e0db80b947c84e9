"""Cloud Monitoring's filter language, as the sandbox's ListTimeSeries (and alert conditions) read it.

The grammar of cloud.google.com/monitoring/api/v3/filters: comparisons `SELECTOR OP VALUE` with OP one of
`=`, `!=`, `:` (has substring), `<`, `<=`, `>`, `>=`; a VALUE is a quoted string, a number, a bool or one of
the functions starts_with("p"), ends_with("s"), has_substring("x"), one_of("a", "b", ...) and
monitoring.regex.full_match("re"); comparisons combine with AND, OR, NOT and parentheses, and two
comparisons side by side are ANDed (`metric.type="x" resource.type="y"`, as the dashboards' filters are
written). NOT binds tighter than AND, AND tighter than OR. Selectors: project, metric.type, resource.type,
metric.labels.KEY and resource.labels.KEY (`metric.label.KEY` and `resource.label.KEY` are the same).
A label a series does not carry compares as the empty string.

Malformed filters are INVALID_ARGUMENT in Google's shape, `Field filter had an invalid value of "...": why`
(the shape of every Monitoring field error, e.g. grafana/grafana#22634); the text after the colon is the
sandbox's own, since Google's parser messages are not documented.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.cloudrun_model import ApiError

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op>!=|<=|>=|=|<|>|:)|(?P<paren>[(),])'
                    r'|(?P<word>[A-Za-z_][A-Za-z0-9_.\-/]*)|(?P<number>-?\d+(?:\.\d+)?))')
_SELECTOR = re.compile(r"^(project|metric\.type|resource\.type|(?:metric|resource)\.labels?\.[A-Za-z0-9_.\-/]+)$")
_FUNCTIONS = ("starts_with", "ends_with", "has_substring", "one_of", "monitoring.regex.full_match")
Labels = Mapping[str, str]


def filter_error(text: str, why: str) -> ApiError:
    return ApiError("INVALID_ARGUMENT", f'Field filter had an invalid value of "{text}": {why}')


def canonical(selector: str) -> str:
    """`metric.label.x` and `metric.labels.x` name the same label."""
    for kind in ("metric", "resource"):
        if selector.startswith(f"{kind}.label."):
            return f"{kind}.labels." + selector.removeprefix(f"{kind}.label.")
    return selector


@dataclass(frozen=True)
class Comparison:
    selector: str
    op: str
    function: str  # "" for a plain value
    args: tuple[str, ...]

    def matches(self, labels: Labels) -> bool:
        value = labels.get(self.selector, "")
        if self.function:
            hit = _apply(self.function, self.args, value)
            return hit if self.op == "=" else not hit
        arg = self.args[0]
        if self.op == "=":
            return value == arg
        if self.op == "!=":
            return value != arg
        if self.op == ":":
            return arg in value
        return _order(self.op, value, arg)


@dataclass(frozen=True)
class Not:
    inner: Node

    def matches(self, labels: Labels) -> bool:
        return not self.inner.matches(labels)


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]

    def matches(self, labels: Labels) -> bool:
        return all(p.matches(labels) for p in self.parts)


@dataclass(frozen=True)
class Any_:
    parts: tuple[Node, ...]

    def matches(self, labels: Labels) -> bool:
        return any(p.matches(labels) for p in self.parts)


Node = Comparison | Not | All | Any_


def _apply(function: str, args: tuple[str, ...], value: str) -> bool:
    if function == "starts_with":
        return value.startswith(args[0])
    if function == "ends_with":
        return value.endswith(args[0])
    if function == "has_substring":
        return args[0] in value
    if function == "one_of":
        return value in args
    return re.fullmatch(args[0], value) is not None


def _order(op: str, value: str, arg: str) -> bool:
    def number(s: str) -> float | None:
        try:
            return float(s)
        except ValueError:
            return None

    compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]
    a, b = number(value), number(arg)
    return bool(compare(a, b)) if a is not None and b is not None else bool(compare(value, arg))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise filter_error(text, f"unexpected character {text[pos:].lstrip()[:1]!r} at column {pos + 1}.")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind), m.start(kind) + 1))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise filter_error(self.text, "the filter ends too early.")
        self.i += 1
        return token

    def fail(self, token: tuple[str, str, int] | None, wanted: str) -> ApiError:
        if token is None:
            return filter_error(self.text, f"expected {wanted} at the end of the filter.")
        return filter_error(self.text, f"expected {wanted} at column {token[2]}, found {token[1]!r}.")

    def parse(self) -> Node:
        if not self.tokens:
            raise filter_error(self.text, "the filter is empty.")
        node = self.any_()
        if self.peek() is not None:
            raise self.fail(self.peek(), "AND, OR or the end of the filter")
        return node

    def any_(self) -> Node:
        parts = [self.all_()]
        while (t := self.peek()) is not None and t[0] == "word" and t[1] == "OR":
            self.take()
            parts.append(self.all_())
        return parts[0] if len(parts) == 1 else Any_(tuple(parts))

    def all_(self) -> Node:
        parts = [self.unary()]
        while (t := self.peek()) is not None and not (t[0] == "word" and t[1] == "OR") and t[1] != ")":
            if t[0] == "word" and t[1] == "AND":
                self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def unary(self) -> Node:
        t = self.take()
        if t[0] == "word" and t[1] == "NOT":
            return Not(self.unary())
        if t[1] == "(":
            inner = self.any_()
            if (close := self.peek()) is None or close[1] != ")":
                raise self.fail(close, "')'")
            self.take()
            return inner
        if t[0] != "word" or not _SELECTOR.match(t[1]):
            raise filter_error(self.text, f"{t[1]!r} at column {t[2]} is not a selector (project, metric.type, "
                                          "resource.type, metric.labels.KEY or resource.labels.KEY).")
        op = self.take()
        if op[0] != "op":
            raise self.fail(op, "an operator (=, !=, :, <, <=, >, >=)")
        return self.value(canonical(t[1]), op[1])

    def value(self, selector: str, op: str) -> Node:
        t = self.take()
        if t[0] == "string":
            return Comparison(selector, op, "", (_unquote(t[1]),))
        if t[0] == "number" or (t[0] == "word" and t[1] in ("true", "false")):
            return Comparison(selector, op, "", (t[1],))
        if t[0] == "word" and t[1] in _FUNCTIONS:
            if op not in ("=", "!="):
                raise filter_error(self.text, f"{t[1]}() at column {t[2]} needs = or !=, not {op}.")
            return Comparison(selector, op, t[1], self.arguments(t))
        raise self.fail(t, 'a quoted value or a function such as starts_with("...")')

    def arguments(self, function: tuple[str, str, int]) -> tuple[str, ...]:
        if (t := self.take())[1] != "(":
            raise self.fail(t, "'('")
        args: list[str] = []
        while True:
            t = self.take()
            if t[0] != "string":
                raise self.fail(t, "a quoted argument")
            args.append(_unquote(t[1]))
            sep = self.take()
            if sep[1] == ")":
                break
            if sep[1] != ",":
                raise self.fail(sep, "',' or ')'")
        if function[1] != "one_of" and len(args) != 1:
            raise filter_error(self.text, f"{function[1]}() at column {function[2]} takes one argument, "
                                          f"got {len(args)}.")
        if function[1] == "monitoring.regex.full_match":
            try:
                re.compile(args[0])
            except re.error as exc:
                raise filter_error(self.text, f"the regular expression {args[0]!r} is invalid ({exc}).") from None
        return tuple(args)


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse(text: str) -> Node:
    """The filter as a tree whose `matches(labels)` says whether a series with those labels is selected."""
    return _Parser(text).parse()


def required(node: Node, selector: str) -> str | None:
    """The value `selector` must equal for the filter to match (a top-level `selector = "v"`), if any."""
    parts = node.parts if isinstance(node, All) else (node,)
    for part in parts:
        if isinstance(part, Comparison) and part.selector == selector and part.op == "=" and not part.function:
            return part.args[0]
    return None
