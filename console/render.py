"""Plain-text rendering of core models for the headless CLI (tables via rich, no colour when piped)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the models are only read here: a command that prints JSON need not load the engine
    from core.engine import EngineEvent
    from core.live import LiveEnvironment
    from core.model.health import Health
    from core.outcome import Outcome
    from core.registry import Deployment, EnvironmentState, StepEvent


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def echo_json_line(data: Any) -> None:
    click.echo(json.dumps(data, sort_keys=True, default=str))


def result(outcome: Outcome, reason: str, **fields: Any) -> dict[str, Any]:
    """The object a `--json` command ends with, whatever happened (done, failed, bad input, waiting, refused):
    `outcome` and `exit_code` from core.outcome, `reason` in one sentence, and what the command adds."""
    return {"event": "Result", "outcome": outcome.label, "exit_code": int(outcome), "reason": reason, **fields}


def status_object(state: EnvironmentState, health: Health, live: LiveEnvironment,
                  strategy: str | None) -> dict[str, Any]:
    """One environment as `status ENV --json` prints it: what is live, its health, and the active and last deployment
    as their public view (core.model.deployment_view), never the registry's internal rollout status."""
    from core.model.deployment_view import deployment_view

    return {"name": state.name, "strategy": strategy, "health": health.to_dict(), "live": dataclasses.asdict(live),
            "current_versions": state.current_versions, "statistics": state.statistics,
            "active": deployment_view(state.active[0]).to_dict() if state.active else None,
            "last": deployment_view(state.last).to_dict() if state.last else None}


def event_line(event: EngineEvent) -> str:
    """One line per engine event, as an operator follows a deployment in a terminal."""
    return f"{event.at:%H:%M:%S} {event.environment:10} {event.kind:18} {event.describe()}"


def print_table(table: Table) -> None:
    # soft_wrap off and a wide default so piped output keeps one row per line.
    Console(width=200 if not click.get_text_stream("stdout").isatty() else None).print(table)


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """'3 min ago', '2 h ago', '4 d ago': the cards' wording, on the wall clock unless `now` is given."""
    from widgets import views

    return views.age(moment, now or datetime.now(UTC))


def duration(deployment: Deployment) -> str:
    if deployment.ended_at is None:
        return "running"
    seconds = int((deployment.ended_at - deployment.started_at).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s"


def versions(deployment: Deployment) -> str:
    return ", ".join(f"{component}={version}" for component, version in sorted(deployment.versions.items()))


def environment_table(
    states: Iterable[EnvironmentState],
    live: dict[str, LiveEnvironment],
    strategies: dict[str, str],
    now: datetime | None = None,
) -> Table:
    """`now` is the cloud's clock (the sandbox's may run fast or stand still), so ages read true."""
    table = Table(title="Environments", title_justify="left")
    for column in (
        "environment",
        "strategy",
        "websocket-server (Cloud Run split)",
        "frontend (Vercel production)",
        "recorded versions",
        "active deployment",
        "last deployment",
    ):
        table.add_column(column)
    for state in states:
        current = live.get(state.name)
        active = ", ".join(f"{d.id} ({d.status})" for d in state.active) or "-"
        last = "-"
        if state.last:
            last = f"{state.last.id} {state.last.status} {age(state.last.ended_at or state.last.started_at, now)}"
        recorded = "\n".join(f"{c}={v}" for c, v in sorted(state.current_versions.items())) or "-"
        table.add_row(
            state.name,
            strategies.get(state.name, "-"),
            split_text(current),
            frontend_text(current, now),
            recorded,
            active,
            last,
        )
    return table


def split_text(now: LiveEnvironment | None) -> str:
    if now is None:
        return "-"
    if now.websocket_error:
        return f"unreachable: {now.websocket_error}"
    parts = []
    for r in now.revisions:
        version = r.image.rsplit(":", 1)[-1]
        state = "" if r.ready else " (not ready)"
        parts.append(f"{r.name} {version} {r.percent}%{state}")
    return "\n".join(parts) or "no revisions"


def frontend_text(current: LiveEnvironment | None, now: datetime | None = None) -> str:
    if current is None:
        return "-"
    if current.frontend_error:
        return f"unreachable: {current.frontend_error}"
    if current.frontend is None:
        return "no production deployment"
    f = current.frontend
    return f"{f.deployment_id} {f.git_ref or ''} {f.state} {age(f.created_at, now)}".replace("  ", " ")


def history_table(deployments: Iterable[Deployment]) -> Table:
    table = Table(title="Deployments", title_justify="left")
    for column in ("id", "environment", "status", "versions", "strategy", "actor", "started", "duration", "cause"):
        table.add_column(column)
    for d in deployments:
        table.add_row(
            d.id,
            d.environment,
            str(d.status),
            versions(d),
            d.strategy,
            d.actor,
            d.started_at.strftime("%Y-%m-%d %H:%M"),
            duration(d),
            d.rollback_cause or "",
        )
    return table


def deployment_detail(d: Deployment, events: list[StepEvent]) -> list[Table | str]:
    header = (
        f"Deployment {d.id}\n  environment {d.environment}   status {d.status}   strategy {d.strategy}\n"
        f"  versions    {versions(d)}\n  actor       {d.actor}\n"
        f"  started     {d.started_at.isoformat()}   ended {d.ended_at.isoformat() if d.ended_at else '-'}"
        f"   duration {duration(d)}"
    )
    if d.rollback_cause:
        header += f"\n  rollback cause: {d.rollback_cause}"
    stages = Table(title="Stages", title_justify="left")
    for column in ("stage", "status", "started", "ended"):
        stages.add_column(column)
    for s in d.stages:
        stages.add_row(s.name, str(s.status), _time(s.started_at), _time(s.ended_at))
    log = Table(title="Events", title_justify="left")
    for column in ("#", "at", "kind", "action", "actor", "detail"):
        log.add_column(column)
    for e in events:
        log.add_row(
            str(e.seq), _time(e.at), e.kind, e.action, e.actor, json.dumps(e.detail, default=str) if e.detail else ""
        )
    return [header, stages, log]


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"
