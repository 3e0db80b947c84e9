"""The console's refresh: reading every environment in a worker thread, at each one's pace, and showing it.

A beat of the timer reads the environments due (console.refresh_pace); a change anyone commits to the shared
registry, an engine event or a finished action reads at once what it concerns. While a read runs, whatever is
asked for meanwhile is read right after it, once. The snapshots reach the screen whole (console.snapshot), and
the live-health watch (its own beat) asks for a read when it sees what the cards do not show yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on
from textual.message import Message
from textual.timer import Timer
from textual.worker import Worker

from console.actions import BY_ID, keys_for
from console.counted_threads import CountedThreads
from console.health_news import HealthNews, unseen_health
from console.refresh_pace import due, refresh_line, refresh_period
from console.snapshot import EnvironmentSnapshot, take_snapshots
from core.errors import OpsError
from core.model.events import Note

if TYPE_CHECKING:
    from console.screens.main import MainScreen
    from console.startup import Starting
    from core.engine import Engine
    from core.health.monitor import HealthMonitor


class Refreshes(CountedThreads):
    """Mixed into the console's App, which has the attributes below and `_show_identity`, `_show_selected`,
    `_drive`, `tell` and the `EngineEventArrived` message."""

    engine: Engine
    health: HealthMonitor | None
    starting: Starting
    environments: list[str]
    snapshots: dict[str, EnvironmentSnapshot]
    keymap: dict[str, str]
    main: MainScreen
    read_only: bool
    refresh_paused: bool
    _health_news: HealthNews
    _period: float
    _timer: Timer | None
    _refresh_worker: Worker[None] | None
    _refresh_again: set[str]  # asked for while a refresh ran: read them right after it
    _taken: dict[str, float]  # when each environment was last read (time.monotonic)
    _show_identity: Callable[..., None]
    _show_selected: Callable[[], None]
    _drive: Callable[[str], None]
    connected: bool

    @dataclass
    class Refreshed(Message):
        snapshots: dict[str, EnvironmentSnapshot]  # the environments read (a beat reads only those due)
        taken: float  # when the read began (time.monotonic)

    @dataclass
    class RegistryChanged(Message):
        """Someone (this console, another, the CLI, a pipeline) committed a change to the shared registry."""

        change: Any

    @dataclass
    class Orphaned(Message):
        """An environment's deployment is running and no console drives it (its driver died or was cut off)."""

        environment: str
        deployment_id: str

    class HealthSeen(Message):
        """The health watch observed a state the cards do not show yet."""

    @dataclass
    class TeamSeen(Message):
        """Who else is connected to the shared registry, and who drives which environment."""

        line: str

    @on(RegistryChanged)
    def _registry_changed(self, message: RegistryChanged) -> None:
        self.request_refresh()

    @on(TeamSeen)
    def _team_seen(self, message: TeamSeen) -> None:
        self._show_identity(message.line)

    def request_refresh(self, environments: Iterable[str] | None = None) -> None:
        """Take new snapshots of `environments` (default: all) in a worker; while one is running, run exactly one
        more after it, of everything asked for meanwhile."""
        names = set(self.environments if environments is None else environments)
        if self._refresh_worker is not None and not self._refresh_worker.is_finished:
            self._refresh_again |= names
            return
        names |= self._refresh_again
        self._refresh_again = set()
        if names:
            wanted = [e for e in self.environments if e in names]
            self._refresh_worker = self._in_thread(partial(self._take_snapshots, wanted), name="Refresh",
                                                   group="refresh")

    def _beat(self) -> None:
        """The timer: read the environments due at their pace (console.refresh_pace.due)."""
        self.request_refresh(due(self.engine.config.console, self.snapshots, self._taken, self.environments,
                                 time.monotonic()))

    def _take_snapshots(self, environments: list[str]) -> None:
        taken = time.monotonic()
        snapshots = take_snapshots(self.engine, environments, health=self.health)
        self.post_message(self.Refreshed(snapshots, taken))
        if self.engine.registry.shared:
            from console.team import team_line

            self.post_message(self.TeamSeen(team_line(self.engine.registry)))
            if not self.read_only:  # a deployment nobody drives (its console died): offer to take it over
                for name, snapshot in snapshots.items():
                    rollout = snapshot.rollout
                    if snapshot.active is not None and rollout is not None and rollout.needs_driver \
                            and self._nobody_drives(name):
                        self.post_message(self.Orphaned(name, snapshot.active.id))

    def _nobody_drives(self, environment: str) -> bool:
        """No console holds the environment's lease (read from the database; this thread may block on it)."""
        lease = self.engine.lock(environment)
        try:
            return not lease.held and lease.owner() is None
        except OpsError:
            return False

    @on(Orphaned)
    def _orphaned(self, message: Orphaned) -> None:
        """Take over a deployment whose driver is gone: it goes on from the write-ahead record, nothing twice."""
        env = message.environment
        if any(not w.is_finished for w in self.workers if w.group in (f"drive:{env}", f"act:{env}")):
            return  # this console drives it already, or an action here is about to
        self.engine.emit(Note(message.deployment_id, env, self.engine.ports.now(),
                              f"nobody drives {env} now: this console takes it over"))
        self._in_thread(partial(self._drive, env), name=f"Taking over {env}", group=f"drive:{env}", exclusive=True)

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        self.snapshots.update(message.snapshots)
        self._taken.update(dict.fromkeys(message.snapshots, message.taken))
        period = refresh_period(self.engine.config.console, self.snapshots.values())
        if period != self._period and self._timer is not None:  # a deployment began or ended: change pace
            self._period = period
            self._timer.stop()
            self._timer = self.set_interval(period, self._beat, pause=self.refresh_paused)
        for snapshot in message.snapshots.values():
            self.main.show_environment(snapshot)
            self._log_health(snapshot)
        self._show_identity()
        self._show_selected()
        self._show_refresh_state()
        for screen in self.screen_stack:  # the detail and history screens read the registry again, in place
            if callable(reload := getattr(screen, "reload", None)):
                reload()

    def _watch_health(self) -> None:
        if not self.refresh_paused and not any(w.group == "health" and not w.is_finished for w in self.workers):
            self._in_thread(self._observe_health, name="Health", group="health")

    def _observe_health(self) -> None:
        if self.health is not None and unseen_health(self.health, self.environments, dict(self.snapshots)):
            self.post_message(self.HealthSeen())  # the cards show another state: refresh them now

    @on(HealthSeen)
    def _health_seen(self, message: HealthSeen) -> None:
        self.request_refresh()

    def _log_health(self, snapshot: EnvironmentSnapshot) -> None:
        """Each change of health a card shows goes in the log once, a worse one also as a toast."""
        news = self._health_news.of(snapshot)
        if news is not None:
            self.post_message(self.EngineEventArrived(news.note))
            if news.toast:
                self.tell(news.toast, title=news.title, severity=news.severity, log=False)

    def action_toggle_refresh(self) -> None:
        if self._timer is None:
            return
        self.refresh_paused = not self.refresh_paused
        if self.refresh_paused:
            self._timer.pause()
        else:
            self._timer.resume()
            self.request_refresh()
        self._show_refresh_state()

    def _show_refresh_state(self) -> None:
        when = max(s.now for s in self.snapshots.values()).strftime("%H:%M:%S") if self.snapshots else "-"
        settings = self.engine.config.console if self.connected else None
        text = refresh_line(paused=self.refresh_paused, period=self._period, when=when, read_only=self.read_only,
                            keys=keys_for(BY_ID["refresh"], self.keymap),
                            connecting=None if self.connected else self.starting.where,
                            quiet_period=settings.idle_refresh_seconds if settings is not None else None,
                            width=self.size.width - 2)
        self.main.show_refresh_state(text, paused=self.refresh_paused, read_only=self.read_only)

