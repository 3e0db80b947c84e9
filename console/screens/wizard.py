"""The deploy wizard: environment → component versions → strategy → plan preview → confirmation.

Every step stays mounted (a ContentSwitcher shows one at a time), so `esc` goes back a step without
losing anything typed. Versions are checked and the plan is made by the same core functions the CLI
uses (core.engine.choices); the wizard closes with a DeployRequest and the app starts it like any action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from core.config import COMPONENTS
from core.engine import Engine
from core.engine.choices import (
    StrategyChoice,
    default_strategy,
    preview_plan,
    recent_versions,
    strategy_choices,
    validate_version,
)
from core.errors import OpsError
from core.strategies import DeploymentPlan

STEPS = ("environment", "versions", "strategy", "plan", "confirm")
TITLES = {"environment": "Environment", "versions": "Versions", "strategy": "Strategy", "plan": "Plan",
          "confirm": "Confirm"}
PLACEHOLDERS = {"websocket-server": "container image with a tag, e.g. …/websocket-server:v2.0.0 (empty: keep)",
                "frontend": "git ref, e.g. release/2.0 (empty: keep)",
                "infrastructure": "version, e.g. v1.4.0 (empty: keep)"}


@dataclass(frozen=True)
class DeployRequest:
    """What the operator confirmed: the app passes it to Engine.deploy_to_environment."""

    environment: str
    versions: dict[str, str]
    strategy: str
    mode: str

    @property
    def label(self) -> str:
        return StrategyChoice(self.strategy, self.mode).label


class VersionInput(Input):
    """A component's version; ↑/↓ step through the versions recently deployed (newest first)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "recent(1)", "Older", show=False, id="wizard-older"),
        Binding("down", "recent(-1)", "Newer", show=False, id="wizard-newer"),
    ]

    def __init__(self, component: str) -> None:
        super().__init__(placeholder=PLACEHOLDERS[component], id=f"version-{component}")
        self.component = component
        self.recent: list[str] = []
        self._at = -1

    def action_recent(self, step: int) -> None:
        if not self.recent:
            return
        self._at = max(-1, min(len(self.recent) - 1, self._at + step))
        self.value = self.recent[self._at] if self._at >= 0 else ""
        self.cursor_position = len(self.value)


