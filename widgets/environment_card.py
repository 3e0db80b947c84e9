"""One environment at a glance: live versions with the traffic split, live health, infrastructure, the deployments.

The card turns red while anything is wrong (a provider unreachable, a serving revision not ready, a
failed check of the running deployment, live health past a rollback trigger's limit) and says what in one
line each; an open incident shows on its bottom border. Production carries its own
accent colour and label so nobody mistakes it for staging.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from core.model.deployment import DeploymentStatus
from core.model.health import alarming
from core.model.log_text import status_words
from core.model.service import ServiceSettings, recorded_settings, settings_changes
from widgets.traffic_bar import Segment, TrafficBar
from widgets.views import EnvironmentView, age, short_id, version_of

BAD_ENDINGS = (DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK, DeploymentStatus.ABORTED)


def problems(view: EnvironmentView) -> list[str]:
    """Everything that makes the card red, one sentence each."""
    found = []
    if view.live.websocket_error:
        found.append(f"Cloud Run: {view.live.websocket_error}")
    if view.live.frontend_error:
        found.append(f"Vercel: {view.live.frontend_error}")
    if view.error:
        found.append(f"registry: {view.error}")
    found += [f"revision {r.name} serves {r.percent} % but is not ready"
              for r in view.live.revisions if r.percent and not r.ready]
    rollout = view.rollout if view.active is not None else None
    if rollout is not None:
        if rollout.verification_blocks:
            found.append(f"verification failed: {(rollout.verification or {}).get('summary', '')}")
        if rollout.verdicts and rollout.verdicts[-1].get("outcome") == "fail":
            found.append(f"judge: {rollout.verdicts[-1].get('explanation', '')}")
    return found


HEALTH_MARK = {"ok": "✓", "degraded": "▲", "down": "✗"}


def health_line(view: EnvironmentView) -> Text:
    """`✗ DOWN: every probe fails (...)`, red when a rollback trigger would fire (core.model.health.alarming),
    amber when degraded for another reason, green when ok; dim before the first observation."""
    health = view.health_now
    if health is None:
        return Text("health: not observed yet", style="dim")
    style = "bold red" if alarming(health) else "yellow" if health.state == "degraded" else "green"
    label = health.state if health.state == "ok" else health.state.upper()
    line = Text(f"{HEALTH_MARK[health.state]} {label}: {health.headline}", style=style)
    for fired in health.firing if health.crossed != "alert_policies" else health.firing[1:]:
        line.append(f"\n⚑ alert policy {fired}", style="bold yellow")
    return line


def incident_badge(record: Mapping[str, Any] | None) -> str:
    """`⚑ SEV2 INC-production-… open` for the card's bottom border, "" when no incident is open."""
    if not record:
        return ""
    return f"⚑ {record.get('severity', '')} incident {record.get('id', '')} open".replace("  ", " ")


def infra_drift(record: Mapping[str, Any] | None, live: ServiceSettings | None) -> str:
    """"max_instances 10 live, 20 configured" (and how many more) when the Cloud Run service the card just read
    differs from what the last good apply configured; "" when it matches or either is unknown. Computed from
    what the refresh already fetched: no call of its own."""
    configured = recorded_settings(record)
    if live is None or configured is None:
        return ""
    changes = settings_changes(configured, live)
    if not changes:
        return ""
    return changes[0].describe_drift() + (f" (+{len(changes) - 1} more)" if len(changes) > 1 else "")


def infrastructure_line(record: Mapping[str, Any] | None, now: datetime,
                        live: ServiceSettings | None = None) -> Text:
    """The last Terraform apply this console recorded: commit, state serial, when and by whom; when the live
    service drifted from it, that first (`infra drifted: ...`)."""
    if not record:
        return Text("not applied from this console", style="dim")
    line = Text()
    drift = infra_drift(record, live)
    if drift:
        line.append(f"infra drifted: {drift}", style="bold red")
        line.append(" · ")
    commit, snapshot = record.get("git_commit"), record.get("snapshot")
    if commit:
        line.append(str(commit)[:7] + ("+dirty" if record.get("git_dirty") else ""), style="bold")
    else:  # applied outside a git checkout: the configuration snapshot names it
        line.append(f"snapshot {str(snapshot)[:10]}" if snapshot else "unknown commit", style="bold")
    if record.get("state_serial") is not None:
        line.append(f" serial {record['state_serial']}")
    applied = record.get("applied_at")
    try:
        when = datetime.fromisoformat(str(applied)) if applied else None
    except ValueError:
        when = None
    if when is not None and when.tzinfo is not None:
        line.append(f" {age(when, now)}")
    elif applied:
        line.append(f" {applied}")
    if record.get("actor"):
        line.append(f" by {record['actor']}")
    return line


def _update(static: Static, text: Text) -> None:
    """Repaint only what changed: most refreshes bring the same text, and an idle console should stay idle."""
    if static.content != text:
        static.update(text)


