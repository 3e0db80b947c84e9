"""The composition root: the one place that turns a profile into providers for the engine and the screens.

`sandbox` (the default) attaches to a running standalone sandbox if its state file names one that
answers, and otherwise starts the sandbox in this process on the same state file (holding a lock on
it, so a second console attaches to this one instead of forking the cloud). `gcp` uses Google's and
Vercel's real endpoints with Application Default Credentials and the configured token. Nothing else
differs between the two.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock
import platformdirs

from core.errors import BadInput, OperationFailed
from core.providers.profile import GCP_ENDPOINTS, Endpoints, GoogleClients, google_clients
from sandbox.clock import SandboxClock

# Each provider (and with it its Google client library, gRPC or aiohttp) is imported by the method that
# builds it: a command that only reads the registry, or lists the sandbox, loads none of them.
if TYPE_CHECKING:
    import httpx
    from google.cloud.monitoring_dashboard_v1 import DashboardsServiceClient
    from google.cloud.monitoring_v3 import AlertPolicyServiceClient

    from core.access import AccessGate
    from core.config import ConsoleConfig, EnvironmentConfig
    from core.engine import Ports
    from core.infra import InfrastructureService
    from core.model.metrics import MetricsTiming
    from core.providers.alert_policies import AlertPoliciesAdapter
    from core.providers.cloudrun import CloudRunAdapter
    from core.providers.dashboards import DashboardsAdapter
    from core.providers.loadtest import FlaggerLoadTester
    from core.providers.memorystore import MemorystoreAdapter
    from core.providers.monitoring import MonitoringAdapter
    from core.providers.notify import Notifier
    from core.providers.probes import HttpProber
    from core.providers.secrets import SecretResolver
    from core.providers.vercel import VercelAdapter
    from core.recovery.context import RecoveryPorts
    from core.registry import Registry
    from sandbox.cloud import SandboxCloud
    from sandbox.seed import SeedSpec

SANDBOX_TOKEN = "sandbox-token"  # the sandbox's Vercel accepts any bearer token; this is not a secret
SANDBOX_ROUTING_KEY = "sandbox0routing0key0000000000000"  # 32 characters, like PagerDuty's; not a secret


def default_sandbox_state() -> Path:
    return Path(platformdirs.user_data_dir("opsconsole")) / "sandbox.json"


def sandbox_state_file(environ: Mapping[str, str]) -> Path:
    """OPSCONSOLE_SANDBOX names the sandbox's state file; by default it sits beside the registry."""
    return Path(environ["OPSCONSOLE_SANDBOX"]) if environ.get("OPSCONSOLE_SANDBOX") else default_sandbox_state()


def seed_from_config(config: ConsoleConfig) -> SeedSpec:
    """The sandbox is seeded with the configured projects, regions, services and Vercel projects."""
    from sandbox.seed import EnvSeed, SeedSpec

    return SeedSpec(
        environments={
            name: EnvSeed(
                project=env.infrastructure.gcp_project,
                vercel_project=env.application.frontend_project,
                websocket_url=env.application.websocket_url,
                region=env.infrastructure.region,
                service=env.infrastructure.service_name,
            )
            for name, env in config.environments.items()
        }
    )


def running_sandbox(state_file: Path) -> tuple[Endpoints, dict[str, Any]] | None:
    """The endpoints and status of a sandbox that serves from `state_file` now, or None."""
    from sandbox.cloud import SandboxCloud
    from sandbox.control import fetch_status

    saved = SandboxCloud.saved_endpoints(state_file) if state_file.exists() else None
    if saved is None or not saved.control_url:
        return None
    try:
        return saved, fetch_status(saved.control_url)
    except OperationFailed:
        return None  # the process that wrote it is gone (killed, or stopped without cleaning up)


