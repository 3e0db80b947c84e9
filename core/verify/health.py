"""Health check: the revision's own URL answers /healthz and /readyz with 200, and how fast."""

from __future__ import annotations

from core.verify.common import CheckContext, Probe, listing, number, probe
from core.verify.report import CheckResult

ENDPOINTS = ("/healthz", "/readyz")


def _describe(path: str, answer: Probe) -> str:
    if answer.status is None:
        return f"{path} {answer.reason}"
    said = f" ({answer.reason})" if answer.reason and not answer.ok else ""
    return f"{path} {answer.status}{said} in {number(answer.latency_ms)} ms"


def check_health(ctx: CheckContext) -> CheckResult:
    if not ctx.target.url:
        return CheckResult("health", "fail", f"revision {ctx.target.revision} has no URL of its own (no tag), "
                                             "so it cannot be probed")
    answers = {path: probe(ctx, path) for path in ENDPOINTS}
    details = {"url": ctx.target.url, **{path: {"status": a.status, "latency_ms": a.latency_ms, "reason": a.reason}
                                         for path, a in answers.items()}}
    failing = [path for path, a in answers.items() if not a.ok]
    if not failing:
        return CheckResult("health", "pass", ", ".join(_describe(p, a) for p, a in answers.items()), details)
    said = {(answers[p].status, answers[p].reason) for p in failing}
    if len(failing) > 1 and len(said) == 1:
        # The usual outage: both endpoints give the same answer, so say it once.
        return CheckResult("health", "fail", _failure(" and ".join(failing), answers[failing[0]]), details)
    return CheckResult("health", "fail", listing([_failure(p, answers[p]) for p in failing]), details)


def _failure(paths: str, answer: Probe) -> str:
    if answer.status is None:
        return f"{paths}: {answer.reason}"
    return f"{paths} answered {answer.status}" + (f": {answer.reason}" if answer.reason else "")