class EnvironmentCard(Vertical, can_focus=True):
    """Click it (or focus it with tab) to select the environment: posts `EnvironmentCard.Selected`."""

    DEFAULT_CSS = """
    EnvironmentCard {
        border: round $foreground 30%;
        border-title-style: bold;
        padding: 0 1;
        height: 100%;
    }
    EnvironmentCard > Static { width: 100%; text-wrap: nowrap; text-overflow: ellipsis; }
    EnvironmentCard > .card-problems { text-wrap: wrap; }
    EnvironmentCard.selected { border: round $accent; }
    EnvironmentCard.production { border: heavy #c678dd; border-title-color: #c678dd; }
    EnvironmentCard.production.selected { border: double #c678dd; }
    EnvironmentCard.failing, EnvironmentCard.production.failing, EnvironmentCard.selected.failing {
        border: heavy $error;
        border-title-color: $error;
        background: $error 12%;
    }
    EnvironmentCard { border-subtitle-color: $error; border-subtitle-style: bold; }
    EnvironmentCard.-more { border-subtitle-color: $foreground 60%; border-subtitle-style: none; }
    """

    @dataclass
    class Selected(Message):
        environment: str

    def __init__(self, environment: str, *, strategy: str, production: bool = False) -> None:
        super().__init__(id=f"card-{environment}", classes="production" if production else None)
        self.environment = environment
        self.production = production
        self.wording: Callable[[str], str] = str  # the console's words for the engine's (its CLI hints as keys)
        self._badge = ""  # the open incident's, for the bottom border
        label = "▲ PRODUCTION" if production else environment
        self.border_title = f"{label} · {strategy}"

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first refresh…", classes="card-version", markup=False)
        yield TrafficBar(classes="card-split")
        # Problems right under the split: on a short card (80x24) the body's last lines are cut, never the reason.
        yield Static("", classes="card-problems", markup=False)
        yield Static("", classes="card-body", markup=False)

    @property
    def text(self) -> str:
        """Everything the card says, as plain text (what an operator reads on it)."""
        parts = [self.border_title or ""]
        for static in self.query(Static):
            parts.append(str(static.content))
        parts.append(self.query_one(TrafficBar).legend)
        return "\n".join(parts)

    @property
    def failing(self) -> bool:
        return self.has_class("failing")

    def show(self, view: EnvironmentView) -> None:
        """Update in place from one refresh (no child is replaced, so focus and layout stay)."""
        live = view.live
        _update(self.query_one(".card-version", Static), Text.assemble(
            ("websocket-server ", "dim"), (live.serving_version, "bold"), no_wrap=True, overflow="ellipsis"))
        bar = self.query_one(TrafficBar)
        if live.websocket_error:
            bar.show([], note="Cloud Run unreachable")
        else:
            bar.show([Segment(version_of(r.image), r.percent, r.ready) for r in live.revisions],
                     note="no revision serves traffic")
        _update(self.query_one(".card-body", Static), self._body(view))
        found = problems(view)
        status = health_line(view)
        if found:
            status = Text("\n").join([Text("\n".join(f"✗ {p}" for p in found), style="bold red"), status])
        _update(self.query_one(".card-problems", Static), status)
        self._badge = incident_badge(view.incident)
        self.call_after_refresh(self._subtitle)
        health = view.health_now
        self.set_class(bool(found) or (health is not None and alarming(health)), "failing")

    @staticmethod
    def _frontend(view: EnvironmentView) -> str:
        frontend = view.live.frontend
        if view.live.frontend_error:
            return "unreachable"
        if frontend is None:
            return "none"
        name = frontend.git_ref or frontend.deployment_id
        return f"{name} {frontend.state.lower()} {age(frontend.created_at, view.now)}"

    def _body(self, view: EnvironmentView) -> Text:
        """The deployment in progress first (a short card at 80x24 shows its first lines), then how the last one
        ended, then the frontend and the infrastructure."""
        body = Text(no_wrap=True, overflow="ellipsis")
        active, rollout = view.active, view.rollout
        body.append("active ", style="dim")
        if active is not None:
            stage = rollout.current.name if rollout is not None and rollout.current else str(active.status)
            body.append(f"{short_id(active.id)} {stage}", style="bold")
            if rollout is not None:
                body.append(f"\n  weight {rollout.weight} %", style="bold")
                if rollout.paused:
                    body.append(" · PAUSED", style="bold yellow")
                body.append(f"\n  {self.wording(rollout.waiting_for) or 'moving on'}", style="italic")
        else:
            body.append("none")
        last = view.state.last
        body.append("\nlast   ", style="dim")
        if last is None:
            body.append("none")
        else:
            style = "bold red" if last.status in BAD_ENDINGS else "green"
            body.append(f"{short_id(last.id)} {status_words(last.status)}", style=style)
            body.append(f" {age(last.ended_at or last.started_at, view.now)}")
            if last.rollback_cause:
                body.append(f"\n  {last.rollback_cause}", style="red" if last.status in BAD_ENDINGS else "")
        body.append("\nfrontend ", style="dim")
        body.append(EnvironmentCard._frontend(view), style="bold" if view.live.frontend else "")
        body.append("\ninfra ", style="dim")
        body.append_text(infrastructure_line(view.infrastructure, view.now, view.live.settings))
        return body

    def _subtitle(self) -> None:
        """The open incident on the bottom border; else, when the card is too short for all its lines (80x24),
        that there is more and where to read it: a card never loses lines without saying so."""
        body = self.query_one(".card-body", Static)
        hidden = body.region.height > 0 and body.region.bottom > self.content_region.bottom
        subtitle = self._badge or ("more: i" if hidden else "")
        self.set_class(not self._badge and hidden, "-more")
        if self.border_subtitle != subtitle:  # setting it repaints the card even when it is the same
            self.border_subtitle = subtitle

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._subtitle)

    def on_click(self, event: events.Click) -> None:
        self.focus()

    def on_focus(self, event: events.Focus) -> None:
        self.post_message(self.Selected(self.environment))
