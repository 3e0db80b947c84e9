"""The recovery screen: evidence and classification, the plan as a checklist, the current step with its
confirm keys, live health beside it, and the incident's timeline.

It only shows and asks: every step runs through core.recovery (the same functions as `opsconsole
recover`), in a worker thread. A question from the core (confirm a step, approve, re-run a half-run
step) is shown in the current-step panel and answered with y or n.

On mount it assesses (evidence, classification, plan) and writes nothing: `o` asks to open the incident,
naming what will be paged and posted (on a healthy environment it advises against it). An environment with an
open incident resumes it. `s` resolves and `a` aborts the incident, each after a reason that says what will
be sent. A dry run or a read-only console opens its incident in memory at once: core records and sends nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from console.screens.ask import AskScreen
from core.engine import Engine
from core.errors import OpsError
from core.recovery import (
    Assessment,
    IncidentStore,
    RecoveryContext,
    RecoveryPorts,
    advance,
    assess,
    end_incident,
    finish_recovery,
    next_step,
    open_incident,
    plan_of,
    resume_incident,
)
from core.recovery.closing import Ending
from core.recovery.notify import ending
from core.recovery.probes import probe

_MARKS = {"done": "✓ done", "failed": "✗ failed", "skipped": "– skipped", "dry-run": "· would run",
          "declined": "✗ declined", "intent": "… running"}


class RecoveryScreen(Screen[None]):
    """Guided recovery of one environment; opens (or resumes) its incident on mount."""

    CSS_PATH = "recovery.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run_step", "Run next step", id="recovery-run"),
        Binding("y", "answer(True)", "Yes", id="recovery-yes"),
        Binding("n", "answer(False)", "No", id="recovery-no"),
        Binding("v", "validate", "Validate", id="recovery-validate"),
        Binding("o", "open_incident", "Open incident", id="recovery-open"),
        Binding("s", "end('resolved')", "Resolve", id="recovery-resolve"),
        Binding("a", "end('aborted')", "Abort", id="recovery-abort"),
        Binding("escape", "leave", "Back", id="recovery-back"),
    ]

    def __init__(self, engine: Engine, environment: str, ports: RecoveryPorts, store: IncidentStore, *,
                 sleep: Callable[[float], None], dry_run: bool = False, live_every_s: float | None = 5.0) -> None:
        super().__init__(id="recovery")
        self.context = RecoveryContext(engine=engine, environment=environment, ports=ports, sleep=sleep,
                                       confirm=self._confirm, dry_run=dry_run, on_entry=self._entry_from_worker)
        self.store = store
        self.live_every_s = live_every_s
        self.question: str | None = None
        self.busy = False
        self.last_error = ""
        self.verdict = ""  # the last validation's outcome and recommendations
        self.assessment: Assessment | None = None  # what was found before anything is opened
        self._shown_seq = 0
        self._answered = threading.Event()
        self._answer = False

    def compose(self) -> ComposeResult:
        yield Static(f"Recovery · {self.context.environment}: gathering evidence…", id="recovery-title", markup=False)
        with Horizontal(id="recovery-body"):
            with Vertical(id="recovery-left"):
                yield Static("", id="recovery-evidence", markup=False)
                yield DataTable(id="recovery-plan", cursor_type="row", zebra_stripes=True)
            with Vertical(id="recovery-right"):
                yield Static("", id="recovery-current", markup=False)
                yield Static("live health: not measured yet", id="recovery-health", markup=False)
                yield DataTable(id="recovery-timeline", cursor_type="none")
        yield Footer()

    def on_mount(self) -> None:
        plan = self.query_one("#recovery-plan", DataTable)
        plan.add_column("#", key="n")
        plan.add_column("status", key="status", width=12)
        plan.add_column("step", key="step")
        plan.add_column("kind", key="kind")
        plan.add_column("after", key="after")
        timeline = self.query_one("#recovery-timeline", DataTable)
        for key in ("time", "event", "step", "summary"):
            timeline.add_column(key, key=key)
        self.assess_or_resume()
        if self.live_every_s:
            self.set_interval(self.live_every_s, self.measure_health)

    # -- workers: the core runs here, never on the UI thread ----------------------------------------

    @work(thread=True, exclusive=True, group="recovery")
    def assess_or_resume(self) -> None:
        """Resume the environment's open incident, else assess; only a looking-only recovery opens at once."""
        self.busy = True
        try:
            context = self.context
            open_one = None if context.looking_only else self.store.open_for(context.environment)
            if open_one is not None:
                resume_incident(context, self.store, open_one.id)
                self.app.call_from_thread(self._show_incident)
            else:
                self.assessment = assess(context)
                if context.looking_only:
                    open_incident(context, self.store, self.assessment)
                    self.app.call_from_thread(self._show_incident)
                else:
                    self.app.call_from_thread(self._show_assessment)
        except OpsError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
        finally:
            self.busy = False
        self.app.call_from_thread(self.measure_health)

    @work(thread=True, exclusive=True, group="recovery")
    def _open_confirmed(self) -> None:
        """Ask (naming what will be sent), then open the assessed incident and page or post."""
        assessment = self.assessment
        assert assessment is not None
        self.busy = True
        try:
            if self._confirm(assessment.question()):
                open_incident(self.context, self.store, assessment)
                self.app.call_from_thread(self._show_incident)
            else:
                self.app.call_from_thread(self._show_assessment, "not opened: nothing was recorded or sent")
        except OpsError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
        finally:
            self.busy = False

    def action_open_incident(self) -> None:
        if not self.busy and self.context.incident is None and self.assessment is not None and self.question is None:
            self._open_confirmed()

    def action_end(self, how: Ending) -> None:
        """Resolve or abort the open incident after the operator gives the reason (esc: nothing happens)."""
        incident = self.context.incident
        if self.busy or self.question is not None or incident is None or incident.record.get("status") != "open":
            return
        if incident.record.get("dry_run"):
            self._show_error("this dry run recorded nothing and paged nobody: there is no incident to end")
            return
        verb = "Resolve" if how == "resolved" else "Abort"
        said = "; ".join(ending(self.context.engine, incident, how, "(your reason)").describe())

        def ended(reason: str | None) -> None:
            if reason:
                self._end(how, reason)
        self.app.push_screen(AskScreen(f"{verb} incident {incident.id}", "incident", f"sends — {said}"), ended)

    @work(thread=True, exclusive=True, group="recovery")
    def _end(self, how: Ending, reason: str) -> None:
        incident = self.context.incident
        assert incident is not None
        try:
            ended = end_incident(self.context.engine, self.store, incident.id, how, reason)
        except OpsError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.context.incident = ended
        for entry in ended.timeline:
            self.app.call_from_thread(self._add_entry, entry)
        self.app.call_from_thread(self._show_ended, how)

    @work(thread=True, exclusive=True, group="recovery")
    def run_step(self) -> None:
        self.busy = True
        try:
            result = advance(self.context)
            if (result is None or next_step(self.context) is None) and not self.context.looking_only:
                report = finish_recovery(self.context)
                self.app.call_from_thread(self._show_report, report.passed, list(report.recommendations))
        except OpsError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
        finally:
            self.busy = False
            self.app.call_from_thread(self._show_current)
        self.app.call_from_thread(self.measure_health)

    @work(thread=True, exclusive=True, group="live-health")
    def measure_health(self) -> None:
        try:
            url = self.context.primary().get_service(self.context.service).uri
        except OpsError as exc:
            self.app.call_from_thread(self._show_health, f"live health: Cloud Run unreadable ({exc})")
            return
        answers = probe(self.context.ports.http, url, "/healthz", 3) + probe(self.context.ports.http, url,
                                                                               "/readyz", 3)
        ok = sum(a.ok for a in answers)
        bad = next((a.reason for a in answers if not a.ok), "")
        self.app.call_from_thread(self._show_health, f"live health: {ok}/{len(answers)} probes ok"
                                  + (f" — {bad}" if bad else ""))

    # -- answering the core's questions ----------------------------------------------------------------

    def _confirm(self, question: str) -> bool:
        """Called in the worker: show the question, wait for y or n."""
        self._answered.clear()
        self.app.call_from_thread(self._ask, question)
        self._answered.wait()
        return self._answer

    def _ask(self, question: str) -> None:
        self.question = question
        current = self.query_one("#recovery-current", Static)
        current.update(f"{question}\n\n[y] yes   [n] no")
        current.add_class("asking")

    def action_answer(self, value: bool) -> None:
        if self.question is None:
            return
        self.question = None
        self.query_one("#recovery-current", Static).remove_class("asking")
        self._answer = value
        self._answered.set()

    def action_run_step(self) -> None:
        if not self.busy and self.context.incident is not None and self.question is None:
            self.run_step()

    def action_validate(self) -> None:
        if not self.busy and self.context.incident is not None:
            self._validate()

    @work(thread=True, exclusive=True, group="recovery")
    def _validate(self) -> None:
        report = finish_recovery(self.context)
        self.app.call_from_thread(self._show_report, report.passed, list(report.recommendations))

    def action_leave(self) -> None:
        if self.question is not None:
            self.action_answer(False)  # never leave a worker waiting for an answer
        self.app.pop_screen()

    # -- showing ----------------------------------------------------------------------------------------

    def _entry_from_worker(self, entry: dict[str, Any]) -> None:
        self.app.call_from_thread(self._add_entry, entry)

    def _add_entry(self, entry: dict[str, Any]) -> None:
        if entry["seq"] <= self._shown_seq:
            return  # delivered twice: live from the worker, then with the record it belongs to
        self._shown_seq = entry["seq"]
        timeline = self.query_one("#recovery-timeline", DataTable)
        timeline.add_row(entry["at"][11:19], entry["kind"], entry.get("step") or "", entry["summary"])
        timeline.scroll_end(animate=False)
        if entry.get("step") and entry["kind"] in _MARKS:
            plan = self.query_one("#recovery-plan", DataTable)
            if entry["step"] in {str(k.value) for k in plan.rows}:
                plan.update_cell(entry["step"], "status", _MARKS[entry["kind"]])

    def _show_incident(self) -> None:
        incident = self.context.incident
        assert incident is not None
        record = incident.record
        c = record.get("classification") or {}
        mode = " (dry run: nothing will change)" if self.context.looking_only else ""
        self.query_one("#recovery-title", Static).update(
            f"{record['id']} · {record['severity']} {record.get('failure_type')} · {record.get('summary', '')}{mode}")
        lines = [f"{f['signal']}: {f['detail']}" for f in c.get("evidence", [])]
        if record.get("suspect_deployment_id"):
            lines.append(f"suspect deployment: {record['suspect_deployment_id']}")
        self.query_one("#recovery-evidence", Static).update("\n".join(lines) or "no evidence of a failure")
        plan = self.query_one("#recovery-plan", DataTable)
        plan.clear()  # the assessed plan was shown before; the incident's is the one its steps run from
        for i, step in enumerate(plan_of(incident).steps, 1):
            status = _MARKS.get(incident.last_outcome(step.id) or "", "pending")
            plan.add_row(str(i), status, step.title + (" (fallback)" if step.fallback else ""), step.kind,
                         ", ".join(step.depends_on) or "-", key=step.id)
        for entry in incident.timeline:
            self._add_entry(entry)
        self._show_current()

    def _show_assessment(self, note: str = "") -> None:
        assessment = self.assessment
        if assessment is None or not self.is_attached:  # declined by leaving the screen: nothing left to update
            return
        c = assessment.classification
        self.query_one("#recovery-title", Static).update(
            f"{self.context.environment} · {c.severity} {c.failure_type} · {c.summary} · no incident open")
        lines = [f"{f.signal}: {f.detail}" for f in c.evidence]
        if c.suspect_deployment_id:
            lines.append(f"suspect deployment: {c.suspect_deployment_id}")
        self.query_one("#recovery-evidence", Static).update("\n".join(lines) or "no evidence of a failure")
        plan = self.query_one("#recovery-plan", DataTable)
        if not plan.row_count:
            for i, step in enumerate(assessment.plan.steps, 1):
                plan.add_row(str(i), "planned", step.title + (" (fallback)" if step.fallback else ""), step.kind,
                             ", ".join(step.depends_on) or "-", key=step.id)
        current = self.query_one("#recovery-current", Static)
        current.update("\n".join([*([note] if note else []), assessment.advice(),
                                   "[o] open the incident, which sends:", *assessment.sends(), "[esc] leave"]))

    def _show_ended(self, how: str) -> None:
        incident = self.context.incident
        assert incident is not None
        self.query_one("#recovery-title", Static).update(
            f"{incident.id} · {incident.record['severity']} · {how} by {self.context.operator}")
        self.query_one("#recovery-current", Static).update(f"incident {incident.id} {how}; its page is closed")

    def _show_current(self) -> None:
        if self.question is not None or self.context.incident is None:
            return
        step = next_step(self.context)
        current = self.query_one("#recovery-current", Static)
        if step is None:
            current.update(f"plan through · incident {self.context.incident.record['status']}\n{self.verdict}\n"
                           "[v] validate again")
            return
        changes = " (changes the cloud)" if step.changes else ""
        current.update(f"next: {step.title}{changes}\n{step.kind}"
                       + (f": {step.instruction}" if step.instruction else "") + "\n[r] run it")

    def _show_health(self, text: str) -> None:
        if not self.is_attached:  # a probe that answers after the operator left the screen has nothing to update
            return
        self.query_one("#recovery-health", Static).update(text)

    def _show_report(self, passed: bool, recommendations: list[str]) -> None:
        verdict = "recovered and validated" if passed else "validation failed: the incident stays open"
        self.verdict = "\n".join([verdict, *(f"next: {r}" for r in recommendations)])
        self._show_current()

    def _show_error(self, message: str) -> None:
        self.last_error = message
        self.query_one("#recovery-current", Static).update(f"error: {message}")
