"""One entry point for rendering a report in any of the formats the CLI offers."""

from __future__ import annotations

from core.errors import BadInput
from core.reports.model import DeploymentReport

FORMATS = ("text", "json", "markdown", "html")


def render(report: DeploymentReport, form: str) -> str:
    """The report in `form` (text, json, markdown or html)."""
    if form == "text":
        from core.reports.render_text import render_text
        return render_text(report)
    if form == "json":
        return report.model_dump_json(indent=2) + "\n"
    if form == "markdown":
        from core.reports.render_markdown import render_markdown
        return render_markdown(report)
    if form == "html":
        from core.reports.render_html import render_html  # matplotlib loads only for HTML
        return render_html(report)
    raise BadInput(f"report format {form!r} is not one of {', '.join(FORMATS)}")
