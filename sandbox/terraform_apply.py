"""What the Terraform stand-in's apply does to the sandbox's cloud: the Cloud Run services it configures.

Real Terraform's google provider calls the Cloud Run Admin API to make a `google_cloud_run_v2_service`
look like its configuration. The stand-in does the same, over the same REST API of the running sandbox
(TF_STANDIN_CLOUDRUN_URL, set by the composition root), so the sandbox stays the one writer of its state
and an apply is safe while consoles use the sandbox. Without the variable (no sandbox to change) the apply
changes the state file only, as before.

Applied: the template's scaling (min and max instances) and its container's environment (plain values and
Secret Manager references; the variables Terraform does not configure are removed, as the provider would).
Not applied, as the module says (`lifecycle.ignore_changes`): the image and the traffic, which the console
moves, and the revision annotations (the CPU target; the v2 API has no field for it). The service's traffic
is sent back as it is, so a template change makes a revision that serves only where traffic follows LATEST.

The stand-in's HCL keeps `dynamic` blocks as written; `expand` turns them into the blocks Terraform would
plan (`show -json` prints those), evaluating the small for-expressions the modules use to build them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import httpx

SERVICE_TYPE = "google_cloud_run_v2_service"
ENDPOINT_VARIABLE = "TF_STANDIN_CLOUDRUN_URL"
MONITORING_VARIABLE = "TF_STANDIN_MONITORING_TARGET"  # host:port of Monitoring's gRPC (terraform_apply_monitoring.py)


class ApplyFailed(Exception):
    """The cloud refused a change; the stand-in prints it in Terraform's error box (exit 1)."""


# -- dynamic blocks and the expressions that feed them --------------------------------------------------------

class _Unknown(Exception):
    """An expression the stand-in cannot evaluate: the block stays as written."""


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<id>[A-Za-z_][\w-]*)'
                    r'|(?P<op>=>|==|!=|&&|\|\||[{}()\[\],:?.=!<>]))')


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _Unknown(text[pos:pos + 20])
        out.append(match.group().strip())
        pos = match.end()
    return out


