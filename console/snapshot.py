"""One refresh of one environment for the console: what is live, what the registry says, the deployment in view.

Taken in a worker thread (it calls providers and reads the registry) and handed to the screen whole,
so the widgets never block and never see half an update. The canary charts' metrics come from the
metrics provider by Monitoring's aligned windows (`MetricHistory`): a window whose data has settled (the
provider's delay bound has passed since it ended: at once in a fast sandbox, 180 s on Google) never changes,
so it is read once and kept; one read before that is read once more after the bound. A refresh reads what it
lacks in one go (three grouped queries, the first filling all twenty windows), and in the minutes after that
only the newest window and the one that has just settled.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import OpsError
from core.live import LiveEnvironment, observe_environment
from core.model.deployment import Deployment, EnvironmentState, StepEvent
from core.model.health import Health
from core.model.rollout import Rollout
from widgets.metric_series import MetricSeries, RevisionSeries, WindowPoint

if TYPE_CHECKING:  # loaded by the refresh's thread, after the first frame (console/startup.py)
    from core.engine import Engine
    from core.health.monitor import Checked, HealthMonitor
    from core.model.metrics import RevisionMetrics

CHART_WINDOW_S = 60  # Cloud Monitoring's finest alignment: a canary step of a few minutes still shows a trend
CHART_WINDOWS = 20
METRICS_RETRY_S = 30.0  # a failed read may have taken the client's whole retry deadline: don't stall every refresh


@dataclass(frozen=True)
class EnvironmentSnapshot:
    """`deployment` is the active one, else the last finished one; `error` a registry failure, in one sentence.

    `infrastructure` is the last infrastructure apply this console recorded (git_commit, plan_hash,
    state_serial, applied_at, actor), None when it never applied one.
    """

    name: str
    live: LiveEnvironment
    state: EnvironmentState
    deployment: Deployment | None
    rollout: Rollout | None
    events: tuple[StepEvent, ...]
    now: datetime
    error: str | None = None
    metrics: MetricSeries | None = None
    infrastructure: dict[str, Any] | None = field(default=None)
    health: Checked | None = None  # the last observation of live health (None: not watched, or not yet)
    incident: dict[str, Any] | None = None  # the environment's open incident, if any

    @property
    def health_now(self) -> Health | None:
        return self.health.health if self.health is not None else None

    @property
    def active(self) -> Deployment | None:
        return self.deployment if self.deployment is not None and not self.deployment.is_terminal else None


def rollout_of(deployment: Deployment | None) -> Rollout | None:
    """The rollout status, for deployments the engine ran (a component rollback has none)."""
    if deployment is None or "rollout" not in deployment.metadata:
        return None
    return Rollout.of(deployment)


class MetricHistory:
    """Per-revision metrics of past windows, per environment and service, read once each and kept."""

    def __init__(self, *, window_s: int = CHART_WINDOW_S, windows: int = CHART_WINDOWS,
                 retry_after_s: float = METRICS_RETRY_S) -> None:
        self.window_s = window_s
        self.windows = windows
        self.retry_after_s = retry_after_s
        self._windows: dict[tuple[str, str], dict[datetime, dict[str, RevisionMetrics]]] = {}
        self._failed: dict[tuple[str, str], tuple[float, str]] = {}  # (monotonic time, error) of the last failure
        self._unsettled: dict[tuple[str, str], dict[datetime, datetime]] = {}  # windows read before they settled
        self._lock = threading.Lock()  # a refresh and a benchmark may read at once; the dict is not theirs to race
        self.reads = 0  # provider calls made, for tests and the benchmark

    def span(self, now: datetime) -> list[datetime]:
        """Ends of the windows to chart, newest first, aligned to the window length as Monitoring aligns."""
        epoch = int(now.timestamp()) // self.window_s * self.window_s
        newest = datetime.fromtimestamp(epoch, UTC)
        return [newest - timedelta(seconds=k * self.window_s) for k in range(self.windows)]

    def series(self, engine: Engine, env: str, service: str, now: datetime, canary: str | None,
               stable: str | None, limits: tuple[float, float]) -> MetricSeries:
        """Read every window of the span not yet kept, and those read before they settled once they have (one
        grouped query per metric for all of them: Monitoring answers a point per aligned window), then build the
        series."""
        ends = self.span(now)
        key = (env, service)
        provider = engine.ports.metrics(env)
        bound = timedelta(seconds=provider.timing().settle_bound_s)
        with self._lock:
            kept = self._windows.setdefault(key, {})
            early = self._unsettled.setdefault(key, {})
            for end in [e for e in kept if e < ends[-1]]:  # out of the span: never drawn again
                del kept[end]
                early.pop(end, None)
            wanted = [e for e in ends if e not in kept or (e in early and now >= e + bound)]
            failed = self._failed.get(key)
        error = None
        if failed is not None and time.monotonic() < failed[0] + self.retry_after_s:
            error = failed[1]
        elif wanted:
            first, last = min(wanted), max(wanted)
            try:
                read = provider.window_metrics(service, first - timedelta(seconds=self.window_s), last,
                                               self.window_s)
            except OpsError as exc:
                error = str(exc)
                with self._lock:
                    self._failed[key] = (time.monotonic(), error)
            else:
                with self._lock:
                    self.reads += 1
                    for end in (e for e in ends if first <= e <= last):  # a window nothing was served in: {}
                        kept[end] = read.get(end, {})
                        if now >= end + bound:
                            early.pop(end, None)
                        else:
                            early[end] = now
                    self._failed.pop(key, None)
        with self._lock:
            shown = sorted(e for e in kept if e >= ends[-1])
            windows = [kept[e] for e in shown]

        def revision(name: str | None) -> RevisionSeries | None:
            if not name:
                return None
            return RevisionSeries(name, tuple(self._point(w.get(name)) for w in windows))

        return MetricSeries(self.window_s, self.windows, tuple(shown), revision(stable), revision(canary),
                            max_5xx_rate=limits[0], max_p99_ms=limits[1], error=error)

    def _point(self, metrics: RevisionMetrics | None) -> WindowPoint | None:
        if metrics is None or not metrics.total:
            return None
        return WindowPoint(metrics.total, metrics.errors_5xx, metrics.p50_ms, metrics.p99_ms, float(self.window_s))


_HISTORIES: weakref.WeakKeyDictionary[Engine, MetricHistory] = weakref.WeakKeyDictionary()


def history_of(engine: Engine) -> MetricHistory:
    """The engine's metric history: one per console, kept as long as its engine."""
    return _HISTORIES.setdefault(engine, MetricHistory())