class WizardScreen(Screen[DeployRequest | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back", id="wizard-back")]

    @dataclass
    class Recent(Message):
        versions: dict[str, list[str]]

    @dataclass
    class Planned(Message):
        plan: DeploymentPlan | None
        problem: str | None = None

    def __init__(self, engine: Engine, environments: Sequence[str], selected: str,
                 refusals: Mapping[str, str | None] | None = None) -> None:
        """`refusals`: why each environment cannot be deployed now (its access, or a deployment in progress: the
        console's action rule), None where it can; an environment not named asks the access gate only. The
        wizard starts on `selected`, or on the first environment it can deploy when that one is refused."""
        super().__init__(id="wizard")
        self.engine = engine
        self.environments = list(environments)
        self.refusals = {e: (refusals or {}).get(e, engine.refusal(e)) for e in self.environments}
        allowed = [e for e in self.environments if self.refusals[e] is None]
        self.environment = selected if selected in allowed or not allowed else allowed[0]
        self.step = 0
        self.versions: dict[str, str] = {}
        self.strategy = default_strategy(engine.environment(self.environment))
        self.plan: DeploymentPlan | None = None

    # -- layout ----------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="wizard-steps")
        with ContentSwitcher(initial="step-environment", id="wizard-body"):
            with Vertical(id="step-environment", classes="wizard-step"):
                yield Label("Where to deploy? (↑/↓, enter)", classes="wizard-question")
                yield OptionList(*[Option(self._environment_label(e), id=e, disabled=self.refusals[e] is not None)
                                   for e in self.environments], id="wizard-environments")
            with VerticalScroll(id="step-versions", classes="wizard-step"):
                yield Label("Which versions? Leave a component empty to keep what serves; ↑/↓ offer recent "
                            "versions; enter goes on.", classes="wizard-question")
                for component in COMPONENTS:
                    yield Label(component, classes="wizard-component")
                    yield VersionInput(component)
                    yield Static("", id=f"recent-{component}", classes="wizard-recent", markup=False)
                yield Label("", id="versions-problem", classes="wizard-problem", markup=False)
            with Vertical(id="step-strategy", classes="wizard-step"):
                yield Label("", id="strategy-question", classes="wizard-question", markup=False)
                yield OptionList(*[Option(c.label, id=c.label) for c in strategy_choices()], id="wizard-strategies")
            with Vertical(id="step-plan", classes="wizard-step"):
                yield Static("", id="plan-summary", markup=False)
                yield DataTable(id="wizard-plan", cursor_type="row", zebra_stripes=True)
                yield Static("", id="plan-notes", markup=False)
                yield Label("", id="plan-problem", classes="wizard-problem", markup=False)
            with Vertical(id="step-confirm", classes="wizard-step"):
                yield Static("", id="confirm-summary", markup=False)
                yield Static("", id="confirm-question", markup=False)  # wraps at 80 columns; a Label is cut
                yield Input(id="wizard-confirm")
                yield Label("", id="confirm-problem", classes="wizard-problem", markup=False)
        yield Footer()

    def _environment_label(self, name: str) -> Text:
        """The environment and its strategy; one this operator may not change says why, with the gate's fix, and
        one that cannot take a deployment now says why (as Text: the fix quotes TOML, whose [tables] are not
        markup)."""
        choice = default_strategy(self.engine.environment(name))
        refused, why = self.engine.refusal(name), self.refusals[name]
        said = (f"\n  not yours to deploy: {refused}" if refused else f"\n  not now: {why}" if why else "")
        return Text(f"{name.upper() if name == 'production' else name}  ·  {choice.label}" + said)

    def on_mount(self) -> None:
        self.sub_title = "Deploy"
        table = self.query_one("#wizard-plan", DataTable)
        for key, label in (("n", "#"), ("stage", "stage"), ("kind", "kind"), ("weight", "weight"),
                           ("window", "window"), ("operator", "needs you")):
            table.add_column(label, key=key)
        environments = self.query_one("#wizard-environments", OptionList)
        environments.highlighted = self.environments.index(self.environment)
        self._highlight_strategy()
        self._show_step()
        self._load_recent()

    @work(thread=True, group="wizard-recent")
    def _load_recent(self) -> None:
        self.post_message(self.Recent(recent_versions(self.engine.registry)))

    @on(Recent)
    def _recent(self, message: Recent) -> None:
        for component in COMPONENTS:
            found = message.versions.get(component, [])
            self.query_one(f"#version-{component}", VersionInput).recent = found
            hint = "recent (↑): " + " · ".join(found) if found else "no recent versions in the registry"
            self.query_one(f"#recent-{component}", Static).update(hint)

    # -- moving between steps ----------------------------------------------------------------------------

    def _show_step(self) -> None:
        name = STEPS[self.step]
        self.query_one(ContentSwitcher).current = f"step-{name}"
        line = Text()
        for index, step in enumerate(STEPS):
            if index:
                line.append("  ›  ", style="dim")
            style = "bold reverse" if index == self.step else ("" if index < self.step else "dim")
            line.append(f" {index + 1} {TITLES[step]} ", style=style)
        line.append(f"    {self.environment}", style="bold magenta" if self.environment == "production" else "bold")
        self.query_one("#wizard-steps", Static).update(line)
        focus = {"environment": "#wizard-environments", "versions": "#version-websocket-server",
                 "strategy": "#wizard-strategies", "plan": "#wizard-plan", "confirm": "#wizard-confirm"}[name]
        self.query_one(focus).focus()

    def _go(self, step: int) -> None:
        self.step = step
        self._show_step()

    def action_back(self) -> None:
        if self.step == 0:
            self.dismiss(None)
        else:
            self._go(self.step - 1)

    # -- 1 environment ------------------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#wizard-environments")
    def _environment_chosen(self, event: OptionList.OptionSelected) -> None:
        chosen = str(event.option.id)
        if chosen != self.environment:  # another environment: its own configured strategy is the default
            self.environment = chosen
            self.strategy = default_strategy(self.engine.environment(chosen))
            self._highlight_strategy()
        self._go(1)

    # -- 2 versions --------------------------------------------------------------------------------------

    @on(Input.Submitted, "VersionInput")
    def _version_submitted(self, event: Input.Submitted) -> None:
        assert isinstance(event.input, VersionInput)
        index = COMPONENTS.index(event.input.component)
        if index + 1 < len(COMPONENTS) and not event.value.strip():
            self.query_one(f"#version-{COMPONENTS[index + 1]}").focus()
            return
        problems: list[str] = []
        versions: dict[str, str] = {}
        for component in COMPONENTS:
            typed = self.query_one(f"#version-{component}", VersionInput).value
            if typed.strip():
                try:
                    versions[component] = validate_version(component, typed)
                except OpsError as problem:
                    problems.append(str(problem))
        if not versions and not problems:
            problems.append(f"name at least one component version to deploy ({', '.join(COMPONENTS)})")
        self.query_one("#versions-problem", Label).update("\n".join(problems))
        if problems:
            return
        self.versions = versions
        self._ask_strategy()
        self._go(2)

    # -- 3 strategy -----------------------------------------------------------------------------------------

    def _ask_strategy(self) -> None:
        configured = default_strategy(self.engine.environment(self.environment)).label
        self.query_one("#strategy-question", Label).update(
            f"How? {self.environment} is configured for {configured}; manual canary steps wait for you (p).")

    def _highlight_strategy(self) -> None:
        labels = [c.label for c in strategy_choices()]
        self.query_one("#wizard-strategies", OptionList).highlighted = labels.index(self.strategy.label)

    @on(OptionList.OptionSelected, "#wizard-strategies")
    def _strategy_chosen(self, event: OptionList.OptionSelected) -> None:
        self.strategy = next(c for c in strategy_choices() if c.label == event.option.id)
        self.plan = None
        self.query_one("#plan-summary", Static).update("planning…")
        self.query_one("#plan-problem", Label).update("")
        self.query_one("#wizard-plan", DataTable).clear()
        self.query_one("#plan-notes", Static).update("")
        self._go(3)
        self._preview(self.environment, dict(self.versions), self.strategy)

    # -- 4 plan preview -----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="wizard-plan")
    def _preview(self, environment: str, versions: dict[str, str], strategy: StrategyChoice) -> None:
        """Asks Cloud Run for the stable revision, as deploy_to_environment will."""
        try:
            plan = preview_plan(self.engine, environment, versions, strategy=strategy.kind, mode=strategy.mode)
        except OpsError as problem:
            self.post_message(self.Planned(None, str(problem)))
            return
        self.post_message(self.Planned(plan))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        if message.plan is None:
            self.query_one("#plan-summary", Static).update("no plan")
            self.query_one("#plan-problem", Label).update(message.problem or "")
            return
        plan = self.plan = message.plan
        self.query_one("#plan-summary", Static).update(
            f"{len(plan.stages)} stages for {plan.environment} · {plan.strategy} · {plan.mode} · stable "
            f"{plan.stable_revision or 'none (first deploy)'} · enter to go on, esc to change")
        table = self.query_one("#wizard-plan", DataTable)
        table.clear()
        for index, stage in enumerate(plan.stages, start=1):
            window = f"{stage.monitoring.window_s} s" if stage.monitoring else "-"
            weight = f"{stage.traffic_percent} %" if stage.traffic_percent is not None else "-"
            table.add_row(str(index), stage.name, str(stage.kind), weight, window,
                          "yes" if stage.needs_operator else "", key=str(index))
        self.query_one("#plan-notes", Static).update("\n".join(plan.notes))

    @on(DataTable.RowSelected, "#wizard-plan")
    def _plan_accepted(self, _: DataTable.RowSelected) -> None:
        if self.plan is None:
            return
        production = self.environment == "production"
        what = ", ".join(f"{c} {v}" for c, v in self.versions.items())
        self.query_one("#confirm-summary", Static).update(
            f"Deploy {what}\nto {self.environment.upper() if production else self.environment} as "
            f"{self.strategy.label} ({len(self.plan.stages)} stages).")
        self.query_one("#confirm-question", Static).update(
            f"Type the environment name ({self.environment}) and press enter to deploy; esc goes back."
            if production else "Press enter to deploy; esc goes back.")
        self.query_one("#step-confirm").set_class(production, "production-step")
        self._go(4)

    # -- 5 confirmation ---------------------------------------------------------------------------------------

    @on(Input.Submitted, "#wizard-confirm")
    def _confirmed(self, event: Input.Submitted) -> None:
        if self.environment == "production" and event.value.strip() != self.environment:
            self.query_one("#confirm-problem", Label).update(
                f"confirmation did not match {self.environment!r}; nothing was deployed")
            return
        self.dismiss(DeployRequest(self.environment, dict(self.versions), self.strategy.kind, self.strategy.mode))
