"""The report as one self-contained HTML file: inline CSS and matplotlib charts as inline SVG, readable offline.

No script, font or stylesheet is fetched: matplotlib draws on its own Figure (no pyplot, so no GUI
backend and safe in a worker thread) and writes SVG whose text stays text, so a browser's find and a
test's DOM query see the labels.
"""

from __future__ import annotations

import html
import io
from collections import defaultdict
from typing import TYPE_CHECKING

from core.reports import fmt
from core.reports.model import DeploymentReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # matplotlib loads only when a report is rendered as HTML

TIMELINE_ROWS = 100
_TIER_COLOURS = {"elite": "#6b3fa0", "high": "#2e7d32", "medium": "#b58900", "low": "#c62828", "no data": "#666"}
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1d1d1f;max-width:1200px}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.period{color:#555} .tiles{display:flex;gap:1rem;flex-wrap:wrap}
.tile{flex:1 1 220px;border:1px solid #ddd;border-radius:8px;padding:.8rem 1rem;background:#fafafa}
.tile .title{font-size:.85rem;color:#555} .tile .value{font-size:1.8rem;font-weight:600;margin:.2rem 0}
.tile .tier{display:inline-block;color:#fff;border-radius:4px;padding:0 .5rem;font-size:.8rem}
.tile .detail{font-size:.8rem;color:#555;margin-top:.4rem}
table{border-collapse:collapse;font-size:.85rem}
td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:1rem} .chart svg{max-width:100%;height:auto}
.incident td{background:#fff4f4} .notes li{color:#555}
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def _svg(figure: Figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "opsconsole-report"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE: the SVG sits inside HTML


def _trend_chart(report: DeploymentReport) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 3.2))
    axes = figure.add_subplot()
    weeks = [w.week for w in report.weekly]
    succeeded = [w.succeeded for w in report.weekly]
    rolled = [w.rolled_back for w in report.weekly]
    failed = [w.failed for w in report.weekly]
    x = range(len(weeks))
    axes.bar(x, succeeded, color="#2e7d32", label="succeeded")
    axes.bar(x, rolled, bottom=succeeded, color="#ef6c00", label="rolled back")
    axes.bar(x, failed, bottom=[s + r for s, r in zip(succeeded, rolled, strict=True)], color="#c62828",
             label="failed")
    step = max(1, len(weeks) // 12)
    axes.set_xticks(list(x)[::step], weeks[::step], rotation=45, ha="right", fontsize=7)
    axes.set_ylabel("deployments per week")
    axes.set_title("Deployments per ISO week")
    axes.legend(fontsize=7)
    return _svg(figure)


def _duration_chart(report: DeploymentReport) -> str:
    from matplotlib.figure import Figure

    series: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for d in report.durations:
        series[f"{d.environment} {d.strategy}"].append((d.week, d.median_seconds / 60, d.p90_seconds / 60))
    weeks = sorted({d.week for d in report.durations})
    position = {w: i for i, w in enumerate(weeks)}
    figure = Figure(figsize=(7.5, 3.2))
    axes = figure.add_subplot()
    for name, points in sorted(series.items()):
        xs = [position[w] for w, _, _ in points]
        line = axes.plot(xs, [m for _, m, _ in points], label=f"{name} median")[0]
        axes.plot(xs, [p for _, _, p in points], linestyle="--", color=line.get_color(), alpha=0.6,
                  label=f"{name} p90")
    step = max(1, len(weeks) // 12)
    axes.set_xticks(list(range(len(weeks)))[::step], weeks[::step], rotation=45, ha="right", fontsize=7)
    axes.set_ylabel("minutes")
    axes.set_title("Deployment duration per ISO week (median, p90 dashed)")
    axes.legend(fontsize=6, ncol=2)
    return _svg(figure)


def _causes_chart(report: DeploymentReport) -> str:
    from matplotlib.figure import Figure

    causes = report.rollback_causes[:10][::-1]
    figure = Figure(figsize=(7.5, 0.4 * len(causes) + 1.0))
    axes = figure.add_subplot()
    axes.barh([c.cause for c in causes], [c.count for c in causes], color="#ef6c00")
    axes.set_xlabel("rollbacks")
    axes.set_title("Rollback causes")
    axes.tick_params(axis="y", labelsize=8)
    return _svg(figure)


def _table(headers: list[str], rows: list[list[str]], row_class: list[str] | None = None) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{(row_class or [""] * len(rows))[i]}">' + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>"
        for i, row in enumerate(rows))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: DeploymentReport) -> str:
    tiles = "".join(
        f'<div class="tile" data-key="{_esc(title)}"><div class="title">{_esc(title)}</div>'
        f'<div class="value">{_esc(value)}</div><span class="tier" style="background:{_TIER_COLOURS[tier]}">'
        f'{_esc(tier)}</span><div class="detail">{_esc(detail)}</div></div>'
        for title, value, detail, tier in fmt.dora_tiles(report))
    charts = []
    if report.weekly:
        charts.append(_trend_chart(report))
    if report.durations:
        charts.append(_duration_chart(report))
    if report.rollback_causes:
        charts.append(_causes_chart(report))
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Deployment report: {_esc(report.scope)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Deployment report: {_esc(report.scope)}</h1><p class=\"period\">{_esc(fmt.period(report))}; "
        f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC</p>",
        f'<h2>DORA</h2><div class="tiles" id="dora">{tiles}</div>',
        f"<h2>Outcomes of {report.outcomes.total} deployments</h2>",
        _table(["Outcome", "Count", "Rate"], [list(r) for r in fmt.outcome_rows(report)]),
    ]
    if charts:
        parts.append('<h2>Trends</h2><div class="charts">'
                     + "".join(f'<div class="chart">{svg}</div>' for svg in charts) + "</div>")
    else:
        parts.append("<h2>Trends</h2><p>No deployments in this range.</p>")
    if report.rollback_causes:
        parts += ["<h2>Rollback causes</h2>", _table(
            ["Cause", "Count", "Share", "Latest"],
            [[c.cause, str(c.count), fmt.percent(c.share), c.latest] for c in report.rollback_causes])]
    shown = report.timeline[:TIMELINE_ROWS]
    parts += [f"<h2>Timeline (newest {len(shown)} of {report.timeline_total})</h2>", _table(
        ["Started (UTC)", "Ended (UTC)", "Kind", "Environment", "Id", "What"],
        [[f"{e.at:%Y-%m-%d %H:%M}", f"{e.ended_at:%Y-%m-%d %H:%M}" if e.ended_at else "—", e.kind, e.environment,
          e.id, e.summary] for e in shown], [e.kind for e in shown])]
    if report.warnings:
        parts.append('<h2>Notes</h2><ul class="notes">' + "".join(f"<li>{_esc(w)}</li>" for w in report.warnings)
                     + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
