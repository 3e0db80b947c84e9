"""Watching health the one way every surface does: observe, record a change, tell people about what was recorded.

`opsconsole status` and `watch` call `check` each time; the console's refresh calls `due`, which observes an
environment at most once per its `[environments.X.health] interval_s` (probes and a Monitoring query cost the
service and this machine something; a refresh every second must not multiply them) and otherwise answers the
last observation. A console records (and so announces) a change only where its access gate lets it change the
environment: a read-only console or an operator outside the allow-list shows health and tells nobody.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from core.access import AccessGate
from core.config import ConsoleConfig
from core.errors import OpsError
from core.health.alerts import announce_health, resolve_rollback_pages
from core.health.observe import observe_health
from core.health.record import record_health
from core.model.health import Health, HealthAlert, alert_for
from core.ports import Ports
from core.registry.protocol import Registry


@dataclass(frozen=True)
class Checked:
    """One observation: `previous` is the state it replaced when this console recorded a change (else None),
    `alert` what was sent about it, `failures` the channels that did not take it."""

    health: Health
    previous: str | None = None
    alert: HealthAlert | None = None
    sent: tuple[str, ...] = ()
    failures: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return self.previous is not None


class HealthMonitor:
    """Observes, records and announces the health of a configuration's environments (thread-safe)."""

    def __init__(self, config: ConsoleConfig, registry: Registry, ports: Ports, http: httpx.Client, gate: AccessGate,
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.registry = registry
        self.ports = ports
        self.http = http
        self.gate = gate
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[str, Checked] = {}
        self._taken: dict[str, float] = {}
        self._busy: set[str] = set()

    def check(self, name: str) -> Checked:
        """Observe `name` now; record a change where this console may; announce what it recorded."""
        env = self.config.environment(name)
        alerts = self.ports.alert_policies(name) if self.ports.alert_policies is not None else None
        health = observe_health(env, self.ports.cloudrun(name), self.ports.metrics(name), self.http, self.ports.now,
                                alerts)
        checked = Checked(health)
        if self.gate.refusal(name, "record the health of") is None:
            try:
                previous = record_health(self.registry, health)
            except OpsError as exc:  # the registry is down: health is still shown, and recorded on a later round
                previous, checked = None, Checked(health, failures=(f"registry: {exc}",))
            if previous is not None:
                alert = alert_for(previous, health, env.health.page_at)
                sent, failures = announce_health(self.ports.notifiers, alert, health) if alert else ([], [])
                if alert is not None and health.state == "ok":  # a recovery: the rollbacks' pages end with it
                    more, failed = self._resolve_rollback_pages(health)
                    sent, failures = [*sent, *more], [*failures, *failed]
                checked = Checked(health, previous, alert, tuple(sent), tuple(failures))
        with self._lock:
            self._latest[name] = checked
            self._taken[name] = self._clock()
        return checked

    def _resolve_rollback_pages(self, health: Health) -> tuple[list[str], list[str]]:
        try:
            return resolve_rollback_pages(self.registry, self.ports.notifiers, health)
        except OpsError as exc:  # the registry is down: the pages stay open, a later release or recovery ends them
            return [], [f"registry: {exc}"]

    def beat(self, names: list[str]) -> float:
        """How often a watcher should ask `due`: the shortest interval among `names`."""
        return min(self.config.environment(name).health.interval_s for name in names)

    def due(self, name: str) -> Checked | None:
        """A fresh observation when `name`'s interval has passed since the last one, else the last one (None
        before the first); while another thread observes it, the last one too (never two probes at once)."""
        interval = self.config.environment(name).health.interval_s
        with self._lock:
            taken = self._taken.get(name)
            fresh = taken is not None and self._clock() - taken < interval
            if fresh or name in self._busy:
                return self._latest.get(name)
            self._busy.add(name)
        try:
            return self.check(name)
        finally:
            with self._lock:
                self._busy.discard(name)

    def latest(self, name: str) -> Checked | None:
        with self._lock:
            return self._latest.get(name)
