"""SandboxCloud: the whole embedded cloud on loopback, seeded, switchable between scenarios, and persistent.

One object owns the state (Cloud Run services and revisions, custom metrics, Vercel projects, the
scenario history and the clock), the servers that speak the real wire APIs over it, a data-plane
endpoint per revision and service, and a small control API. With `state_file` every change is saved
atomically, so a console (or the sandbox itself) can be killed and restarted against the same cloud.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from core.errors import BadInput
from core.providers.profile import Endpoints
from sandbox.clock import SandboxClock
from sandbox.cloudrun_api import cloudrun_app
from sandbox.cloudrun_json import timestamp
from sandbox.cloudrun_model import Revision
from sandbox.cloudrun_state import CloudRunState
from sandbox.control import control_app
from sandbox.dashboards_api import DashboardStore, dashboards_app
from sandbox.faults import ApiFaults, SandboxFaults
from sandbox.loadtester import LoadTests, loadtester_app
from sandbox.monitoring_alerts import AlertStore
from sandbox.monitoring_api import CustomMetrics, MonitoringServer
from sandbox.monitoring_incidents import AlertEvaluator
from sandbox.monitoring_ingest import Ingestion
from sandbox.persistence import read_state, write_json_atomic
from sandbox.probe_log import ProbeLog
from sandbox.redis_api import redis_app
from sandbox.redis_state import RedisState, key_counts
from sandbox.remedies import ActiveFaults, active_faults, behaviour_at, fault_started_at
from sandbox.request_log import RequestLog
from sandbox.revision_server import RevisionHosts, Serving
from sandbox.scenario import RevisionBehaviour, Scenario, TrafficModel, scenario_names
from sandbox.secretmanager_api import SecretStore, secretmanager_app
from sandbox.seed import SeedSpec
from sandbox.serving import LoopThread, ServedApp
from sandbox.sinks import SinkStore, sinks_app
from sandbox.timeline import ScenarioTimeline
from sandbox.traffic import RevisionTraffic, TrafficSimulator
from sandbox.vercel_api import vercel_app
from sandbox.vercel_env import VercelEnvStore, add_env_routes
from sandbox.vercel_pages import WEBSOCKET_VARIABLE, Protection, vercel_pages_app
from sandbox.vercel_state import VercelState

STATE_VERSION = 1
SLACK_PATH = "/slack/services/T0SANDBOX/B0SANDBOX/sandbox-webhook"
_SEED_AGE_S = 86_400.0  # seeded revisions have served for a day, so dashboards have history at once


class SandboxCloud:
    """The embedded cloud. `start()` serves it; `endpoints` says where; `stop()` saves and shuts it down."""

    def __init__(self, seed: SeedSpec | None = None, scenario: str = "healthy", clock: SandboxClock | None = None,
                 state_file: str | Path | None = None, faults: SandboxFaults | None = None,
                 random_seed: int = 0, traffic: TrafficModel | None = None,
                 ingestion: Ingestion | None = None) -> None:
        self.seed = seed or SeedSpec()
        # Cloud Run's points in Monitoring (Google's: 60 s, drawn delays). Given: it replaces a saved one; else a
        # restored cloud keeps what it was started with, so a console starting it in-process serves the same.
        self.ingestion = ingestion or Ingestion(seed=random_seed)
        self._ingestion_given = ingestion is not None
        self._traffic_override = traffic  # replaces every scenario's traffic model (not saved; see timeline.py)
        self.clock = clock or SandboxClock()
        self.faults = faults or SandboxFaults()
        self.state_file = Path(state_file) if state_file else None
        self._random_seed = random_seed
        self._save_lock = threading.Lock()
        self._loop: LoopThread | None = None
        self._apps: dict[str, ServedApp] = {}
        self._monitoring: MonitoringServer | None = None
        self._hosts: RevisionHosts | None = None
        self.cloudrun_calls: Counter[str] = Counter()  # requests per Cloud Run RPC, for tests and benchmarks
        self.cloudrun_requests = RequestLog()  # every mutating Cloud Run call, for crash tests (not persisted)
        self.sinks = SinkStore(clock=self.clock.time)
        self.dashboards = DashboardStore()  # Cloud Monitoring dashboards (in memory; rebuilt by the next deployment)
        self.redis = RedisState(self.clock.time)  # Memorystore instances (recovery's storage remedies)
        self.vercel_env = VercelEnvStore()  # Vercel project env vars (recovery's region failover)
        self.vercel_protection = Protection()  # projects whose deployment URLs need a bypass secret (in memory)
        self.load_tests = LoadTests(self.clock.time)  # the load tester's hey runs, served by the traffic model
        self.probe_log = ProbeLog()  # the engine's probes its revisions answered, counted by Monitoring too
        self.alerts = AlertStore(self._projects, self.clock.time)  # Monitoring's alert policies and channels
        self.alert_evaluator = AlertEvaluator(self.alerts, self._answer, self.clock.time)  # their incidents
        saved = read_state(self.state_file) if self.state_file else None
        if saved is not None:
            self._restore(saved)
        else:
            self._fresh(scenario)
        self.cloudrun.listeners.append(self.save)
        self.custom_metrics.listeners.append(self.save)
        self.redis.listeners.append(self.save)
        self.load_tests.listeners.append(self.save)
        self.alerts.listeners.append(self.save)
        self.alert_evaluator.listeners.append(self.save)
        self.sinks.listeners.append(self.save)
        self.traffic = TrafficSimulator(self.cloudrun, self.timeline, seed=random_seed, load=self.load_tests,
                                        effects=self._effects)

    # -- state -------------------------------------------------------------------------------------

    def _fresh(self, scenario: str) -> None:
        now = self.clock.time()
        self.timeline = ScenarioTimeline(scenario, now - _SEED_AGE_S, traffic=self._traffic_override)
        self.cloudrun = CloudRunState(self.clock.time, self._new_revision_behaviour, seed=self._random_seed)
        self.custom_metrics = CustomMetrics()
        self.vercel = VercelState(clock=self.clock.time)
        self.vercel.env_source = self.vercel_env.variables
        self._seed_missing()

    def _seed_missing(self) -> None:
        created = self.clock.time() - _SEED_AGE_S
        for name, env in self.seed.environments.items():
            full = f"projects/{env.project}/locations/{env.region}/services/{env.service}"
            if full not in self.cloudrun.services:
                self.cloudrun.seed_service(env.project, env.region, env.service, env.stable_image, created,
                                           env.container_env(name))
            if env.websocket_url:
                self.vercel_env.seed(env.vercel_project, WEBSOCKET_VARIABLE, env.websocket_url)
        self.vercel.seed([env.vercel_project for env in self.seed.environments.values()])
        for env in self.seed.environments.values():
            self.redis.seed(env.project, env.region)

    def _restore(self, saved: dict[str, Any]) -> None:
        if saved.get("version") != STATE_VERSION:
            raise BadInput(f"Sandbox state file {self.state_file} has version {saved.get('version')!r}, "
                           f"expected {STATE_VERSION}; remove it to start afresh.")
        try:
            self.clock.advance_to(float(saved["clock"]))  # sandbox time never runs backwards
            self.timeline = ScenarioTimeline.from_dict(saved["scenarios"], traffic=self._traffic_override,
                                                       strikes=saved.get("strikes"))
            self.cloudrun = CloudRunState(self.clock.time, self._new_revision_behaviour, seed=self._random_seed)
            self.cloudrun.load(saved["cloudrun"])
            self.custom_metrics = CustomMetrics()
            self.custom_metrics.load(saved["custom_metrics"])
            self.vercel = VercelState.from_dict(saved["vercel"], clock=self.clock.time)
            self.vercel.env_source = self.vercel_env.variables
            self.faults.cloudrun = ApiFaults.from_dict(saved["faults"]["cloudrun"])
            self.faults.monitoring = ApiFaults.from_dict(saved["faults"]["monitoring"])
            self.redis.load(saved.get("redis"))
            self.vercel_env.load(saved.get("vercel_env"))
            self.load_tests.load(saved.get("load_tests"))
            alerting = saved.get("monitoring_alerts") or {}
            self.alerts.load(alerting.get("store"))
            self.alert_evaluator.load(alerting.get("incidents"))
            self.sinks.load(saved.get("sinks"))
            if not self._ingestion_given and "monitoring_ingestion" in saved:
                self.ingestion = Ingestion.from_dict(saved["monitoring_ingestion"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"Sandbox state file {self.state_file} is damaged ({exc!r}); "
                           "remove it to start afresh.") from None
        self._seed_missing()

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "clock": self.clock.time(),
            "scenarios": self.timeline.to_dict(),
            "strikes": self.timeline.strikes(),
            "cloudrun": self.cloudrun.to_dict(),
            "custom_metrics": self.custom_metrics.to_dict(),
            "vercel": self.vercel.to_dict(),
            "faults": self.faults.to_dict(),
            "redis": self.redis.to_dict(),
            "vercel_env": self.vercel_env.to_dict(),
            "load_tests": self.load_tests.to_dict(),
            "monitoring_alerts": {"store": self.alerts.to_dict(), "incidents": self.alert_evaluator.to_dict()},
            "sinks": self.sinks.to_dict(),
            "monitoring_ingestion": self.ingestion.to_dict(),
            "endpoints": self.endpoints.to_dict() if self._monitoring else None,
        }

    def save(self) -> None:
        """Write the state file now (a no-op without one); called after every change."""
        if self.state_file is None:
            return
        with self._save_lock:
            write_json_atomic(self.state_file, self.to_dict())

    @staticmethod
    def saved_endpoints(state_file: str | Path) -> Endpoints | None:
        """Where a running standalone sandbox serves, as it wrote into its state file."""
        saved = read_state(Path(state_file))
        if not saved or not saved.get("endpoints"):
            return None
        return Endpoints.from_dict(saved["endpoints"])

    # -- scenarios and data plane ------------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        return self.timeline.current

    def set_scenario(self, name: str, *, strike_serving: bool = False) -> Scenario:
        """Switch scenario now: new revisions and environment-wide faults follow it from this moment.

        `strike_serving` also gives the newest revision serving each service now (the canary during a rollout,
        the only revision otherwise) the scenario's new-revision behaviour, until the next switch.
        """
        struck = self.serving_now() if strike_serving else frozenset()
        scenario = self.timeline.switch(name, self.clock.time(), struck)
        self.save()
        return scenario

    def serving_now(self) -> frozenset[str]:
        """Per service, the newest revision that takes traffic now (full names)."""
        struck: set[str] = set()
        for svc in list(self.cloudrun.services.values()):
            history = self.cloudrun.history(svc.full_name)  # settles rollouts up to now first
            split = history[-1][1] if history else {}
            serving = [self.cloudrun.revisions.get(f"{svc.full_name}/revisions/{r}")
                       for r, percent in split.items() if percent > 0]
            newest = max((r for r in serving if r is not None), key=lambda r: (r.created_at, r.name), default=None)
            if newest is not None:
                struck.add(newest.full_name)
        return frozenset(struck)

    def struck(self) -> list[str]:
        """The revisions the scenario in effect now strikes (`--now`), full names."""
        return sorted(self.timeline.struck_at(self.clock.time()))

    def _effects(self, rev: Revision, t: float) -> tuple[RevisionBehaviour, ActiveFaults]:
        return behaviour_at(self, rev, t), active_faults(self, rev, t)

    @staticmethod
    def scenario_names() -> list[str]:
        return scenario_names()

    def _new_revision_behaviour(self) -> RevisionBehaviour:
        return self.timeline.current.new_revision

    def serving(self, revision_full: str) -> Serving:
        rev = self.cloudrun.revision(revision_full)
        now = self.clock.time()
        env = active_faults(self, rev, now)  # the scenario's faults minus those a remedy cleared (remedies.py)
        behaviour = behaviour_at(self, rev, now)  # a `--now` switch strikes revisions that already serve
        svc = self.cloudrun.services.get(rev.service)
        instances = self.redis.for_project(svc.project) if svc is not None else []
        return Serving(revision=rev.name, phase=rev.phase(now), unreachable=env.unreachable,
                       redis_down=env.redis_down, firebase_down=env.firebase_down, calendar_down=env.calendar_down,
                       redis_keys=key_counts(instances[0].keyspace) if instances else {},
                       fault_since=timestamp(fault_started_at(self, now)), instances_zero=env.instances_zero,
                       error_rate_5xx=min(1.0, behaviour.error_rate_5xx + env.extra_5xx_rate),
                       latency_lognormal=behaviour.lognormal)

    def pick_revision(self, service_full: str, draw: float) -> str | None:
        split = self.cloudrun.service(service_full).split_now()
        acc = 0.0
        for revision, percent in sorted(split.items()):
            acc += percent / 100.0
            if draw < acc:
                return f"{service_full}/revisions/{revision}"
        return None

    def revision_window(self, project: str, location: str, service: str, start: float,
                        end: float) -> dict[str, RevisionTraffic]:
        """What each revision of a service served in [start, end), the engine's probes included (probe_log.py);
        location "" means every region."""
        out: dict[str, RevisionTraffic] = {}
        for svc in list(self.cloudrun.services.values()):
            if svc.project == project and svc.name == service and location in ("", svc.location):
                for source in (self.traffic.window(svc.full_name, start, end),
                               self.probe_log.window(svc.full_name, start, end)):
                    for revision, served in source.items():
                        out.setdefault(revision, RevisionTraffic()).merge(served)
        return out

    def record_probe(self, revision_full: str, status: int, latency_ms: float) -> None:
        self.probe_log.add(revision_full, self.clock.time(), status, latency_ms)

    def _answer(self, project: str, request: Any) -> list[Any]:
        """ListTimeSeries in-process, for the alert evaluator (nothing to answer before the sandbox serves)."""
        from sandbox.cloudrun_model import ApiError

        if self._monitoring is None:
            return []
        try:
            return self._monitoring.answer(project, request)
        except ApiError as exc:
            # A metric nobody writes (Redis's, here) is a condition without data: Monitoring keeps evaluating the
            # policy and it does not fire; it never stops the evaluation of the others.
            if exc.status == "NOT_FOUND":
                return []
            raise

    def _run_services(self, project: str) -> list[tuple[str, str]]:
        """The Cloud Run services of a project as (location, name), for Monitoring's resource labels."""
        return sorted({(svc.location, svc.name) for svc in list(self.cloudrun.services.values())
                       if svc.project == project})

    def _projects(self) -> set[str]:
        return {env.project for env in self.seed.environments.values()} | \
            {svc.project for svc in self.cloudrun.services.values()}

    # -- serving -----------------------------------------------------------------------------------

    def start(self) -> SandboxCloud:
        if self._loop is not None:
            return self
        self._loop = loop = LoopThread(name="sandbox-cloud")
        self._hosts = hosts = RevisionHosts(self, seed=self._random_seed)
        vercel = vercel_app(self.vercel)
        vercel.middlewares.append(self._save_after_write)
        add_env_routes(vercel, self.vercel_env)
        self._apps = {
            "cloudrun": ServedApp(loop, cloudrun_app(self.cloudrun, hosts, self.faults, self.cloudrun_calls,
                                                     self.cloudrun_requests)),
            "vercel": ServedApp(loop, vercel),
            "vercel_pages": ServedApp(loop, vercel_pages_app(self.vercel, self.vercel_protection)),
            "sinks": ServedApp(loop, sinks_app(self.sinks)),
            "control": ServedApp(loop, control_app(self)),
            "redis": ServedApp(loop, redis_app(self.redis)),
            "dashboards": ServedApp(loop, dashboards_app(self.dashboards)),
            "loadtester": ServedApp(loop, loadtester_app(self.load_tests, self._serving_target)),
        }
        # Secret values are fresh per start and kept in memory only, never in the state file.
        self.secret_store = SecretStore.seeded(self._projects(), slack_base=self._apps["sinks"].url)
        self._apps["secretmanager"] = ServedApp(loop, secretmanager_app(self.secret_store))
        self._monitoring = MonitoringServer(self.revision_window, self._projects, self.custom_metrics, self.faults,
                                            services=self._run_services, now=self.clock.time, alerts=self.alerts,
                                            ingestion=lambda: self.ingestion)
        self._monitoring.start()
        self.alert_evaluator.slack_url = self.endpoints.slack_url
        self.alert_evaluator.pagerduty_url = self.endpoints.pagerduty_url
        self.alert_evaluator.start()
        loop.call(self._serve_revisions())
        self.save()
        return self

    async def _serve_revisions(self) -> None:
        assert self._hosts is not None
        for svc in list(self.cloudrun.services.values()):
            await self._hosts.ensure_service(svc.full_name)
        for rev in list(self.cloudrun.revisions.values()):
            await self._hosts.ensure_revision(rev.full_name)

    @web.middleware
    async def _save_after_write(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if request.method != "GET":
            self.save()
        return response

    @property
    def endpoints(self) -> Endpoints:
        if self._loop is None or self._monitoring is None:
            raise BadInput("The sandbox cloud is not started; call start() first.")
        sinks = self._apps["sinks"].url
        return Endpoints(cloudrun_url=self._apps["cloudrun"].url, monitoring_target=self._monitoring.target,
                         vercel_url=self._apps["vercel"].url, slack_url=sinks + SLACK_PATH, pagerduty_url=sinks,
                         credentials="anonymous", control_url=self._apps["control"].url,
                         redis_url=self._apps["redis"].url, secretmanager_url=self._apps["secretmanager"].url,
                         dashboards_url=self._apps["dashboards"].url, loadtester_url=self._apps["loadtester"].url,
                         vercel_pages_url=self._apps["vercel_pages"].url)

    @property
    def monitoring_calls(self) -> Counter[str]:
        """Requests per Monitoring RPC since start, for tests and benchmarks."""
        return self._monitoring.calls if self._monitoring else Counter()

    def revision_url(self, revision_full: str) -> str:
        return self._hosts.revision_url(revision_full) if self._hosts else ""

    def service_url(self, service_full: str) -> str:
        return self._hosts.service_url(service_full) if self._hosts else ""

    def _serving_target(self, netloc: str) -> str | None:
        """The revision or service whose URL has this host:port (what a load test's URL hits), or None."""
        if self._hosts is None:
            return None
        with self.cloudrun.lock:
            names = [*self.cloudrun.revisions, *self.cloudrun.services]
        for name in names:
            url = self._hosts.service_url(name) if "/revisions/" not in name else self._hosts.revision_url(name)
            if url and urlsplit(url).netloc == netloc:
                return name
        return None

    def stop(self) -> None:
        if self._loop is None:
            return
        self.alert_evaluator.stop()
        if self._monitoring is not None:
            self._monitoring.stop()
        for app in self._apps.values():
            app.stop()
        if self._hosts is not None:
            self._loop.call(self._hosts.close())
        self._loop.stop()
        self._loop, self._monitoring, self._hosts, self._apps = None, None, None, {}
        self.save()  # without endpoints: a stopped sandbox is not found through its state file

    def __enter__(self) -> SandboxCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
