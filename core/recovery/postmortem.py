"""Postmortem export: an incident record as Markdown (summary, impact, evidence, timeline, root cause, actions)."""

from __future__ import annotations

from typing import Any


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "not restored"
    s = int(float(seconds))
    return f"{s // 3600} h {s % 3600 // 60} min {s % 60} s" if s >= 3600 else f"{s // 60} min {s % 60} s"


def postmortem_markdown(record: dict[str, Any]) -> str:
    """The postmortem of one incident record (as stored in the registry's "incidents" table)."""
    c = record.get("classification") or {}
    scope = c.get("scope") or {}
    plan = record.get("plan") or {}
    validation = record.get("validation") or {}
    lines = [
        f"# Postmortem: {record['id']}",
        "",
        f"- **Environment:** {record.get('environment')}",
        f"- **Severity:** {record.get('severity')}",
        f"- **Status:** {record.get('status')}",
        f"- **Started:** {record.get('started_at')}",
        f"- **Resolved:** {record.get('resolved_at') or 'not yet'}",
        f"- **Time to restore:** {_duration(record.get('time_to_restore_s'))}",
        f"- **Failure type:** {c.get('failure_type', record.get('failure_type', '?'))}",
        f"- **Scope:** components {', '.join(scope.get('components', [])) or '-'}; "
        f"regions {', '.join(scope.get('regions', [])) or '-'}",
        f"- **Suspect deployment:** {record.get('suspect_deployment_id') or 'none in the hour before'}",
        f"- **Recovered by:** {record.get('operator', '?')}",
        "",
        "## Summary",
        "",
        str(c.get("summary") or record.get("summary") or "-"),
        "",
        "## Root cause",
        "",
        str(record.get("root_cause") or "_Not entered yet: `opsconsole incident root-cause ID TEXT`._"),
        "",
        "## Evidence",
        "",
    ]
    lines += [f"- **{_cell(f.get('signal'))}:** {_cell(f.get('detail'))}" for f in c.get("evidence", [])] or ["- none"]
    lines += ["", f"## Plan: {plan.get('title', plan.get('runbook', '-'))}", "",
              "| # | step | kind | outcome |", "|---|---|---|---|"]
    outcomes: dict[str, str] = {}
    for entry in record.get("timeline", []):
        if entry.get("step") and entry.get("kind") in ("done", "failed", "skipped", "declined", "dry-run"):
            outcomes[entry["step"]] = entry["kind"]
    for i, step in enumerate(plan.get("steps", []), 1):
        outcome = outcomes.get(step["id"], "not run")
        lines.append(f"| {i} | {_cell(step.get('title'))} | {step.get('kind')} | {outcome} |")
    lines += ["", "## Timeline", "", "| time (UTC) | actor | event | step | detail |", "|---|---|---|---|---|"]
    for entry in record.get("timeline", []):
        detail = entry.get("summary", "")
        if entry.get("error"):
            detail = f"{detail}: {entry['error']}"
        lines.append(f"| {_cell(entry.get('at'))} | {_cell(entry.get('actor'))} | {_cell(entry.get('kind'))} | "
                     f"{_cell(entry.get('step') or '')} | {_cell(detail)} |")
    lines += ["", "## Validation", ""]
    items = validation.get("items") or []
    lines += [f"- {'✓' if i.get('passed') else '✗'} {_cell(i.get('name'))}: {_cell(i.get('detail'))}" for i in items] \
        or ["- not validated yet"]
    lines += ["", "## Follow-up actions", ""]
    lines += [f"- [ ] {_cell(r)}" for r in validation.get("recommendations", [])] or ["- none recorded"]
    return "\n".join(lines) + "\n"
