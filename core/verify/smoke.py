"""Smoke check: a burst of real GETs of "/" on the new revision's own URL, side by side with the service's URL
(the stable revision while the new one has no traffic), refusing a revision that is clearly worse before
any user reaches it.

A 10 % canary step at 20 rps needs most of a minute of live traffic to prove an 8 % 5xx revision bad; a
burst of a few hundred requests proves it in seconds. Every refusal is an exact one-sided test at
p < 0.001, so a healthy revision essentially never fails:

- failures (5xx, or no answer within the timeout) above criteria.max_5xx_rate: a binomial tail;
- with a baseline, more failures than the baseline: given k failures in all, under "no worse" each is the
  candidate's with probability n_c / (n_c + n_b); and the share is above the baseline's by more than a
  tenth of the ceiling, so a significant but negligible difference does not block a release;
- with a baseline, more requests slower than the p90 of both sides pooled (a bound that treats both sides
  alike, so the same conditional test holds under "same distribution"), and p99 above
  max_p99_ratio_to_stable × the baseline's p99. p90 rather than p95: twice the slow requests to count;
  in a simulation of the sandbox's slow tail (p99 900 ms against 180 ms, 200 requests a side) it
  detected 98.8 % instead of 96 %, and with added timing noise (a busy machine) 86 % instead of 69 %,
  with no more false refusals;
- without a baseline, p99 above criteria.max_p99_latency_ms with significantly more than 1 % of requests
  over that ceiling.

Given the total, the exact conditional law of one side's count is hypergeometric; the binomial used here
has the heavier upper tail, so its p-values are slightly conservative (a false refusal stays below 0.001).
The requests run on CONCURRENCY threads sharing the verification's httpx client.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

from core.analysis.stats import binom_sf
from core.config import ValidationCriteria
from core.verify.burst import interleaved_gets
from core.verify.common import CheckContext, number, percent, percentile
from core.verify.report import CheckResult

BUDGET_TIMEOUTS = 5
"""The check's time budget in request timeouts (the runner adds its grace): no new request starts after
BUDGET_TIMEOUTS - 1 of them, so the last ones end inside the budget even when every request hangs."""
CONCURRENCY = 16  # requests in flight, both sides together
ALPHA = 0.001
MIN_REQUESTS = 20
_SLOW_PERCENTILE = 90  # of both sides pooled: the bound above which a request counts as slow
_OVER_CEILING_SHARE = 0.01  # without a baseline, the share of requests allowed over max_p99_latency_ms
_STABLE = "stable"


@dataclass
class Side:
    """What one URL answered: counts of each kind of failure and the latency of every answer."""

    url: str
    sent: int = 0
    errors_5xx: int = 0
    no_answer: int = 0
    latencies_ms: list[float] = field(default_factory=list)  # answered requests only (any status)

    @property
    def answered(self) -> int:
        return len(self.latencies_ms)

    @property
    def failures(self) -> int:
        return self.errors_5xx + self.no_answer

    @property
    def share(self) -> float:
        return self.failures / self.sent if self.sent else 0.0

    def p(self, q: float) -> float | None:
        return percentile(self.latencies_ms, q)

    def slower_than(self, bound_ms: float) -> int:
        return sum(1 for v in self.latencies_ms if v > bound_ms)

    def to_dict(self) -> dict[str, Any]:
        p50, p99 = self.p(50), self.p(99)
        return {"url": self.url, "sent": self.sent, "answered": self.answered, "errors_5xx": self.errors_5xx,
                "no_answer": self.no_answer, "failure_share": round(self.share, 6),
                "p50_ms": None if p50 is None else round(p50, 1), "p99_ms": None if p99 is None else round(p99, 1)}


def _p_value(p: float) -> float:
    return float(f"{p:.3g}")


def _ms(value: float | None) -> str:
    return "no answer" if value is None else f"{number(round(value))} ms"


def _failed(side: Side, timeout: float) -> str:
    """ "16 of 200 requests answered 5xx (8 %)", or with the kinds of failure when some got no answer at all."""
    said = f"{number(side.failures)} of {number(side.sent)} requests"
    if not side.no_answer:
        return f"{said} answered 5xx ({percent(side.share)})"
    return (f"{said} failed ({percent(side.share)}: {number(side.errors_5xx)} 5xx, {number(side.no_answer)} "
            f"without an answer within {number(timeout)} s)")


def _failure_counts(side: Side) -> str:
    said = f"{number(side.errors_5xx)} 5xx"
    return said + (f" and {number(side.no_answer)} unanswered" if side.no_answer else "")


def judge(candidate: Side, baseline: Side | None, criteria: ValidationCriteria, timeout: float,
          requested: int) -> tuple[bool, str, dict[str, Any]]:
    """(passed, one clause with numbers, details) for what the two sides answered."""
    ceiling = criteria.max_5xx_rate
    stats: dict[str, Any] = {"alpha": ALPHA, "max_5xx_rate": ceiling}
    problems: list[str] = []
    n_c, f_c = candidate.sent, candidate.failures
    stable_counts = ""
    vs_stable = False
    if baseline is not None and baseline.sent:
        n_b, f_b = baseline.sent, baseline.failures
        stable_counts = f" against {number(f_b)} of {number(n_b)} ({percent(baseline.share)}) on {_STABLE}"
        p = binom_sf(f_c, f_c + f_b, n_c / (n_c + n_b)) if f_c + f_b else 1.0
        stats["p_failures_vs_stable"] = _p_value(p)
        vs_stable = p < ALPHA and candidate.share - baseline.share > ceiling * 0.1
        if vs_stable:
            problems.append(_failed(candidate, timeout) + stable_counts)
    p_ceiling = binom_sf(f_c, n_c, ceiling) if n_c else 1.0
    stats["p_failures_above_ceiling"] = _p_value(p_ceiling)
    if not vs_stable and p_ceiling < ALPHA and candidate.share > ceiling:
        problems.append(f"{_failed(candidate, timeout)}, above the {percent(ceiling)} ceiling"
                        + (f",{stable_counts}" if stable_counts else ""))
    p99_c = candidate.p(99)
    if baseline is not None and candidate.answered and baseline.answered:
        problems += _latency_vs_stable(candidate, baseline, criteria, stats)
    elif baseline is None and candidate.answered:
        problems += _latency_vs_ceiling(candidate, criteria, stats)
    passed = not problems
    if passed:
        said = f"{number(n_c)} requests: {_failure_counts(candidate)}"
        if baseline is not None:
            stable = number(baseline.errors_5xx) if not baseline.no_answer else _failure_counts(baseline)
            said += f" ({_STABLE} {stable})"
            said += f", p99 {_ms(p99_c)} vs {_STABLE} {_ms(baseline.p(99))}"
        else:
            said += f", p99 {_ms(p99_c)}"
    else:
        said = "; ".join(problems)
    if n_c < requested:
        said += f" (only {number(n_c)} of {number(requested)} requests were sent within the time budget)"
    return passed, said, stats


def _latency_vs_stable(candidate: Side, baseline: Side, criteria: ValidationCriteria,
                       stats: dict[str, Any]) -> list[str]:
    bound = percentile(candidate.latencies_ms + baseline.latencies_ms, _SLOW_PERCENTILE)
    assert bound is not None
    s_c, s_b = candidate.slower_than(bound), baseline.slower_than(bound)
    a_c, a_b = candidate.answered, baseline.answered
    p = binom_sf(s_c, s_c + s_b, a_c / (a_c + a_b)) if s_c + s_b else 1.0
    p99_c, p99_b = candidate.p(99), baseline.p(99)
    assert p99_c is not None and p99_b is not None
    limit = criteria.max_p99_ratio_to_stable
    stats.update(slow_bound_ms=round(bound, 1), slow=s_c, slow_stable=s_b, p_slow_vs_stable=_p_value(p),
                 max_p99_ratio_to_stable=limit)
    if p < ALPHA and p99_c > limit * p99_b:
        ratio = p99_c / p99_b if p99_b > 0 else float("inf")
        return [f"p99 {_ms(p99_c)} against {_ms(p99_b)} on {_STABLE} ({ratio:.1f}×, above the {number(limit)}× "
                f"limit): {number(s_c)} of {number(a_c)} requests slower than {_ms(bound)} "
                f"(both sides' p{_SLOW_PERCENTILE}) against {number(s_b)} of {number(a_b)} on {_STABLE}"]
    return []


def _latency_vs_ceiling(candidate: Side, criteria: ValidationCriteria, stats: dict[str, Any]) -> list[str]:
    ceiling = criteria.max_p99_latency_ms
    over, answered = candidate.slower_than(ceiling), candidate.answered
    p = binom_sf(over, answered, _OVER_CEILING_SHARE)
    p99 = candidate.p(99)
    assert p99 is not None
    stats.update(over_latency_ceiling=over, p_over_latency_ceiling=_p_value(p), max_p99_latency_ms=ceiling)
    if p99 > ceiling and p < ALPHA:
        return [f"p99 {_ms(p99)} above the {_ms(ceiling)} ceiling: {number(over)} of {number(answered)} requests "
                f"({percent(over / answered)}) slower than {_ms(ceiling)}"]
    return []


def check_smoke(ctx: CheckContext) -> CheckResult:
    if not ctx.target.url:
        return CheckResult("smoke", "fail", f"revision {ctx.target.revision} has no URL of its own (no tag), "
                                            "so no requests can be sent to it")
    candidate = Side(ctx.target.url.rstrip("/") + "/")
    baseline = Side(ctx.baseline_url.rstrip("/") + "/") if ctx.baseline_url else None
    sides = [candidate] if baseline is None else [candidate, baseline]
    # A full collection now, so that none falls due during the burst: a pause of the whole process (130 ms
    # seen with a sandbox in it) would add to every request in flight and blur the latency comparison.
    gc.collect()
    stop_at = time.monotonic() + (BUDGET_TIMEOUTS - 1) * ctx.timeout
    interleaved_gets(ctx.http, sides, ctx.smoke_requests, timeout=ctx.timeout, workers=CONCURRENCY, name="smoke",
                     stop_at=stop_at)
    passed, said, stats = judge(candidate, baseline, ctx.criteria, ctx.timeout, ctx.smoke_requests)
    details = {"requests": ctx.smoke_requests, "concurrency": CONCURRENCY, "timeout_s": ctx.timeout,
               "candidate": candidate.to_dict(), _STABLE: baseline.to_dict() if baseline else None, **stats}
    return CheckResult("smoke", "pass" if passed else "fail", said, details)
