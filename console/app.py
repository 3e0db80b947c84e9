"""The Textual console: live environments beside the actions, calling the same engine functions as the CLI.

Nothing blocking runs on the event loop: refreshes, operator actions and the driving of deployments
are thread workers that post Messages back. Per environment one driver runs at a time (an exclusive
worker group), and an operator action first stops that driver and waits for it, so an action and a
tick never write the same rollout status at once. A worker's OpsError becomes a one-sentence error
notification; the console keeps running.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import SystemCommand
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from console.actions import BY_ID, OPERATOR_ACTIONS, Done, OpsAction, Situation, keys_for
from console.health_news import HealthNews
from console.refreshing import Refreshes
from console.refusals import say_refusal
from console.screens.ask import AskScreen
from console.screens.confirm import confirmation
from console.screens.main import MainScreen
from console.snapshot import EnvironmentSnapshot
from console.startup import ConnectsAfterFirstFrame, Starting
from console.team import header_line
from console.told import Told
from core.config import ENVIRONMENTS
from core.errors import OpsError
from core.model.events import DeploymentFinished, EngineEvent, RolledBack
from widgets.action_panel import ActionRow

if TYPE_CHECKING:  # these, and the screens that read the cloud, load after the first frame (console/startup.py)
    from console.screens.wizard import DeployRequest
    from core.engine import Engine, Tick
    from core.health.monitor import HealthMonitor
    from core.recovery.context import RecoveryPorts

SLEEP_SLICE_S = 0.5  # a driver waiting for an analysis window notices a stop request this soon
EVENTS_KEPT = 500  # engine events kept per environment for the log when it is selected again


class OpsConsoleApp(Told, Refreshes, ConnectsAfterFirstFrame):
    CSS_PATH = "app.tcss"
    TITLE = "opsconsole"

    @dataclass
    class EngineEventArrived(Message):
        event: EngineEvent

    @dataclass
    class ActionDone(Message):
        action: OpsAction
        environment: str
        done: Done

    @dataclass
    class Driven(Message):
        environment: str
        tick: Tick

    def __init__(self, engine: Engine | Starting, *, sleep: Callable[[float], None] | None = None,
                 read_only: bool = False, environments: Iterable[str] = ENVIRONMENTS,
                 recovery_ports: Callable[[], RecoveryPorts] | None = None,
                 health: HealthMonitor | None = None) -> None:
        """An engine (with the rest: connected already), or how to connect after the first frame (`Starting`).

        `sleep` waits cloud time (the wiring's: real time, or a frozen sandbox clock advanced);
        `recovery_ports` gives guided recovery its providers beyond the engine's (the composition root's);
        `health` watches every environment's live health from the refresh (None: not watched).
        """
        super().__init__()
        self.read_only = read_only
        config = self.start_with(engine, sleep, recovery_ports, health)
        self._health_news = HealthNews()
        self._period = config.console.refresh_seconds  # until the first refresh says whether any is busy
        self._team = ""
        self.environments = [e for e in environments if e in config.environments]
        self.selected = "production" if "production" in self.environments else self.environments[0]
        self.snapshots: dict[str, EnvironmentSnapshot] = {}
        self.engine_events: dict[str, deque[EngineEvent]] = {e: deque(maxlen=EVENTS_KEPT) for e in self.environments}
        self.keymap = dict(config.console.keymap)
        self.refresh_paused = False
        self._refresh_worker: Worker[None] | None = None
        self._refresh_again: set[str] = set()  # asked for while a refresh ran: read them right after it
        self._taken: dict[str, float] = {}  # when each environment was last read (time.monotonic)
        self._env_locks = {e: threading.Lock() for e in self.environments}
        self._unsubscribe: Callable[[], None] | None = None
        self._timer: Timer | None = None
        self._listener: Any = None  # core.registry.pg.listen.Listener on a shared registry
        self._threads_lock = threading.Lock()  # per console (the mixin's class-level ones are only defaults)
        self._threads_running = 0
        self.main = MainScreen([(e, config.environment(e).strategy.kind) for e in self.environments], self.selected)

    # -- start and stop ---------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        return self.main

    def on_mount(self) -> None:
        self.set_keymap(self.keymap)

    def on_ready(self) -> None:
        """The main screen is up (the cards, before anything is connected): show it, then connect (console.startup)."""
        self._show_refresh_state()
        self._show_selected()
        unknown = sorted(set(self.keymap) - set(BY_ID))
        if unknown:
            self.tell(f"[console.keymap] names no action {', '.join(unknown)}; known ids: {', '.join(BY_ID)}",
                      severity="warning")
        self.connect_after_first_frame()

    def _show_identity(self, team: str | None = None) -> None:
        """The header: the worst environment's health, then who acts (console.team.header_line); once connected."""
        self._team = self._team if team is None else team
        self.sub_title = header_line(self.engine, self._team, self.read_only,
                                     [h for s in self.snapshots.values() if (h := s.health_now) is not None],
                                     width=self.size.width)

    def on_unmount(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.workers.cancel_all()

    # -- selection ----------------------------------------------------------------------------------------

    def action_select(self, environment: str) -> None:
        if environment in self.environments and environment != self.selected:
            self.selected = environment
            self._show_selected()
            self.main.card(environment).focus()

    def situation(self, environment: str) -> Situation:
        snapshot = self.snapshots.get(environment)
        active = snapshot.active if snapshot is not None else None
        shown = snapshot.deployment if snapshot is not None else None
        return Situation(environment, active, self.engine.refusal(environment) if self.connected else None, shown,
                         recovery=self.recovery_ports is not None,
                         actions=self.engine.actions(environment, active) if self.connected else {})

    def _show_selected(self) -> None:
        situation = self.situation(self.selected)
        rows = [ActionRow(a.id, keys_for(a, self.keymap), a.title,
                          a.unavailable(situation) if self.connected else "connecting…") for a in OPERATOR_ACTIONS]
        self.main.show_selected(self.selected, self.snapshots.get(self.selected), rows,
                                self.engine_events[self.selected])

    # -- engine events ------------------------------------------------------------------------------------

    @on(EngineEventArrived)
    def _engine_event(self, message: EngineEventArrived) -> None:
        event = message.event
        if event.environment not in self.engine_events:
            return
        self.engine_events[event.environment].append(event)
        if event.environment == self.selected:
            self.main.add_engine_event(event)
        if isinstance(event, RolledBack):
            self.tell(f"{event.environment}: {event.cause}", title="Rolled back", severity="error", log=False)
        elif isinstance(event, DeploymentFinished):
            self.tell(f"{event.environment}: deployment {event.deployment_id} {event.status.replace('_', ' ')}",
                      severity="information" if event.status == "succeeded" else "warning", log=False)
        self.request_refresh([event.environment])

    # -- actions ------------------------------------------------------------------------------------------

    def action_help(self) -> None:
        if not self.is_screen_installed("help"):  # made once: the page's Markdown widgets take long to build
            from console.screens.help import HelpScreen  # and Markdown's import is not for the first frame

            self.install_screen(HelpScreen(self.keymap), "help")
        self.push_screen("help")

    def _refused(self, action: OpsAction, environment: str) -> bool:
        return say_refusal(self, action, environment, action.unavailable(self.situation(environment)))

    def action_deploy(self) -> None:
        """The deploy wizard; it closes with what to deploy, which runs like any other action, then is driven.

        Only the access gate stops it here, before step one (read-only, or an operator the selected environment's
        allow-list does not name): the wizard may pick another environment than a busy selected one. Each
        environment's refusal (access, or a deployment already in progress: the same rule as the action panel's)
        is handed to the wizard, which offers such an environment disabled with its reason, never to find out at
        the last step; when every environment is refused, the selected one's reason is said and no wizard opens.
        """
        if say_refusal(self, BY_ID["deploy"], self.selected, self.engine.refusal(self.selected)):
            return
        refusals = {e: BY_ID["deploy"].unavailable(self.situation(e)) for e in self.environments}
        if all(refusals.values()) and say_refusal(self, BY_ID["deploy"], self.selected, refusals[self.selected]):
            return

        def deploy(request: DeployRequest | None) -> None:
            if request is None:
                self.tell("Deploy cancelled; nothing was changed")
                return
            self.action_select(request.environment)
            self.run_in_worker(BY_ID["deploy"], request.environment, partial(self._deploy, request))

        from console.screens.wizard import WizardScreen

        self.push_screen(WizardScreen(self.engine, self.environments, self.selected, refusals), deploy)

    def _deploy(self, request: DeployRequest) -> Done:
        from core.providers.commits import commit_times  # each version's commit time: git here, or the pipeline's

        deployment = self.engine.deploy_to_environment(request.environment, request.versions, strategy=request.strategy,
                                                       mode=request.mode,
                                                       commit_times=commit_times(request.versions).times)
        return Done(f"{request.environment}: deployment {deployment.id} started ({request.label}, "
                    f"{len(deployment.stages)} stages)")

    def action_detail(self, deployment_id: str | None = None) -> None:
        """The deployment in view on the selected card (or the one named), in its own screen."""
        if deployment_id is None:
            if self._refused(BY_ID["detail"], self.selected):
                return
            shown = self.situation(self.selected).shown
            assert shown is not None
            deployment_id = shown.id
        from console.screens.detail import DetailScreen

        self.push_screen(DetailScreen(self.engine.registry, deployment_id, self.engine.ports.now))

    def action_history(self) -> None:
        from console.screens.history import HistoryScreen

        self.push_screen(HistoryScreen(self.engine.registry, self.environments, self.engine.ports.now))

    def action_recover(self) -> None:
        """Guided recovery of the selected environment: it assesses first and pages only when confirmed; a read-only
        console walks it as a dry run (core.recovery records and sends nothing then, whatever is passed here)."""
        if self._refused(BY_ID["recover"], self.selected) or self.recovery_ports is None:
            return
        from console.screens.recovery import RecoveryScreen
        from core.recovery.incident import IncidentStore

        self.push_screen(RecoveryScreen(self.engine, self.selected, self.recovery_ports(),
                                        IncidentStore(self.engine.registry), sleep=self.sleep,
                                        dry_run=self.read_only))

    def action_infra(self) -> None:
        if not self._refused(BY_ID["infra"], self.selected):
            from console.screens.infra import InfraScreen

            self.push_screen(InfraScreen(self.engine, self.selected))

    def action_reports(self) -> None:
        from console.screens.reports import ReportsScreen

        self.push_screen(ReportsScreen(self.engine.registry, self.environments, self.engine.ports.now,
                                       read_only=self.read_only))

    def action_ops(self, action_id: str) -> None:
        """An operator action on the selected environment: explain a refusal, else ask, confirm, then run it."""
        action, environment = BY_ID[action_id], self.selected
        if self._refused(action, environment):
            return
        self.run_worker(self._ask_and_confirm(action, environment), name=action.title, group="dialog")

    async def _ask_and_confirm(self, action: OpsAction, environment: str, context: str = "") -> None:
        active = await asyncio.to_thread(self.engine.active, environment)  # the sentence reads now, not the refresh
        answer = await self.push_screen_wait(AskScreen(f"{action.title} on {environment}", action.ask, context,
                                                       action.preview(environment, active))) if action.ask else ""
        if answer is None:
            self.tell(f"{action.title} cancelled; nothing was changed")
            return
        effect = action.effect_of(environment, active, answer)
        if (screen := confirmation(action, effect, self.engine.gate.needs_confirmation(environment))) is not None:
            typed = await self.push_screen_wait(screen)
            if typed is None:
                self.tell(f"{action.title} cancelled; nothing was changed")
                return
            if typed != environment:
                self.tell(f"confirmation did not match {environment!r}; nothing was changed", severity="error")
                return
        self.run_action_in_worker(action, environment, answer)

    def run_action_in_worker(self, action: OpsAction, environment: str, answer: str) -> None:
        assert action.run is not None
        self.run_in_worker(action, environment, partial(action.run, self.engine, environment, answer))

    def run_in_worker(self, action: OpsAction, environment: str, work: Callable[[], Done]) -> None:
        # Stop the environment's driver first (on this thread: cancelling is not thread-safe); the action's
        # worker then waits for the driver to let go of the environment.
        self.workers.cancel_group(self, f"drive:{environment}")
        self._in_thread(partial(self._act, action, environment, work), name=f"{action.title} on {environment}",
                        group=f"act:{environment}")

    def _act(self, action: OpsAction, environment: str, work: Callable[[], Done]) -> None:
        with self._env_locks[environment]:
            done = work()
        self.post_message(self.ActionDone(action, environment, done))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        done = message.done
        self.tell(done.message, severity="information" if done.ok else "warning", environment=message.environment)
        self.request_refresh()
        if done.refused is not None:  # a check refused promotion: offer to promote anyway, with a reason
            anyway = BY_ID["promote-anyway"]
            self.run_worker(self._ask_and_confirm(anyway, message.environment, context=done.refused),
                            name=anyway.title, group="dialog")
        if message.action.drives:
            self.drive(message.environment)

    def drive(self, environment: str) -> None:
        """Carry the environment's deployment on in the background until it ends or needs the operator."""
        self._in_thread(partial(self._drive, environment), name=f"Driving {environment}", group=f"drive:{environment}",
                        exclusive=True)

    def _drive(self, environment: str) -> None:
        worker = get_current_worker()

        def sleep(seconds: float) -> None:
            while seconds > 0 and not worker.is_cancelled:
                self.sleep(min(seconds, SLEEP_SLICE_S))
                seconds -= SLEEP_SLICE_S

        with self._env_locks[environment]:
            deployment = self.engine.active(environment)
            if deployment is None or worker.is_cancelled:
                return
            tick = self.engine.drive(deployment.id, sleep=sleep, stop=lambda: worker.is_cancelled)
        self.post_message(self.Driven(environment, tick))

    @on(Driven)
    def _driven(self, message: Driven) -> None:
        self.request_refresh([message.environment])

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a worker's failure is turned into what the operator sees: one sentence, no crash."""
        if event.worker.group == "refresh" and event.worker.is_finished and self._refresh_again:
            self.request_refresh(())
        if event.state is not WorkerState.ERROR:
            return
        if event.worker.group.startswith("act:"):  # the action stopped the driver; a refusal must not leave it so
            self.drive(event.worker.group.removeprefix("act:"))
        from core.engine import EnvironmentBusy  # loaded already: a worker that fails ran the engine

        error = event.worker.error
        if isinstance(error, EnvironmentBusy):  # another console drives it and applies what we request
            if not event.worker.name.startswith("Taking over"):  # a lost race to take over is nothing to report
                self.tell(str(error), title=event.worker.name, severity="warning")
        elif isinstance(error, OpsError):
            self.tell(str(error), title=event.worker.name, severity="error")
        else:
            self.tell(f"internal error in {event.worker.name}: {type(error).__name__}: {error}", severity="error")

    # -- command palette ----------------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is self.main and self.connected:
            from console.palette import palette_commands

            yield from palette_commands(self)