@dataclass
class Wiring:
    """Providers for one console process. `now` is the clock metric windows are measured on.

    Each kind of adapter is built once and kept in its own typed cache, so every caller of
    `cloudrun(env)` talks through the same client (and the same retry policy) for the process's life.
    """

    config: ConsoleConfig
    endpoints: Endpoints
    clients: GoogleClients
    http: httpx.Client
    now: Callable[[], datetime]
    vercel_token: str
    sandbox: SandboxCloud | None = None
    clock_speed: float = 1.0
    clock: SandboxClock | None = None
    clock_is_the_sandboxes: bool = False  # in-process sandbox: `clock` is the cloud's clock, not a mirror
    metrics_timing: MetricsTiming | None = None  # the sandbox's Monitoring points and delay; None: Google's
    environ: Mapping[str, str] = field(default_factory=dict)
    _lock: filelock.BaseFileLock | None = None
    _cloudrun: dict[tuple[str, str], CloudRunAdapter] = field(default_factory=dict)  # (environment, region)
    _metrics: dict[str, MonitoringAdapter] = field(default_factory=dict)
    _frontend: VercelAdapter | None = None
    _dashboards_client: DashboardsServiceClient | None = None  # one REST client for every project
    _dashboards: dict[str, DashboardsAdapter] = field(default_factory=dict)
    _alert_client: AlertPolicyServiceClient | None = None
    _alerts: dict[str, AlertPoliciesAdapter] = field(default_factory=dict)
    _redis: MemorystoreAdapter | None = None
    _web: httpx.Client | None = None
    _resolver: SecretResolver | None = None

    def environment(self, name: str) -> EnvironmentConfig:
        return self.config.environment(name)

    def cloudrun(self, env: str) -> CloudRunAdapter:
        return self.cloudrun_in(env, self.environment(env).infrastructure.region)

    def cloudrun_in(self, env: str, region: str) -> CloudRunAdapter:
        """Cloud Run of an environment's project in any region (recovery fails over to another one)."""
        if (env, region) not in self._cloudrun:
            from core.providers.cloudrun import CloudRunAdapter

            project = self.environment(env).infrastructure.gcp_project
            self._cloudrun[(env, region)] = CloudRunAdapter(self.clients.services, self.clients.revisions,
                                                            project, region)
        return self._cloudrun[(env, region)]

    def metrics(self, env: str) -> MonitoringAdapter:
        if env not in self._metrics:
            from core.providers.monitoring import MonitoringAdapter

            infra = self.environment(env).infrastructure
            timing = {"timing": self.metrics_timing} if self.metrics_timing is not None else {}
            self._metrics[env] = MonitoringAdapter(self.clients.metrics, infra.gcp_project, region=infra.region,
                                                   now=self.now, **timing)
        return self._metrics[env]

    def frontend(self) -> VercelAdapter:
        if self._frontend is None:
            from core.providers.vercel import VercelAdapter

            token = self._sandbox_secret("vercel_token", self.vercel_token) if self.config.profile == "sandbox" \
                else self.vercel_token
            # Waiting on a build or on aliasing takes cloud time: the sandbox's clock when it has one (a frozen one
            # is advanced), the wall clock otherwise.
            self._frontend = VercelAdapter(self.http, token, base_url=self.endpoints.vercel_url,
                                           clock=lambda: self.now().timestamp(), sleep=self.sleep)
        return self._frontend

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of cloud time: real time scaled by the sandbox clock's speed; a frozen clock is advanced."""
        speed = self.clock_speed
        if speed == 0:
            if self.clock is not None and self.clock_is_the_sandboxes:
                self.clock.advance(seconds)  # the sandbox runs in this process: its own clock, advanced once
            elif self.endpoints.control_url:
                from sandbox.control import advance_clock

                advance_clock(self.endpoints.control_url, seconds)
                self._mirror_advance(seconds)
            return
        time.sleep(seconds / speed)

    def _mirror_advance(self, seconds: float) -> None:
        if isinstance(self.clock, SandboxClock):
            self.clock.advance(seconds)

    def secret(self, ref: str) -> str:
        """A secret's value, resolved now (env: from the environment, sm:// from this profile's Secret Manager)."""
        if self._resolver is None:
            from core.providers.secrets import SecretResolver

            self._resolver = SecretResolver(self.environ, self.endpoints)
        return self._resolver.resolve(ref)

    def _sandbox_secret(self, name: str, fallback: str) -> str:
        """In the sandbox only sm:// references are resolved (the sandbox serves them); an env: reference may
        hold the operator's real webhook or token, which the sandbox must never send to, so the sink is used."""
        from core.config import SecretManagerRef, parse_secret_ref

        ref = self.config.environment("production").secrets.get(name)
        if ref is not None and isinstance(parse_secret_ref(ref), SecretManagerRef):
            return self.secret(ref)
        return fallback

    def notifiers(self) -> list[Notifier]:
        """Slack and PagerDuty: the sandbox's sinks, or the webhook and routing key the gcp config references."""
        from core.providers.notify import PagerDutyNotifier, SlackNotifier

        if self.config.profile == "sandbox":
            return [SlackNotifier(self._sandbox_secret("slack_webhook", self.endpoints.slack_url), client=self.http),
                    PagerDutyNotifier(self.endpoints.pagerduty_url,
                                      self._sandbox_secret("pagerduty_routing_key", SANDBOX_ROUTING_KEY),
                                      client=self.http)]
        secrets = self.config.environment("production").secrets
        found: list[Notifier] = []
        if "slack_webhook" in secrets:
            found.append(SlackNotifier(self.secret(secrets["slack_webhook"]), client=self.http))
        if "pagerduty_routing_key" in secrets:
            found.append(PagerDutyNotifier(self.endpoints.pagerduty_url, self.secret(secrets["pagerduty_routing_key"]),
                                           client=self.http))
        return found

    def dashboards(self, env: str) -> DashboardsAdapter:
        """The environment's Cloud Monitoring dashboard, in its project; one REST client for all of them."""
        if env not in self._dashboards:
            from core.providers.dashboards import DashboardsAdapter, dashboards_client

            if self._dashboards_client is None:
                self._dashboards_client = dashboards_client(self.endpoints)
            self._dashboards[env] = DashboardsAdapter(self._dashboards_client,
                                                      self.environment(env).infrastructure.gcp_project)
        return self._dashboards[env]

    def alert_policies(self, env: str) -> AlertPoliciesAdapter:
        """The environment's alert policies (in its project) and whether they fire, on the Monitoring endpoint."""
        if env not in self._alerts:
            from core.providers.alert_policies import AlertPoliciesAdapter, alert_policy_client

            if self._alert_client is None:
                self._alert_client = alert_policy_client(self.endpoints.monitoring_target,
                                                         anonymous=self.endpoints.credentials == "anonymous")
            self._alerts[env] = AlertPoliciesAdapter(self._alert_client, self.clients.metrics,
                                                     self.environment(env).infrastructure.gcp_project, now=self.now)
        return self._alerts[env]

    def loadtester(self, env: str) -> FlaggerLoadTester | None:
        """The load tester an environment's canary asks for synthetic load (strategy.load_test), or None."""
        from core.strategies import load_test_of

        test = load_test_of(self.environment(env).strategy)
        if test is None:
            return None
        url = test.url or self.endpoints.loadtester_url
        if not url:
            raise BadInput(f"{env}'s canary asks for synthetic load but names no load tester "
                           f"(set strategy.load_test.url in the {env} environment's configuration)")
        from core.providers.loadtest import FlaggerLoadTester

        return FlaggerLoadTester(url, self.http)

    def prober(self, env: str) -> HttpProber | None:
        """The engine's probes of an environment's revisions (strategy.probes, on by default), or None."""
        from core.strategies import probes_of

        if probes_of(self.environment(env).strategy) is None:
            return None
        from core.providers.probes import HttpProber

        return HttpProber(self.http)

    def infrastructure(self, registry: Registry, actor: str, gate: AccessGate | None = None) -> InfrastructureService:
        """Terraform for this profile (sandbox: stand-in, gcp: terraform or tofu); work files beside the registry.

        The sandbox's stand-in is told where the sandbox's Cloud Run answers, so its apply changes the service
        through that API (the sandbox stays the one writer of its state); Cloud Run verifies restores and drift.
        """
        from core.infra import InfrastructureService, make_runner
        from sandbox.terraform_apply import ENDPOINT_VARIABLE, MONITORING_VARIABLE
        from sandbox.terraform_command import standin_command

        environ = dict(self.environ or os.environ)
        if self.config.profile == "sandbox":
            environ[ENDPOINT_VARIABLE] = self.endpoints.cloudrun_url
            environ[MONITORING_VARIABLE] = self.endpoints.monitoring_target
        runner = make_runner(self.config.profile, environ, registry.work_dir / "terraform", standin=standin_command)
        return InfrastructureService(self.config, registry, runner, actor=actor, now=self.now, gate=gate,
                                     cloudrun=self.cloudrun)

    def ports(self, registry: Registry | None = None, actor: str = "", gate: AccessGate | None = None) -> Ports:
        """Everything the engine talks to, for this profile (Terraform only when given the registry it records in,
        asking `gate`, the console's, before it applies)."""
        from core.engine import Ports
        from core.infra import TerraformHook

        infrastructure = None if registry is None else TerraformHook(lambda: self.infrastructure(registry, actor, gate))
        # A sandbox started by an older console serves no dashboards: then none are kept.
        dashboards = self.dashboards if self.endpoints.dashboards_url or self.config.profile == "gcp" else None
        return Ports(cloudrun=self.cloudrun, metrics=self.metrics, frontend=self.frontend(), now=self.now,
                     notifiers=self.notifiers(), profile=self.config.profile, dashboards=dashboards,
                     infrastructure=infrastructure, loadtester=self.loadtester, alert_policies=self.alert_policies,
                     prober=self.prober, web=self.web(), page_headers=self.page_headers)

    def page_headers(self, env: str) -> dict[str, str]:
        """Vercel's protection bypass for `env`'s pages when its secrets reference one (`vercel_protection_bypass`);
        in the sandbox only an sm:// reference is read (an env: one may hold the operator's real secret)."""
        from core.config import SecretManagerRef, parse_secret_ref

        ref = self.environment(env).secrets.get("vercel_protection_bypass")
        readable = ref is not None and (self.config.profile != "sandbox"
                                        or isinstance(parse_secret_ref(ref), SecretManagerRef))
        if ref is None or not readable:
            return {}
        return {"x-vercel-protection-bypass": self.secret(ref)}

    def web(self) -> httpx.Client:
        """The client that fetches pages as users do (the sandbox serves `*.vercel.app` itself: routed there)."""
        if not self.endpoints.vercel_pages_url:
            return self.http
        if self._web is None:
            from sandbox.vercel_pages import pages_client

            self._web = pages_client(self.endpoints.vercel_pages_url)
        return self._web

    def recovery_ports(self) -> RecoveryPorts:
        """What guided recovery needs beyond the engine's ports: Cloud Run per region, Memorystore, Vercel env."""
        from core.providers.memorystore import MemorystoreAdapter
        from core.providers.vercel_env import VercelEnvAdapter
        from core.recovery.context import RecoveryPorts

        if self._redis is None:
            self._redis = MemorystoreAdapter.for_endpoint(self.endpoints.redis_url, self.endpoints.credentials)
        frontend_env = VercelEnvAdapter(self.http, self.vercel_token, base_url=self.endpoints.vercel_url)
        return RecoveryPorts(cloudrun_in=self.cloudrun_in, redis=self._redis, frontend_env=frontend_env,
                             http=self.http)

    @classmethod
    def for_sandbox(cls, config: ConsoleConfig, cloud: SandboxCloud, *, owned: bool = False) -> Wiring:
        """Providers against a started sandbox (stopped with this wiring when `owned`)."""
        import httpx

        return cls(config=config, endpoints=cloud.endpoints, clients=google_clients(cloud.endpoints),
                   http=httpx.Client(timeout=10.0), now=cloud.clock.now, vercel_token=SANDBOX_TOKEN,
                   sandbox=cloud if owned else None, clock_speed=cloud.clock.speed, clock=cloud.clock,
                   clock_is_the_sandboxes=True, metrics_timing=cloud.ingestion.timing())

    def close(self) -> None:
        self.clients.close()
        if self._alert_client is not None:
            self._alert_client.transport.close()
        if self._redis is not None:
            self._redis.close()
        self.http.close()
        if self._web is not None:
            self._web.close()
        if self._resolver is not None:
            self._resolver.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self._lock is not None:
            self._lock.release()


