"""The infrastructure screen: the selected environment's Terraform plan for review (deletes and replaces in
bold red), the last known good apply, and apply of exactly the reviewed plan (production: name typed).
The known-good applies are listed below the plan; `r` restores the highlighted one (core.infra decides
which entry that is and verifies the restore, as `opsconsole rollback --component infrastructure --to ID`).

Planning and applying run in worker threads; the screen only shows what core.infra reports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from console.screens.confirm import ConfirmScreen
from core.engine import Engine
from core.errors import OpsError
from core.infra import InfraOutcome, InfrastructureService, TerraformHook, entry_id, known_good, make_runner
from core.providers.terraform import ReviewedPlan
from sandbox.terraform_command import standin_command

STYLES = {"create": "green", "update": "yellow", "delete": "bold red", "replace": "bold red"}


def service_of(engine: Engine) -> InfrastructureService:
    """The engine's Terraform service when the wiring gave it one, else one on the engine's registry."""
    hook = engine.ports.infrastructure
    if isinstance(hook, TerraformHook):
        return hook.service
    runner = make_runner(engine.ports.profile, os.environ, engine.registry.work_dir / "terraform",
                         standin=standin_command)
    return InfrastructureService(engine.config, engine.registry, runner, actor=engine.operator, now=engine.ports.now,
                                 gate=engine.gate)


def good_line(record: dict[str, Any] | None) -> str:
    if record is None:
        return "Last known good: none yet (nothing applied through the console)."
    commit = str(record.get("git_commit") or "no commit")[:12] + (" with local changes" if record.get("git_dirty")
                                                                    else "")
    return (f"Last known good: serial {record.get('state_serial')} · {commit} · by {record.get('actor')} "
            f"at {str(record.get('applied_at', ''))[:19]}")


class InfraScreen(Screen[None]):
    """Opened on one environment with (engine, environment), as the action registry opens screens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "plan", "Plan again", id="infra-plan"),
        Binding("a", "apply", "Apply plan", id="infra-apply"),
        Binding("r", "restore", "Restore known good", id="infra-restore"),
        Binding("escape", "close", "Back", id="infra-close"),
    ]

    @dataclass
    class Planned(Message):
        plan: ReviewedPlan

    @dataclass
    class Applied(Message):
        record: dict[str, Any]

    @dataclass
    class Restored(Message):
        outcome: InfraOutcome

    @dataclass
    class Failed(Message):
        problem: str

    def __init__(self, engine: Engine | None, environment: str, service: InfrastructureService | None = None) -> None:
        """`service` defaults to the engine's (the console opens it with the engine and the selected environment)."""
        super().__init__(id="infra")
        self.engine = engine
        self.environment = environment
        self._service = service
        self.plan: ReviewedPlan | None = None
        self.busy = False

    @property
    def service(self) -> InfrastructureService:
        if self._service is None:
            assert self.engine is not None, "InfraScreen needs an engine or a service"
            self._service = service_of(self.engine)
        return self._service

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Infrastructure · {self.environment}", id="infra-title", markup=False)
        yield Static("", id="infra-good", markup=False)
        yield Static("Planning…", id="infra-summary", markup=False)
        table: DataTable[Any] = DataTable(id="infra-changes", cursor_type="row", zebra_stripes=True)
        for column in ("action", "resource", "attributes changed"):
            table.add_column(column, key=column)
        yield table
        known: DataTable[Any] = DataTable(id="infra-known", cursor_type="row", zebra_stripes=True)
        for column in ("known-good id", "applied at", "by", "restored from"):
            known.add_column(column, key=column)
        yield known
        yield Static("", id="infra-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Infrastructure · {self.environment}"
        self.action_plan()

    # -- workers ---------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="infra-plan")
    def _plan(self) -> None:
        try:
            self.post_message(self.Planned(self.service.plan(self.environment)))
        except OpsError as problem:
            self.post_message(self.Failed(str(problem)))

    @work(thread=True, exclusive=True, group="infra-apply")
    def _apply(self, plan: ReviewedPlan) -> None:
        try:
            self.post_message(self.Applied(self.service.apply_plan(plan)))
        except OpsError as problem:
            self.post_message(self.Failed(str(problem)))

    @work(thread=True, exclusive=True, group="infra-apply")
    def _restore(self, ident: str) -> None:
        try:
            self.post_message(self.Restored(self.service.restore(self.environment, ident)))
        except OpsError as problem:
            self.post_message(self.Failed(str(problem)))

    # -- what the workers report ---------------------------------------------------------------------------

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        self.busy, self.plan = False, message.plan
        summary = message.plan.summary
        table = self.query_one("#infra-changes", DataTable)
        table.clear()
        for change in summary.changes:
            style = STYLES[change.action]
            label = f"{change.symbol} {change.action}" + (" (destructive)" if change.destructive else "")
            table.add_row(Text(label, style=style), Text(change.address, style=style if change.destructive else ""),
                          ", ".join(change.changed), key=change.address)
        headline = self.query_one("#infra-summary", Static)
        headline.update(Text(f"Plan: {summary.headline()}", style="bold red" if summary.destructive else ""))
        headline.set_class(summary.destructive, "destructive")
        self._status(f"plan {message.plan.sha256[:12]} · a applies exactly this plan · p plans again · esc back")
        self._show_good()

    @on(Applied)
    def _applied(self, message: Applied) -> None:
        self.busy, self.plan = False, None
        self._status(f"applied: state serial {message.record.get('state_serial')}; recorded as last known good · "
                     "p plans again")
        self._show_good()

    @on(Restored)
    def _restored(self, message: Restored) -> None:
        self.busy, self.plan = False, None
        self._status(message.outcome.sentence() + " · p plans again")
        self._show_good()

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.busy = False
        self._status(message.problem)
        tell = getattr(self.app, "tell", self.app.notify)  # the console's toast also stays in the log
        tell(message.problem, title="Infrastructure", severity="error")

    # -- actions ---------------------------------------------------------------------------------------------

    def action_plan(self) -> None:
        if self.busy:
            return
        self.busy, self.plan = True, None
        self._status(f"planning {self.environment}…")
        self._plan()

    def action_apply(self) -> None:
        if self.busy or self.plan is None:
            self._status("nothing to apply yet: wait for the plan (p plans again)")
            return
        if getattr(self.app, "read_only", False):
            self._status("read-only console: applying is refused")
            return
        plan = self.plan
        if self.environment != "production":
            self._start_apply(plan)
            return

        def confirmed(typed: str | None) -> None:
            if typed == self.environment and self.plan is plan:
                self._start_apply(plan)
            else:
                self._status("confirmation did not match 'production'; nothing was applied")

        self.app.push_screen(ConfirmScreen(self.environment, "Apply the Terraform plan"), confirmed)

    def _start_apply(self, plan: ReviewedPlan) -> None:
        self.busy = True
        self._status(f"applying plan {plan.sha256[:12]} to {self.environment}…")
        self._apply(plan)

    def action_restore(self) -> None:
        """Restore the highlighted known-good apply: the same core.infra.restore the rollback command runs."""
        if self.busy:
            return
        if getattr(self.app, "read_only", False):
            self._status("read-only console: restoring is refused")
            return
        table = self.query_one("#infra-known", DataTable)
        if not table.row_count:
            self._status("no known-good apply to restore yet")
            return
        ident = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

        def start() -> None:
            self.busy, self.plan = True, None
            self._status(f"restoring known-good apply {ident} to {self.environment}…")
            self._restore(ident)

        if self.environment != "production":
            start()
            return

        def confirmed(typed: str | None) -> None:
            if typed == self.environment:
                start()
            else:
                self._status("confirmation did not match 'production'; nothing was restored")

        self.app.push_screen(ConfirmScreen(self.environment, f"Restore known-good infrastructure {ident}"), confirmed)

    def action_close(self) -> None:
        self.dismiss(None)

    def _status(self, text: str) -> None:
        self.query_one("#infra-status", Static).update(text)

    def _show_good(self) -> None:
        try:
            record = self.service.status(self.environment)
        except OpsError:
            record = None  # the plan's own error is already on the status line
        self.query_one("#infra-good", Static).update(good_line(record))
        table = self.query_one("#infra-known", DataTable)
        table.clear()
        for entry in known_good(record):
            ident = entry_id(entry)
            table.add_row(ident, str(entry.get("applied_at", ""))[:19], str(entry.get("actor", "")),
                          str(entry.get("restored_from") or ""), key=ident)
