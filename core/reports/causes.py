"""Rollback causes as recorded (free text from the engine, the judge and operators) normalised into a few causes."""

from __future__ import annotations

import re

_OPERATOR = re.compile(r"^rolled back by [^:]+:\s*(.*)$", re.IGNORECASE | re.DOTALL)


def normalise_cause(recorded: str | None) -> str:
    """One cause per rollback: "5xx", "latency", "verification failed", "revision not ready",
    "operator: <reason>", "canary judge" (another judge finding), "unrecorded", or the text itself.

    The judge's causes name the check that failed ("canary judge: ... canary 5xx 4.1 % ..." or
    "... canary p99 820 ms ..."); operators' read "rolled back by <who>: <reason>", and the reason is
    kept (lower-cased, trimmed) so that the same reason given by two people counts once.
    """
    if not recorded or not recorded.strip():
        return "unrecorded"
    text = " ".join(recorded.split())
    operator = _OPERATOR.match(text)
    if operator is not None:
        reason = operator.group(1).strip().rstrip(".!").lower()
        return f"operator: {reason or 'no reason given'}"
    lowered = text.lower()
    if "5xx" in lowered or "error rate" in lowered:
        return "5xx"
    if any(word in lowered for word in ("p99", "p95", "p50", "latency")):
        return "latency"
    if "verif" in lowered:
        return "verification failed"
    if "did not become ready" in lowered or "not ready" in lowered:
        return "revision not ready"
    if lowered.startswith("canary judge"):
        return "canary judge"
    return text if len(text) <= 60 else text[:59] + "…"
