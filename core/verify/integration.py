"""Integration check: Firebase configured, Redis given as a secret reference and reachable from the
revision (its /readyz lists its dependencies), Google Calendar configured or plainly said not to be.

Google Calendar is optional for the platform, so "not configured" is a warning, not a failure.
"""

from __future__ import annotations

from core.config import parse_secret_ref
from core.errors import BadInput
from core.verify.common import CheckContext, dependency_ok, item, listing, probe
from core.verify.report import CheckResult


def _firebase(ctx: CheckContext) -> dict[str, str]:
    project = ctx.target.config.application.firebase_project_id.strip()
    if project:
        return item("firebase", "pass", f"Firebase project {project} configured")
    return item("firebase", "fail", f"no Firebase project is configured for {ctx.target.environment}")


def _redis_reference(ctx: CheckContext) -> dict[str, str]:
    try:
        ref = parse_secret_ref(ctx.target.config.application.redis_connection)
    except BadInput:
        # Never quoted: a setting that is not a reference may be the credential itself.
        return item("redis_connection", "fail", "the Redis connection setting is not a secret reference")
    return item("redis_connection", "pass", f"Redis connection is the reference {ref}")


def _dependencies(ctx: CheckContext) -> list[dict[str, str]]:
    if not ctx.target.url:
        return [item("dependencies", "fail",
                     f"revision {ctx.target.revision} has no URL of its own, so its dependencies cannot be read")]
    answer = probe(ctx, "/readyz")
    checks = answer.body.get("checks") if isinstance(answer.body, dict) else None
    if isinstance(checks, dict) and checks:
        return [item(str(name), "pass" if dependency_ok(state) else "fail",
                     f"the revision's /readyz reports {name} {state}") for name, state in checks.items()]
    if answer.status is None:
        return [item("dependencies", "fail", f"the revision's /readyz could not be read: {answer.reason}")]
    if not answer.ok:
        said = f": {answer.reason}" if answer.reason else ""
        return [item("dependencies", "fail", f"the revision's /readyz answered {answer.status}{said}, "
                                             "so its dependencies are unknown")]
    return [item("dependencies", "warning", "the revision is ready but its /readyz does not list its dependencies")]


def _calendar(ctx: CheckContext) -> dict[str, str]:
    secrets = [name for name in ctx.target.config.secrets if "calendar" in name.lower()]
    variables = [name for name in ctx.target.env_vars if "CALENDAR" in name.upper()]
    if secrets or variables:
        where = listing([f"secret {s}" for s in secrets] + [f"variable {v}" for v in variables])
        return item("google_calendar", "pass", f"Google Calendar configured ({where})")
    return item("google_calendar", "warning", "Google Calendar is not configured (no calendar secret or variable)")


def check_integration(ctx: CheckContext) -> CheckResult:
    items = [_firebase(ctx), _redis_reference(ctx), *_dependencies(ctx), _calendar(ctx)]
    failing = [i["detail"] for i in items if i["status"] == "fail"]
    warnings = [i["detail"] for i in items if i["status"] == "warning"]
    details = {"items": items}
    if failing:
        return CheckResult("integration", "fail", listing(failing), details)
    passed = sum(i["status"] == "pass" for i in items)
    said = f"{passed} of {len(items)} integrations verified"
    if warnings:
        said += ", warning: " + listing(warnings)
    return CheckResult("integration", "pass", said, details)
