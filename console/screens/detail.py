"""One deployment in full: stages with status and timings, the judge's windows, the verification report, the log,
and its environment's recent changes of live health.

It reads the registry in a worker whenever the app refreshes and updates its tables in place (cursor
and scroll kept); the log only ever appends. Overrides are listed with who gave them and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, RichLog, Static

from console.screens.tables import Row, sync_rows
from console.snapshot import rollout_of
from core.engine import Rollout
from core.health.record import health_history
from core.model.health import Health
from core.model.log_text import stage_words, status_words
from core.registry import Deployment, Registry, StepEvent

STATUS_STYLES = {"succeeded": "green", "in_progress": "bold cyan", "failed": "bold red", "skipped": "dim",
                 "pending": "dim", "rolled_back": "bold red", "aborted": "bold red", "paused": "yellow",
                 "not run": "dim", "in progress": "bold cyan", "rolled back": "bold red"}
OUTCOME_STYLES = {"PASS": "green", "pass": "green", "FAIL": "bold red", "fail": "bold red", "NO_DATA": "yellow",
                  "no_data": "yellow", "error": "bold red"}
HEALTH_STYLES = {"ok": "green", "degraded": "bold yellow", "down": "bold red"}
HEALTH_SHOWN = 20
KIND_STYLES = {"intent": "cyan", "done": "green", "failed": "bold red", "request": "bold magenta", "note": "dim"}


def _clock(moment: datetime | None) -> str:
    return f"{moment:%H:%M:%S}" if moment else "-"


def _took(start: datetime | None, end: datetime | None, now: datetime) -> str:
    if start is None:
        return "-"
    seconds = int(((end or now) - start).total_seconds())
    text = f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
    return text if end else f"{text} …"


def _styled(text: str, styles: dict[str, str]) -> Text:
    return Text(text, style=styles.get(text, ""))


def stage_rows(deployment: Deployment, rollout: Rollout | None, now: datetime) -> list[Row]:
    planned = rollout.plan.stages if rollout else ()
    rows: list[Row] = []
    for index, record in enumerate(deployment.stages):
        stage = planned[index] if index < len(planned) else None
        weight = f"{stage.traffic_percent} %" if stage and stage.traffic_percent is not None else "-"
        current = rollout is not None and index == rollout.stage and not deployment.is_terminal
        rows.append((str(index), [f"{'▶' if current else ' '}{index + 1}", record.name,
                                  str(stage.kind) if stage else "-",
                                  _styled(stage_words(record.status, deployment.status), STATUS_STYLES),
                                  weight, _clock(record.started_at), _clock(record.ended_at),
                                  _took(record.started_at, record.ended_at, now)]))
    return rows


def verdict_rows(rollout: Rollout | None) -> list[Row]:
    verdicts = rollout.verdicts if rollout else []
    return [(str(i), [str(i + 1), str(v.get("at", ""))[11:19], f"{v.get('weight', '-')} %",
                      _styled(str(v.get("outcome", "")), OUTCOME_STYLES), str(v.get("action", "")),
                      str(v.get("explanation", "")) or str(v.get("decision", ""))])
            for i, v in enumerate(verdicts)]


def check_rows(rollout: Rollout | None) -> list[Row]:
    report = (rollout.verification if rollout else None) or {}
    return [(str(r.get("name")), [str(r.get("name")), _styled(str(r.get("outcome", "")), OUTCOME_STYLES),
                                  str(r.get("summary", ""))]) for r in report.get("results", [])]


def health_rows(changes: Sequence[Health]) -> list[Row]:
    """The environment's recorded changes of live health (core.health.record), newest first."""
    return [(h.observed_at.isoformat(), [f"{h.observed_at:%m-%d %H:%M:%S}", _styled(h.state, HEALTH_STYLES), h.reason])
            for h in changes]


def log_line(event: StepEvent) -> Text:
    """Every detail of the step (the detail screen is where an override's reason is read)."""
    line = Text()
    line.append(f"{event.at:%H:%M:%S} ", style="dim")
    line.append(f"{event.kind:8}", style=KIND_STYLES.get(event.kind, ""))
    line.append(event.action, style="bold")
    line.append(f" by {event.actor}", style="dim")
    shown = {k: v for k, v in event.detail.items() if k != "at" and v not in ("", None, [], {})}
    if shown:
        line.append("  " + " · ".join(f"{k} {_short(v)}" for k, v in shown.items()))
    return line


