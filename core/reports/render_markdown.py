"""The report as GitHub-flavoured Markdown (for a pull request, a wiki page or an incident review)."""

from __future__ import annotations

from collections.abc import Sequence

from core.reports import fmt
from core.reports.model import DeploymentReport

TIMELINE_ROWS = 50


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return out + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def render_markdown(report: DeploymentReport) -> str:
    lines = [f"# Deployment report: {report.scope}", "", f"{fmt.period(report)}", "", "## DORA", ""]
    lines += _table(("Key", "Value", "Tier", "How"), [(t, v, tier, d) for t, v, d, tier in fmt.dora_tiles(report)])
    lines += ["", f"## Outcomes of {report.outcomes.total} deployments", ""]
    lines += _table(("Outcome", "Count", "Rate"), fmt.outcome_rows(report))
    if report.rollback_causes:
        lines += ["", "## Rollback causes", ""]
        lines += _table(("Cause", "Count", "Share", "Latest"), [(c.cause, str(c.count), fmt.percent(c.share),
                                                                 f"`{c.latest}`") for c in report.rollback_causes])
    if report.durations:
        lines += ["", "## Durations per ISO week", ""]
        lines += _table(("Week", "Environment", "Strategy", "Deployments", "Median", "p90"),
                        [(d.week, d.environment, d.strategy, str(d.deployments), fmt.duration(d.median_seconds),
                          fmt.duration(d.p90_seconds)) for d in report.durations])
    shown = report.timeline[:TIMELINE_ROWS]
    lines += ["", f"## Timeline (newest {len(shown)} of {report.timeline_total})", ""]
    lines += _table(("Started (UTC)", "Kind", "Environment", "Id", "What"),
                    [(f"{e.at:%Y-%m-%d %H:%M}", e.kind, e.environment, f"`{e.id}`", e.summary) for e in shown])
    if report.warnings:
        lines += ["", "## Notes", "", *(f"- {w}" for w in report.warnings)]
    return "\n".join(lines) + "\n"
