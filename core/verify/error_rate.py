"""Error-rate check: the revision's 5xx share over the window against the criteria's ceiling.

Too few requests to judge gives "no_data" with the count and the minimum: never a pass (a revision
nobody called has shown nothing) and never a fail (it has not misbehaved either).
"""

from __future__ import annotations

from core.verify.common import CheckContext, number, percent
from core.verify.report import CheckResult


def check_error_rate(ctx: CheckContext) -> CheckResult:
    if ctx.metrics is None:
        return CheckResult("error_rate", "skipped", "no metrics provider was given, so the 5xx rate was not read")
    if ctx.window is None:
        return CheckResult("error_rate", "skipped", "no metrics window was given, so the 5xx rate was not read")
    start, end = ctx.window
    revision = ctx.target.revision
    served = ctx.metrics.revision_metrics(ctx.target.service, start, end).get(revision)
    total = served.total if served is not None else 0
    errors = served.errors_5xx if served is not None else 0
    ceiling = ctx.criteria.max_5xx_rate
    minimum = ctx.criteria.min_requests_per_window
    seconds = (end - start).total_seconds()
    details = {"revision": revision, "window_start": start.isoformat(), "window_end": end.isoformat(),
               "window_s": seconds, "requests": total, "errors_5xx": errors,
               "rate_5xx": round(errors / total, 6) if total else None, "max_5xx_rate": ceiling,
               "min_requests": minimum, "by_class": dict(served.requests) if served is not None else {}}
    span = f"{number(seconds)} s"
    if total == 0 or total < minimum:
        return CheckResult("error_rate", "no_data", f"only {number(total)} requests in the last {span} "
                                                    f"(at least {number(minimum)} needed to judge the 5xx rate)",
                           details)
    rate = errors / total
    said = (f"5xx {percent(rate)} ({number(errors)} of {number(total)} requests in {span}) "
            f"{'within' if rate <= ceiling else 'above'} the {percent(ceiling)} ceiling")
    return CheckResult("error_rate", "pass" if rate <= ceiling else "fail", said, details)