def _short(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 160 else text[:159] + "…"


def summary(deployment: Deployment, rollout: Rollout | None, now: datetime) -> Text:
    text = Text()
    text.append(f"{deployment.id}", style="bold")
    env_style = "bold magenta" if deployment.environment == "production" else "bold"
    text.append(" · ").append(deployment.environment.upper() if deployment.environment == "production"
                              else deployment.environment, style=env_style)
    text.append(" · ").append(status_words(deployment.status), style=STATUS_STYLES.get(str(deployment.status), "bold"))
    mode = f" · {rollout.mode}" if rollout else ""
    text.append(f" · {deployment.strategy}{mode} · by {deployment.actor}")
    text.append(f"\nstarted {_clock(deployment.started_at)} · ended {_clock(deployment.ended_at)} · took "
                f"{_took(deployment.started_at, deployment.ended_at, now)}")
    if rollout is not None and not deployment.is_terminal:
        text.append(f" · weight {rollout.weight} %")
    text.append("\n" + " · ".join(f"{c} {v}" for c, v in deployment.versions.items()), style="dim")
    if rollout is not None and rollout.waiting_for:
        text.append(f"\nwaiting: {rollout.waiting_for}", style="bold magenta")
    if deployment.rollback_cause:
        text.append(f"\nrollback cause: {deployment.rollback_cause}", style="bold red")
    for override in rollout.overrides if rollout else []:
        text.append(f"\noverride by {override.get('actor')} at {str(override.get('at', ''))[11:19]}: "
                    f"{override.get('reason')} (overrode {override.get('what')}: {override.get('overrode')})",
                    style="bold yellow")
    return text


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Back", id="detail-back")]

    @dataclass
    class Loaded(Message):
        deployment: Deployment | None
        events: list[StepEvent]
        now: datetime
        health: list[Health]

    def __init__(self, registry: Registry, deployment_id: str, now: Callable[[], datetime]) -> None:
        super().__init__(id="detail")
        self.registry = registry
        self.deployment_id = deployment_id
        self.now = now
        self.deployment: Deployment | None = None
        self.log_text: list[str] = []  # the log in plain text, for readers without a screen
        self._shown_seq = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail-body"):
            yield Static("loading…", id="detail-summary")
            yield self._table("detail-stages", "Stages", ("#", "stage", "kind", "status", "weight", "started",
                                                          "ended", "took"))
            yield self._table("detail-analysis", "Analysis windows", ("#", "at", "weight", "outcome", "decision",
                                                                       "explanation"))
            yield self._table("detail-verification", "Verification", ("check", "outcome", "summary"))
            yield self._table("detail-health", "Health", ("at", "state", "reason"))
            log = RichLog(id="detail-log", wrap=False, markup=False, max_lines=5000)
            log.border_title = "Log"
            yield log
        yield Footer()

    @staticmethod
    def _table(id: str, title: str, columns: Sequence[str]) -> DataTable[Any]:
        table: DataTable[Any] = DataTable(id=id, cursor_type="row", zebra_stripes=True)
        for column in columns:
            table.add_column(column, key=column)
        table.border_title = title
        return table

    def on_mount(self) -> None:
        self.sub_title = f"Deployment {self.deployment_id}"
        self.reload()

    def reload(self) -> None:
        """Read the deployment again (in a worker); the tables then change in place."""
        self._load()

    @work(thread=True, exclusive=True, group="detail-load")
    def _load(self) -> None:
        deployment = self.registry.get_deployment(self.deployment_id)
        health = health_history(self.registry, deployment.environment)[:HEALTH_SHOWN] if deployment else []
        self.post_message(self.Loaded(deployment, self.registry.events(self.deployment_id), self.now(), health))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        deployment = self.deployment = message.deployment
        if deployment is None:
            self.query_one("#detail-summary", Static).update(f"no deployment {self.deployment_id} in the registry")
            return
        rollout = rollout_of(deployment)
        self.query_one("#detail-summary", Static).update(summary(deployment, rollout, message.now))
        sync_rows(self.query_one("#detail-stages", DataTable), stage_rows(deployment, rollout, message.now))
        sync_rows(self.query_one("#detail-analysis", DataTable), verdict_rows(rollout))
        verification = self.query_one("#detail-verification", DataTable)
        report = rollout.verification if rollout else None
        verification.border_title = "Verification" + (
            f" · {report.get('target', {}).get('revision', '')} · {report.get('summary', '')}" if report else
            " · not run yet")
        sync_rows(verification, check_rows(rollout))
        health = self.query_one("#detail-health", DataTable)
        health.border_title = f"Health of {deployment.environment} · each change, newest first"
        sync_rows(health, health_rows(message.health))
        log = self.query_one("#detail-log", RichLog)
        for event in message.events:
            if event.seq > self._shown_seq:
                line = log_line(event)
                self.log_text.append(line.plain)
                log.write(line)
                self._shown_seq = event.seq

    def action_close(self) -> None:
        self.dismiss(None)