def connect(config: ConsoleConfig, environ: Mapping[str, str]) -> Wiring:
    """Providers for the configured profile; for the sandbox, attach to a running one or start it here."""
    import httpx

    from core.providers.secrets import SecretResolver

    http = httpx.Client(timeout=10.0)
    if config.profile == "gcp":
        resolver = SecretResolver(environ, GCP_ENDPOINTS)
        token = resolver.resolve(config.environment("production").secrets["vercel_token"])
        return Wiring(
            config=config,
            endpoints=GCP_ENDPOINTS,
            clients=google_clients(GCP_ENDPOINTS),
            http=http,
            now=_utc_now,
            vercel_token=token,
            environ=environ,
            _resolver=resolver,
        )
    state_file = sandbox_state_file(environ)
    running = running_sandbox(state_file)
    if running is None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(f"{state_file}.lock")
        try:
            lock.acquire(timeout=10)
        except filelock.Timeout:
            raise OperationFailed(f"another console is starting the sandbox on {state_file}; try again") from None
        running = running_sandbox(state_file)  # it may have come up while we waited for the lock
        if running is None:
            from sandbox.cloud import SandboxCloud

            http.close()
            cloud = SandboxCloud(seed=seed_from_config(config), state_file=state_file).start()
            wiring = Wiring.for_sandbox(config, cloud, owned=True)
            wiring._lock = lock
            wiring.environ = environ
            return wiring
        lock.release()
    endpoints, status = running
    # Mirror the remote sandbox's clock (it may run faster than real time) for metric windows; a frozen one is read.
    from console.remote_clock import RemoteClock
    from sandbox.control import fetch_status
    from sandbox.monitoring_ingest import Ingestion

    mirror = SandboxClock(speed=float(status["speed"]), start=float(status["time"]))
    control = endpoints.control_url
    return Wiring(
        config=config,
        endpoints=endpoints,
        clients=google_clients(endpoints),
        http=http,
        now=RemoteClock(mirror, lambda: float(fetch_status(control)["time"])).now,
        vercel_token=SANDBOX_TOKEN,
        clock_speed=mirror.speed,
        clock=mirror,
        metrics_timing=Ingestion.from_dict(status.get("monitoring_ingestion")).timing(),
        environ=environ,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)