def _revisions(live: LiveEnvironment, rollout: Rollout | None) -> tuple[str | None, str | None]:
    """(canary, stable): the rollout's revisions when it has a new one, else the revision serving most traffic."""
    if rollout is not None and rollout.new_revision and rollout.stable_revision:
        return rollout.new_revision, rollout.stable_revision
    serving = live.serving
    return None, serving.name if serving is not None and serving.percent else None


def _metrics(engine: Engine, name: str, live: LiveEnvironment, rollout: Rollout | None, now: datetime,
             history: MetricHistory) -> MetricSeries:
    criteria = rollout.plan.criteria if rollout is not None else engine.environment(name).strategy.criteria
    canary, stable = _revisions(live, rollout)
    service = rollout.service if rollout is not None and rollout.service else live.service
    return history.series(engine, name, service, now, canary, stable,
                          (criteria.max_5xx_rate, criteria.max_p99_latency_ms))


def take_snapshots(engine: Engine, names: Iterable[str], health: HealthMonitor | None = None
                   ) -> dict[str, EnvironmentSnapshot]:
    """One refresh of every environment: the incidents table is read once for all of them."""
    from core.recovery.incident import IncidentStore

    try:
        incidents: Mapping[str, dict[str, Any]] | None = IncidentStore(engine.registry).open_by_environment()
    except OpsError:
        incidents = None  # each snapshot then reads (and reports) the registry's failure itself
    return {name: take_snapshot(engine, name, health=health, open_incidents=incidents) for name in names}


def take_snapshot(engine: Engine, name: str, history: MetricHistory | None = None,
                  health: HealthMonitor | None = None,
                  open_incidents: Mapping[str, dict[str, Any]] | None = None) -> EnvironmentSnapshot:
    """Ask the providers (each failure kept as that component's error) and the registry about one environment;
    with a health monitor, live health too (observed when its interval has passed, else the last observation).
    `open_incidents` (by environment) spares a read of the incidents table when the caller made it."""
    from core.recovery.incident import IncidentStore

    ports = engine.ports
    checked = health.due(name) if health is not None else None
    live = observe_environment(engine.environment(name), ports.cloudrun(name), ports.frontend)
    now = ports.now()
    history = history if history is not None else history_of(engine)
    try:
        state = engine.registry.get_environment_state(name)
        deployment = state.active[0] if state.active else state.last
        events = tuple(engine.registry.events(deployment.id)) if deployment else ()
        infrastructure = engine.registry.get_record("infrastructure", name)
        incidents = IncidentStore(engine.registry).open_by_environment() if open_incidents is None else open_incidents
        incident = incidents.get(name)
    except OpsError as exc:
        return EnvironmentSnapshot(name, live, EnvironmentState(name=name), None, None, (), now, error=str(exc),
                                   metrics=_metrics(engine, name, live, None, now, history), health=checked)
    rollout = rollout_of(deployment)
    return EnvironmentSnapshot(name, live, state, deployment, rollout, events, now,
                               metrics=_metrics(engine, name, live, rollout, now, history),
                               infrastructure=infrastructure, health=checked,
                               incident=incident)
