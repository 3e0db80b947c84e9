"""Security check: TLS on every URL (plain http only on loopback in the sandbox), no literal secrets in
the revision's plain environment (as Cloud Run reports the revision), and who may invoke the service and its
ingress, read from Cloud Run (getIamPolicy, the Service) and compared with the configuration.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from core.errors import OpsError
from core.model.service import ServiceState
from core.verify.common import CheckContext, item, listing, number
from core.verify.report import CheckResult
from core.verify.secret_scan import Leak, find_leaks
from core.verify.websocket import websocket_url

_SECURE = {"https", "wss"}
_PLAIN = {"http", "ws"}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(url: str) -> str:
    """The URL without any user:password part, so a report never carries credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _url_item(what: str, url: str, ctx: CheckContext) -> dict[str, str]:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # a malformed port raises here
    except ValueError:
        return item(what, "fail", f"the {what} is not a valid URL")
    shown = _shown(url)
    if parts.username or parts.password:
        return item(what, "fail", f"the {what} {shown} carries credentials in it")
    if parts.scheme in _SECURE:
        return item(what, "pass", f"the {what} {shown} uses {parts.scheme}")
    if parts.scheme in _PLAIN and ctx.profile == "sandbox" and _loopback(host):
        return item(what, "pass", f"the {what} {shown} uses {parts.scheme} on loopback, allowed in the sandbox only")
    secure = "https" if parts.scheme in ("http", "https") else "wss"
    where = "in the gcp profile" if ctx.profile == "gcp" else "off loopback"
    return item(what, "fail", f"the {what} {shown} uses {parts.scheme or 'no scheme'}, not {secure}, {where}")


def _urls(ctx: CheckContext) -> list[dict[str, str]]:
    items = []
    if ctx.target.url:
        items.append(_url_item("revision URL", ctx.target.url, ctx))
        items.append(_url_item("revision WebSocket URL", websocket_url(ctx.target.url), ctx))
    else:
        items.append(item("revision URL", "info", f"revision {ctx.target.revision} has no URL of its own to check"))
    items.append(_url_item("public WebSocket URL", ctx.target.config.application.websocket_url, ctx))
    return items


def _environment(ctx: CheckContext, leaks: list[Leak]) -> dict[str, str]:
    variables = ctx.target.env_vars
    if not variables:
        return item("plain environment", "pass", f"revision {ctx.target.revision} has no plain environment "
                                                 "variables (secrets by reference only)")
    if not leaks:
        return item("plain environment", "pass",
                    f"no secret values among {number(len(variables))} plain environment variables")
    named = listing([f"{leak.variable} ({leak.why})" for leak in leaks])
    return item("plain environment", "fail", f"literal secret values in plain environment variables: {named}")


_PUBLIC = ("allUsers", "allAuthenticatedUsers")


def _invoker(ctx: CheckContext, state: ServiceState, invokers: tuple[str, ...]) -> dict[str, str]:
    service, public = ctx.target.service, ctx.target.config.infrastructure.public
    open_to = [m for m in _PUBLIC if m in invokers] + (["anyone (invoker IAM check disabled)"]
                                                       if state.invoker_iam_disabled else [])
    if public and ("allUsers" in invokers or state.invoker_iam_disabled):
        how = "allUsers may invoke it" if "allUsers" in invokers else "its invoker IAM check is disabled"
        return item("invoker policy", "pass", f"{service} is public ({how}), as configured")
    if public:
        return item("invoker policy", "fail", f"{service} is not invokable by allUsers, but its configuration "
                                              "says it is public (browsers connect to it directly)")
    if open_to:
        return item("invoker policy", "fail", f"{listing(open_to)} may invoke {service}, but its configuration "
                                              "says it is not public")
    return item("invoker policy", "pass", f"{service} is not public, as configured "
                                          f"({number(len(invokers))} members may invoke it)")


def _ingress(ctx: CheckContext, state: ServiceState) -> dict[str, str]:
    wanted = ctx.target.config.infrastructure.ingress
    if state.ingress == wanted:
        return item("ingress", "pass", f"ingress {state.ingress}, as configured")
    return item("ingress", "fail", f"the ingress of {ctx.target.service} is {state.ingress or 'not reported'}, "
                                   f"configured {wanted}")


def _exposure(ctx: CheckContext) -> list[dict[str, str]]:
    """Who may invoke the service and what traffic reaches it, read from Cloud Run and compared with the
    configuration (infrastructure's `public` and `ingress`, the Terraform module's variables)."""
    if ctx.cloudrun is None:
        return [item("invoker policy", "fail", f"the IAM policy and ingress of {ctx.target.service} could not be "
                                               "read: the check was given no Cloud Run client")]
    try:
        state = ctx.cloudrun.get_service(ctx.target.service)
        invokers = ctx.cloudrun.invokers(ctx.target.service)
    except OpsError as exc:
        return [item("invoker policy", "fail", f"the IAM policy and ingress of {ctx.target.service} could not be "
                                               f"read: {' '.join(str(exc).split()).rstrip('.')}")]
    return [_invoker(ctx, state, invokers), _ingress(ctx, state)]


def check_security(ctx: CheckContext) -> CheckResult:
    leaks = find_leaks(ctx.target.env_vars)
    items = [*_urls(ctx), _environment(ctx, leaks), *_exposure(ctx)]
    details = {"profile": ctx.profile, "items": items, "leaked_variables": [leak.variable for leak in leaks]}
    failing = [i["detail"] for i in items if i["status"] == "fail"]
    if failing:
        return CheckResult("security", "fail", listing(failing), details)
    urls = [i for i in items if "URL" in i["name"] and i["status"] == "pass"]
    loopback = any("loopback" in i["detail"] for i in urls)
    said = (f"{len(urls)} URLs use TLS" + (" or loopback (sandbox)" if loopback else "")
            + ", " + ", ".join(i["detail"] for i in items if "URL" not in i["name"]))
    return CheckResult("security", "pass", said, details)
