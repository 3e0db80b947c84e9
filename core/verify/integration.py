"""Integration check: Redis, Firebase and Google Calendar measured reachable by the revision itself, through its
readiness endpoint (core/verify/readiness.py, the contract in docs/READINESS.md), and Redis's connection given
as a secret reference.

Configuration alone never passes: an integration counts as verified only when the revision reported it
reachable. Google Calendar is optional for the platform: when neither the configuration nor the revision
names it, that is a warning, not a failure; when either does, it is measured like the others.
"""

from __future__ import annotations

from core.config import parse_secret_ref
from core.errors import BadInput
from core.verify.common import CheckContext, item, listing
from core.verify.readiness import PATH, Dependency, Readiness, read_readiness
from core.verify.report import CheckResult

_SHOWN = {"redis": "Redis", "firebase": "Firebase", "calendar": "Google Calendar"}
_ITEM = {"redis": "redis", "firebase": "firebase", "calendar": "google_calendar"}


def _redis_reference(ctx: CheckContext) -> dict[str, str]:
    try:
        ref = parse_secret_ref(ctx.target.config.application.redis_connection)
    except BadInput:
        # Never quoted: a setting that is not a reference may be the credential itself.
        return item("redis_connection", "fail", "the Redis connection setting is not a secret reference")
    return item("redis_connection", "pass", f"Redis connection is the reference {ref}")


def _calendar_configured(ctx: CheckContext) -> bool:
    return (any("calendar" in name.lower() for name in ctx.target.config.secrets)
            or any("CALENDAR" in name.upper() for name in ctx.target.env_vars))


def _measured(name: str, dep: Dependency, ctx: CheckContext) -> dict[str, str]:
    shown, revision = _SHOWN[name], ctx.target.revision
    if not dep.ok:
        return item(_ITEM[name], "fail", f"{shown} is unreachable from {revision}"
                    + (f" ({dep.error})" if dep.error else ""))
    said = f"{shown} reachable from {revision}" + (f" in {dep.latency_ms:g} ms" if dep.latency_ms is not None else "")
    if name == "firebase":
        said += f" (project {ctx.target.config.application.firebase_project_id})"
    if name == "redis" and dep.keys is not None:
        said += f", {sum(dep.keys.values())} keys"
    return item(_ITEM[name], "pass", said)


def _integration(name: str, ready: Readiness, ctx: CheckContext) -> dict[str, str]:
    shown = _SHOWN[name]
    if not ready.measured:
        return item(_ITEM[name], "fail", f"{shown} could not be measured: {ready.problem}")
    dep = ready.dependencies.get(name)
    if dep is not None:
        return _measured(name, dep, ctx)
    if name == "calendar" and not _calendar_configured(ctx):
        return item(_ITEM[name], "warning", "Google Calendar is not configured (no calendar secret or variable, "
                                            f"and {PATH} does not report it)")
    return item(_ITEM[name], "fail", f"{shown} could not be measured: the revision's {PATH} does not report it")


def check_integration(ctx: CheckContext) -> CheckResult:
    if not ctx.target.url:
        ready = Readiness("", None, f"revision {ctx.target.revision} has no URL of its own to read {PATH} from")
    else:
        ready = read_readiness(ctx.http, ctx.target.url, ctx.timeout)
    integrations = [_integration(name, ready, ctx) for name in ("firebase", "redis", "calendar")]
    items = [*integrations, _redis_reference(ctx)]
    details = {"items": items, "readiness": {"url": ready.url, "status": ready.status, "measured": ready.measured}}
    failing = [i["detail"] for i in items if i["status"] == "fail"]
    if not ready.measured:  # one cause, said once, not once per integration
        failing = [f"no integration could be measured: {ready.problem}", *failing[len(integrations):]]
    if failing:
        return CheckResult("integration", "fail", listing(failing), details)
    measured = [i for i in integrations if i["status"] == "pass"]
    said = f"{len(measured)} of {len(integrations)} integrations measured reachable"
    warnings = [i["detail"] for i in items if i["status"] == "warning"]
    if warnings:
        said += ", warning: " + listing(warnings)
    return CheckResult("integration", "pass", said, details)
