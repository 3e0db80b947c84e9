"""The report as plain text for a terminal or a log: aligned columns, no colour, no markup."""

from __future__ import annotations

from collections.abc import Sequence

from core.reports import fmt
from core.reports.model import DeploymentReport

DURATION_ROWS = 30  # the newest weeks' rows; JSON carries them all


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out


def render_text(report: DeploymentReport) -> str:
    lines = [f"Deployment report: {report.scope}, {fmt.period(report)}", ""]
    lines += ["DORA", *_table(("key", "value", "tier", "how"),
                              [(t, v, tier, d) for t, v, d, tier in fmt.dora_tiles(report)]), ""]
    lines += [f"Outcomes of {report.outcomes.total} deployments",
              *_table(("outcome", "count", "rate"), fmt.outcome_rows(report)), ""]
    if report.rollback_causes:
        lines += ["Rollback causes", *_table(("cause", "count", "share", "latest"),
                                             [(c.cause, str(c.count), fmt.percent(c.share), c.latest)
                                              for c in report.rollback_causes]), ""]
    if report.durations:
        shown = report.durations[-DURATION_ROWS:]
        lines += [f"Durations per ISO week (newest {len(shown)} of {len(report.durations)} rows)",
                  *_table(("week", "environment", "strategy", "n", "median", "p90"),
                          [(d.week, d.environment, d.strategy, str(d.deployments), fmt.duration(d.median_seconds),
                            fmt.duration(d.p90_seconds)) for d in shown]), ""]
    lines += [f"Timeline (newest {len(report.timeline)} of {report.timeline_total})"]
    lines += _table(("started (UTC)", "kind", "environment", "id", "what"),
                    [(f"{e.at:%Y-%m-%d %H:%M}", e.kind, e.environment, e.id, e.summary) for e in report.timeline])
    if report.warnings:
        lines += ["", "Notes", *(f"- {w}" for w in report.warnings)]
    return "\n".join(lines) + "\n"
