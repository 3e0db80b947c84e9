"""The main screen: three environment cards, then the selected environment's canary judge, actions and log.

It only lays widgets out and hands them what the app gathered; its bindings come from the action
registry, and clicks on it become the same actions the keys run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Header, Static

from console import actions
from console.snapshot import EnvironmentSnapshot
from core.model.events import EngineEvent
from core.model.log_text import hint_as_key, revision_roles
from widgets.action_panel import ActionPanel, ActionRow
from widgets.canary_panel import CanaryPanel
from widgets.environment_card import EnvironmentCard
from widgets.event_log import EventLog
from widgets.footer import SteadyFooter


class MainScreen(Screen[None]):
    BINDINGS = actions.bindings()
    AUTO_FOCUS = "EnvironmentCard.selected"  # focusing a card selects it: start on the selected one
    # app.tcss fits the panels into 80x24 under these classes.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (32, "-tall"), (44, "-taller")]

    def __init__(self, environments: Sequence[tuple[str, str]], selected: str) -> None:
        """`environments`: (name, strategy kind) in the order the cards are shown."""
        super().__init__(id="main")
        self.environments = list(environments)
        self.selected = selected

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="refresh-state", markup=False)
        with Horizontal(id="cards"):
            for name, strategy in self.environments:
                card = EnvironmentCard(name, strategy=strategy, production=name == "production")
                yield card.set_class(name == self.selected, "selected")
        with Horizontal(id="middle"):
            yield CanaryPanel(id="canary")
            yield ActionPanel(id="actions")
        yield EventLog(id="log")
        yield SteadyFooter()

    def on_mount(self) -> None:
        """The log says the console's keys where the engine's sentences name a CLI command."""
        keymap = getattr(self.app, "keymap", {})
        keys = {a.id: actions.keys_for(a, keymap).split(",")[0] for a in actions.ACTIONS}
        wording = partial(hint_as_key, keys=keys)
        self.query_one(EventLog).wording = wording
        self.query_one(CanaryPanel).wording = wording
        for card in self.query(EnvironmentCard):
            card.wording = wording

    def card(self, environment: str) -> EnvironmentCard:
        return self.query_one(f"#card-{environment}", EnvironmentCard)

    def show_environment(self, snapshot: EnvironmentSnapshot) -> None:
        self.card(snapshot.name).show(snapshot)

    def show_selected(self, environment: str, snapshot: EnvironmentSnapshot | None, rows: Sequence[ActionRow],
                      engine_events: Iterable[EngineEvent]) -> None:
        for name, _ in self.environments:
            self.card(name).set_class(name == environment, "selected")
        self.query_one(ActionPanel).show(rows, title=f"Actions · {environment}")
        if snapshot is None:
            return
        self.query_one(CanaryPanel).show(snapshot)
        log = self.query_one(EventLog)
        deployment_id = snapshot.deployment.id if snapshot.deployment else None
        rollout = snapshot.rollout
        roles = revision_roles(rollout.new_revision, rollout.stable_revision) if rollout is not None else {}
        log.follow(environment, deployment_id, [e for e in engine_events if e.deployment_id in (deployment_id, "")],
                   roles)
        log.show_steps(snapshot.events)

    def add_engine_event(self, event: EngineEvent) -> None:
        self.query_one(EventLog).add_engine_event(event)

    def show_refresh_state(self, text: str, *, paused: bool, read_only: bool) -> None:
        indicator = self.query_one("#refresh-state", Static)
        if str(indicator.content) != text:  # one line of fixed height: no layout of the screen for a new time
            indicator.update(text, layout=False)
        indicator.set_class(paused, "paused")
        indicator.set_class(read_only, "read-only")

    @on(EnvironmentCard.Selected)
    async def _card_selected(self, event: EnvironmentCard.Selected) -> None:
        await self.app.run_action(f"app.select('{event.environment}')")

    @on(ActionPanel.Chosen)
    async def _action_chosen(self, event: ActionPanel.Chosen) -> None:
        await self.app.run_action(actions.BY_ID[event.action_id].action)