class _Expr:
    """A recursive-descent evaluator for the HCL the modules feed `dynamic` blocks with: for-expressions over
    maps, objects, `? :`, `==`, `!=`, `&&`, `||`, `!`, attribute and index access, upper()/lower(), strings
    with `${...}` and null. Anything else is _Unknown."""

    FUNCTIONS: ClassVar[dict[str, Callable[..., Any]]] = {"upper": lambda s: str(s).upper(),
                                                          "lower": lambda s: str(s).lower()}

    def __init__(self, text: str, scope: dict[str, Any]) -> None:
        self.toks, self.i, self.scope = _tokens(text), 0, scope

    def peek(self) -> str:
        return self.toks[self.i] if self.i < len(self.toks) else ""

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if not tok or (expected is not None and tok != expected):
            raise _Unknown(f"expected {expected!r}, got {tok!r}")
        self.i += 1
        return tok

    def whole(self) -> Any:
        value = self.expr()
        if self.peek():
            raise _Unknown(f"unexpected {self.peek()!r}")
        return value

    def expr(self) -> Any:
        cond = self.binary(0)
        if self.peek() == "?":
            self.take()
            yes = self.expr()
            self.take(":")
            no = self.expr()
            return yes if cond else no
        return cond

    LEVELS = (("||",), ("&&",), ("==", "!="))

    def binary(self, level: int) -> Any:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in self.LEVELS[level]:
            op = self.take()
            right = self.binary(level + 1)
            if op == "||":
                left = bool(left or right)
            elif op == "&&":
                left = bool(left and right)
            else:
                left = (left == right) if op == "==" else (left != right)
        return left

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not self.unary()
        return self.postfix(self.primary())

    def postfix(self, value: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take() == ".":
                name = self.take()
                value = value.get(name) if isinstance(value, dict) else None  # an optional attribute: null
            else:
                key = self.expr()
                self.take("]")
                value = value[key] if isinstance(value, dict) and key in value else None
        return value

    def primary(self) -> Any:
        tok = self.take()
        if tok.startswith('"'):
            return self.template(json.loads(tok))
        if tok[0].isdigit() or tok[0] == "-":
            return json.loads(tok)
        if tok == "(":
            value = self.expr()
            self.take(")")
            return value
        if tok == "{":
            return self.for_object() if self.peek() == "for" else self.object()
        if tok == "[":
            items = []
            while self.peek() != "]":
                items.append(self.expr())
                if self.peek() == ",":
                    self.take()
            self.take("]")
            return items
        if tok in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[tok]
        if self.peek() == "(" and tok in self.FUNCTIONS:
            self.take("(")
            args = [self.expr()]
            self.take(")")
            return self.FUNCTIONS[tok](*args)
        if tok in self.scope:
            return self.scope[tok]
        raise _Unknown(f"unknown name {tok!r}")

    def template(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            value = _Expr(match[1], self.scope).whole()
            return value if isinstance(value, str) else json.dumps(value)

        return re.sub(r"\$\{([^{}]*)\}", one, text)

    def object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while self.peek() != "}":
            key_tok = self.take()
            key = json.loads(key_tok) if key_tok.startswith('"') else key_tok
            if self.peek() not in ("=", ":"):
                raise _Unknown(f"expected = after {key!r}")
            self.take()
            out[key] = self.expr()
            if self.peek() == ",":
                self.take()
        self.take("}")
        return out

    def for_object(self) -> dict[str, Any]:
        self.take("for")
        names = [self.take()]
        if self.peek() == ",":
            self.take()
            names.append(self.take())
        self.take("in")
        collection = self.expr()
        self.take(":")
        start = self.i
        out: dict[str, Any] = {}
        items = collection.items() if isinstance(collection, dict) else enumerate(collection or [])
        for key, value in items:
            self.i = start
            inner = _Expr.__new__(_Expr)
            inner.toks, inner.i = self.toks, start
            inner.scope = {**self.scope, **dict(zip(names, (key, value) if len(names) == 2 else (value,),
                                                     strict=True))}
            k = inner.expr()
            inner.take("=>")
            v = inner.expr()
            keep = True
            if inner.peek() == "if":
                inner.take()
                keep = bool(inner.expr())
            if keep:
                out[str(k)] = v
            self.i = inner.i
        if not items or not out:  # skip the body when nothing was iterated: find the closing brace
            depth = 0
            while self.i < len(self.toks) and not (self.peek() == "}" and depth == 0):
                depth += {"{": 1, "}": -1}.get(self.take(), 0)
        self.take("}")
        return out


def evaluate(value: Any) -> Any:
    """A value the stand-in's HCL left as `${...}` text, evaluated; _Unknown when it cannot be."""
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\$\{(.*)\}", value, re.S)
    if whole is None:
        raise _Unknown(value[:40])
    return _Expr(whole[1], {}).whole()


def _substitute(content: Any, iterator: str, key: Any, value: Any) -> Any:
    if isinstance(content, dict):
        return {k: _substitute(v, iterator, key, value) for k, v in content.items()}
    if isinstance(content, list):
        return [_substitute(v, iterator, key, value) for v in content]
    if isinstance(content, str) and "${" in content:
        scope = {iterator: {"key": key, "value": value}}
        whole = re.fullmatch(r"\$\{([^{}]*)\}", content)
        if whole:
            return _Expr(whole[1], scope).whole()
        return _Expr.template(_Expr("null", scope), content)
    return content


def _expand_dynamic(block: dict[str, Any]) -> dict[str, Any]:
    out = {k: expand(v) for k, v in block.items() if k != "dynamic"}
    for dynamic in block.get("dynamic") or []:
        for name, spec in dynamic.items():
            try:
                items = evaluate(spec.get("for_each"))
                iterator = str(spec.get("iterator") or name)
                contents = spec.get("content") or [{}]
                pairs: Iterator[tuple[Any, Any]] = iter(items.items()) if isinstance(items, dict) else \
                    ((v, v) for v in items or [])
                made = [expand(_substitute(contents[0], iterator, k, v)) for k, v in sorted(pairs, key=lambda p:
                                                                                            str(p[0]))]
            except (_Unknown, AttributeError, TypeError, KeyError, ValueError):
                out.setdefault("dynamic", []).append(dynamic)  # kept as written: the stand-in cannot expand it
                continue
            out[name] = [*out.get(name, []), *made]
    return out


def expand(value: Any) -> Any:
    """Attributes with their `dynamic` blocks expanded into the blocks Terraform would plan."""
    if isinstance(value, dict):
        return _expand_dynamic(value) if "dynamic" in value else {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def expand_change(change: dict[str, Any]) -> dict[str, Any]:
    """A resource change as `show -json` prints it: before and after with dynamic blocks expanded."""
    inner = dict(change["change"])
    inner["before"], inner["after"] = expand(inner.get("before")), expand(inner.get("after"))
    return {**change, "change": inner}


# -- Cloud Run ---------------------------------------------------------------------------------------------------

def _first(value: Any) -> dict[str, Any]:
    return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}


def configured(after: dict[str, Any]) -> dict[str, Any]:
    """The scaling and env a google_cloud_run_v2_service's (expanded) attributes configure, as the API's JSON."""
    template = _first(after.get("template"))
    scaling = _first(template.get("scaling"))
    container = _first(template.get("containers"))
    env = []
    for var in container.get("env") or []:
        ref = _first(_first(var.get("value_source")).get("secret_key_ref"))
        if ref:
            env.append({"name": var["name"], "valueSource": {"secretKeyRef": {
                "secret": str(ref.get("secret", "")), "version": str(ref.get("version") or "latest")}}})
        else:
            env.append({"name": var["name"], "value": str(var.get("value", ""))})
    return {"minInstanceCount": int(scaling.get("min_instance_count") or 0),
            "maxInstanceCount": int(scaling.get("max_instance_count") or 100),
            "env": sorted(env, key=lambda e: e["name"])}


def _live(service: dict[str, Any]) -> dict[str, Any]:
    template = service.get("template") or {}
    scaling = template.get("scaling") or {}
    container = (template.get("containers") or [{}])[0]
    env = [{k: v for k, v in e.items() if k in ("name", "value", "valueSource")} for e in container.get("env") or []]
    for e in env:
        if "valueSource" not in e:
            e.setdefault("value", "")
    return {"minInstanceCount": int(scaling.get("minInstanceCount") or 0),
            "maxInstanceCount": int(scaling.get("maxInstanceCount") or 100),
            "env": sorted(env, key=lambda e: e["name"])}


def _describe(before: dict[str, Any], after: dict[str, Any]) -> str:
    labels = (("minInstanceCount", "min_instances"), ("maxInstanceCount", "max_instances"))
    parts = [f"{label} {before[key]} -> {after[key]}" for key, label in labels if before[key] != after[key]]
    old, new = {e["name"]: e for e in before["env"]}, {e["name"]: e for e in after["env"]}
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            parts.append(f"env {name} " + ("added" if name not in old else "removed" if name not in new else
                                           "changed"))
    return ", ".join(parts)


def apply_cloud_run(resource_changes: list[dict[str, Any]], endpoint: str | None = None) -> list[str]:
    """Make each Cloud Run service the plan keeps look like its configuration; one line per service changed.

    Every service in the plan is compared with what Cloud Run reports, not only those the plan updates: like
    Terraform's refresh, an apply puts back a setting someone changed outside Terraform.
    """
    endpoint = endpoint if endpoint is not None else os.environ.get(ENDPOINT_VARIABLE, "")
    if not endpoint:
        return []
    import httpx  # only when there is a cloud to change: plan and show stay quick

    said: list[str] = []
    with httpx.Client(base_url=endpoint.rstrip("/"), timeout=10.0) as client:
        for change in resource_changes:
            after = change["change"].get("after")
            if change.get("type") != SERVICE_TYPE or not isinstance(after, dict):
                continue
            want = configured(expand(after))
            name = f"projects/{after.get('project')}/locations/{after.get('location')}/services/{after.get('name')}"
            said.extend(_converge(client, change["address"], name, want))
    return said


def apply_monitoring(resource_changes: list[dict[str, Any]], variables: dict[str, Any]) -> list[str]:
    """The plan's Monitoring notification channels and alert policies, applied through the official clients
    (sandbox/terraform_apply_monitoring.py); one line per object changed."""
    from sandbox.terraform_apply_monitoring import apply_monitoring as apply

    return apply(resource_changes, variables)


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    import httpx

    try:
        return client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ApplyFailed(f"the sandbox's Cloud Run at {client.base_url} did not answer {method} {path}: "
                          f"{type(exc).__name__}") from None


def _refused(answer: httpx.Response, what: str) -> ApplyFailed:
    try:
        message = answer.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {answer.status_code}"
    return ApplyFailed(f"Error {what}: {message}")


def _converge(client: httpx.Client, address: str, name: str, want: dict[str, Any]) -> list[str]:
    for _ in range(5):  # an etag conflict: someone else changed the service; read it again
        answer = _call(client, "GET", f"/v2/{name}")
        if answer.status_code == 404:
            raise ApplyFailed(f"Error updating {address}: the Cloud Run service {name} does not exist in the "
                              "sandbox (its project, region and name come from the configuration)")
        if answer.status_code != 200:
            raise _refused(answer, f"reading {address}")
        service = answer.json()
        have = _live(service)
        if have == want:
            return []
        template = service.setdefault("template", {})
        template.pop("revision", None)  # the configuration names no revision: Cloud Run generates one
        template.setdefault("scaling", {}).update(minInstanceCount=want["minInstanceCount"],
                                                  maxInstanceCount=want["maxInstanceCount"])
        containers = template.setdefault("containers", [{}])
        containers[0]["env"] = want["env"]
        answer = _call(client, "PATCH", f"/v2/{name}", json=service)
        if answer.status_code == 409:
            continue
        if answer.status_code != 200:
            raise _refused(answer, f"updating {address}")
        return [f"{address}: {_describe(have, want)}"]
    raise ApplyFailed(f"Error updating {address}: the service kept changing underneath (etag conflicts)")
