"""The console's start: the cards at once, the cloud after them.

The App is built from the configuration alone (environment names, strategies, keymap), so the first
frame shows the three cards while nothing has been connected. Once that frame is on screen, a thread of
its own connects: it opens the registry, starts (or attaches to) the sandbox, builds the Google clients
and the engine, importing them there too (the first frame's modules load none of google.*, grpc, the
sandbox or the engine: tests/test_console_startup.py keeps it so). Then the cards fill in. It is a plain
thread, not a Textual worker: a worker cancelled before its thread ran would never say it ended, and the
`ui` command waits for it (`Starting.join`) before it closes what the thread opened.

Until then the keys that need the engine say "still connecting" (help, select and quit work at once).
A failure while connecting ends the console, and `opsconsole ui` says it in one sentence with its exit
code (a damaged sandbox state file: 2), as any command does.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual import on
from textual.actions import ActionParseResult
from textual.dom import DOMNode
from textual.message import Message

from console.actions import ACTIONS
from console.counted_threads import CountedThreads
from core.errors import OpsError

if TYPE_CHECKING:
    from console.session import Session
    from core.config import ConsoleConfig
    from core.engine import Engine
    from core.health.monitor import HealthMonitor
    from core.recovery.context import RecoveryPorts

# Actions that work before the engine exists: they read nothing from the cloud or the registry.
AT_ONCE = {"help", "quit", "select-dev", "select-staging", "select-production"}
WAITS_FOR_ENGINE = {a.action: a.title for a in ACTIONS if a.id not in AT_ONCE}
# The screens the first keys open (help, the wizard, details, history), imported by the connecting thread once the
# cards are live rather than by the key on the UI thread (Markdown and its highlighter alone take about 100 ms).
OPENED_BY_KEYS = ("console.screens.help", "console.screens.wizard", "console.screens.detail",
                  "console.screens.history")


@dataclass(frozen=True)
class Connected:
    """What the console works with once connected; `sleep` waits cloud time (the wiring's)."""

    engine: Engine
    sleep: Callable[[float], None]
    recovery_ports: Callable[[], RecoveryPorts] | None = None
    health: HealthMonitor | None = None


@dataclass
class Starting:
    """The configuration the first frame is drawn from, and how to connect (called once, in its own thread).

    Whoever closes what `connect` opened first calls `join`: a console quit while connecting leaves the thread
    running to its end (a thread cannot be interrupted), and it must not start a sandbox after the close.
    """

    config: ConsoleConfig
    connect: Callable[[], Connected]
    where: str = "the sandbox"
    _thread: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def given(cls, connected: Connected) -> Starting:
        """Already connected (tests and the benchmark build the engine themselves)."""
        return cls(connected.engine.config, lambda: connected)

    def start(self, ready: Callable[[Connected], object], failed: Callable[[Exception], object]) -> None:
        """Connect in a thread of its own, then hand over what it built, or why it could not."""
        def run() -> None:
            try:
                connected = self.connect()
            except Exception as error:  # every failure ends the console; the CLI says it in one sentence
                failed(error)
                return
            ready(connected)
            for module in OPENED_BY_KEYS:
                importlib.import_module(module)

        self._thread = threading.Thread(target=run, name="opsconsole connecting")
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()


def starting_for(session: Session) -> Starting:
    """The `ui` command's start: the session's engine, providers and health monitor, built in the thread."""
    config = session.loaded.config  # a bad configuration was refused before the UI, with exit code 2
    session.resolve_registry_location()  # so is a bad registry setting: this parses it, opens nothing

    def connect() -> Connected:
        from core.health.monitor import HealthMonitor

        engine = session.engine  # the registry, the sandbox (started here if none runs), the clients, the engine
        health = HealthMonitor(session.loaded.config, engine.registry, engine.ports, session.wiring.http, engine.gate)
        return Connected(engine, session.wiring.sleep, session.wiring.recovery_ports, health)

    where = "the sandbox" if config.profile == "sandbox" else "Google Cloud and Vercel"
    return Starting(config, connect, where)


class ConnectsAfterFirstFrame(CountedThreads):
    """Mixed into the console's App: connects in a thread once the first frame is drawn, then calls `begin`."""

    starting: Starting
    start_failure: BaseException | None = None  # why connecting failed; `opsconsole ui` says it as it exits
    engine: Engine
    sleep: Callable[[float], None]
    recovery_ports: Callable[[], RecoveryPorts] | None = None
    health: HealthMonitor | None = None
    read_only: bool
    _connected = False

    @dataclass
    class Ready(Message):
        connected: Connected

    @dataclass
    class Failed(Message):
        error: BaseException

    @property
    def connected(self) -> bool:
        return self._connected

    def start_with(self, engine: Engine | Starting, sleep: Callable[[float], None] | None,
                   recovery_ports: Callable[[], RecoveryPorts] | None, health: HealthMonitor | None) -> ConsoleConfig:
        """How to connect, or the engine connected already (and what comes with it); the configuration either way."""
        if isinstance(engine, Starting):
            self.starting = engine
        else:
            assert sleep is not None, "an engine comes with the sleep that waits its cloud's time"
            connected = Connected(engine, sleep, recovery_ports, health)
            self.starting = Starting.given(connected)
            self.take(connected)
        return self.starting.config

    def take(self, connected: Connected) -> None:
        self.engine, self.sleep = connected.engine, connected.sleep
        self.recovery_ports, self.health = connected.recovery_ports, connected.health
        self.engine.read_only = self.engine.read_only or self.read_only  # the core refuses; the app says so sooner
        self._connected = True

    def begin(self: Any) -> None:
        """Connected: listen to the registry and the engine, take the first snapshots, start the timer and drivers
        (on OpsConsoleApp: its messages, refresh and drivers)."""
        self._show_identity()
        if self.engine.registry.shared:  # every console hears every change as it commits (LISTEN/NOTIFY)
            from core.registry.pg.listen import Listener

            self._listener = Listener(self.engine.registry,  # shared: the PostgreSQL registry
                                      lambda change: self.post_message(self.RegistryChanged(change)),
                                      operator=self.engine.operator).start()
        # post_message is thread-safe and never blocks the engine's thread (call_from_thread would wait
        # for the loop, and hang a driver that emits while the app is shutting down).
        self._unsubscribe = self.engine.bus.subscribe(lambda event: self.post_message(self.EngineEventArrived(event)))
        self._timer = self.set_interval(self._period, self._beat)
        if self.health is not None:  # on its own beat: an idle console's slower refresh does not slow an alert
            self.set_interval(self.health.beat(self.environments), self._watch_health)
        self._show_refresh_state()
        self._show_selected()
        self.request_refresh()
        if not self.read_only:  # carry on what a previous console left running (the registry knows)
            for environment in self.environments:
                self.drive(environment)

    def connect_after_first_frame(self) -> None:
        if self.connected:
            self.begin()
        else:  # after the next refresh of the screen: the thread's imports never hold up the first frame
            self.call_after_refresh(self.starting.start, lambda connected: self.post_message(self.Ready(connected)),
                                    lambda error: self.post_message(self.Failed(error)))

    @on(Ready)
    def _ready_to_begin(self, message: Ready) -> None:
        self.take(message.connected)
        self.begin()

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.start_failure = message.error
        self.exit(return_code=int(message.error.outcome) if isinstance(message.error, OpsError) else 1)

    async def run_action(self, action: str | ActionParseResult, default_namespace: DOMNode | None = None,
                         namespaces: Any = None) -> bool:
        """Keys (and palette entries) that need the engine say so while connecting; the rest act at once."""
        if not self.connected and isinstance(action, str) and action in WAITS_FOR_ENGINE:
            self.notify(f"still connecting to {self.starting.where}: {WAITS_FOR_ENGINE[action]} is ready once the "
                        "cards fill in", severity="warning", markup=False)
            return True
        return await super().run_action(action, default_namespace, namespaces)
