"""What core needs from the outside world: the Protocols the engine, verification and live views really call.

Core owns these; the adapters in core.providers implement them and the composition root (console.wiring)
fills a `Ports` bundle. A type checker (mypy --strict, run by the tests) holds both sides to them, so a
drift between what the engine calls and what an adapter offers fails the build instead of a deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from core.errors import OperationFailed
from core.model.alerts import FiringPolicy
from core.model.frontend import VercelDeployment
from core.model.metrics import MetricsTiming, RevisionMetrics
from core.model.notice import Notice
from core.model.probes import ProbeSample
from core.model.service import RevisionState, ServiceState

if TYPE_CHECKING:
    import httpx


class RevisionFailed(OperationFailed):
    """A deployed revision did not become ready (or vanished); `revision` holds its last state when known."""

    def __init__(self, message: str, revision: RevisionState | None, resource: str) -> None:
        super().__init__(message)
        self.revision = revision
        self.resource = resource


class CloudRunProvider(Protocol):
    def get_service(self, service: str) -> ServiceState: ...

    def deploy_revision(self, service: str, image: str, tag: str, *, wait: bool = True) -> RevisionState:
        """Create the revision with no traffic; with `wait`, until it is ready (RevisionFailed if it never is)."""
        ...

    def set_traffic(self, service: str, split: Mapping[str, int],
                    tags: Mapping[str, str | None] | None = None) -> ServiceState: ...

    def revision_ready(self, service: str, revision: str) -> bool: ...

    def invokers(self, service: str) -> tuple[str, ...]:
        """Who may invoke the service: the members of roles/run.invoker in its IAM policy (getIamPolicy)."""
        ...


class MetricsProvider(Protocol):
    def revision_metrics(self, service: str, start: datetime, end: datetime) -> dict[str, RevisionMetrics]: ...

    def window_metrics(self, service: str, start: datetime, end: datetime,
                       window_s: int) -> dict[datetime, dict[str, RevisionMetrics]]:
        """Per window of `window_s` ending at `end` and every `window_s` before it, after `start` (keyed by its end;
        a window nobody was served in is absent): the same reads as one window, however many."""
        ...

    def timing(self) -> MetricsTiming:
        """The resolution of the data and how late a point may still arrive (Google's: 60 s, 180 s)."""
        ...

    def write_deployment_event(self, env: str, component: str, kind: str, value: float = 1.0) -> None: ...


class AlertPolicies(Protocol):
    """Which enabled alert policies of a service fire now (core.providers.alert_policies)."""

    def firing(self, service: str, environment: str | None = None) -> list[FiringPolicy]: ...


class FrontendProvider(Protocol):
    """What the engine needs from the frontend's host."""

    def list_deployments(self, project: str, limit: int = 20, target: str | None = None,
                         rollback_candidate: bool | None = None) -> list[VercelDeployment]: ...

    def create_deployment(self, project: str, git_ref: str, sha: str | None = None,
                          target: str | None = None) -> VercelDeployment: ...

    def get_deployment(self, deployment_id: str) -> VercelDeployment: ...

    def wait_ready(self, deployment_id: str, timeout: float, poll: float) -> VercelDeployment: ...

    def promote(self, project: str, deployment_id: str) -> bool: ...

    def rollback(self, project: str, deployment_id: str) -> bool: ...

    def production_deployment(self, project: str) -> VercelDeployment | None: ...


class DashboardsProvider(Protocol):
    def upsert_environment(self, env: str, service: str, *, canary_revision: str | None,
                           stable_revision: str | None) -> object: ...


class Notifier(Protocol):
    def notify(self, notice: Notice) -> None: ...


class InfrastructureHook(Protocol):
    """Terraform apply/rollback for the `infrastructure` component (core.infra.TerraformHook)."""

    def apply(self, environment: str, version: str) -> str: ...

    def restore_last_good(self, environment: str) -> str: ...

    def restore(self, environment: str, to: str | None) -> str:
        """Apply exactly the known-good configuration `to` names (None: the last known good), verified."""
        ...

    def known_good(self, environment: str, to: str | None) -> str:
        """The id of the known-good apply `to` names; BadInput listing the known ones when it names none."""
        ...


class LoadTester(Protocol):
    """Synthetic requests to a URL for a while (a Flagger-style load tester: core.providers.loadtest)."""

    def start(self, target_url: str, rps: float, seconds: float, *, name: str) -> str: ...


class Prober(Protocol):
    """Bursts of real requests to revisions' own (tag) URLs, marked as the engine's (core.providers.probes)."""

    def burst(self, urls: Mapping[str, str], requests: int, *, timeout_s: float) -> dict[str, ProbeSample]:
        """`requests` GETs to each URL (keyed by revision), interleaved; what each answered, by the same keys."""
        ...


@dataclass
class Ports:
    """Providers per environment, the clock metric windows are read on, and who to tell."""

    cloudrun: Callable[[str], CloudRunProvider]
    metrics: Callable[[str], MetricsProvider]
    frontend: FrontendProvider
    now: Callable[[], datetime]
    notifiers: list[Notifier] = field(default_factory=list)
    infrastructure: InfrastructureHook | None = None
    dashboards: Callable[[str], DashboardsProvider] | None = None  # per environment; None: no dashboards
    loadtester: Callable[[str], LoadTester | None] | None = None  # per environment; None: no load test configured
    alert_policies: Callable[[str], AlertPolicies] | None = None  # per environment; None: not watched
    prober: Callable[[str], Prober | None] | None = None  # per environment; None: no probe stream
    profile: str = "sandbox"
    # What fetches pages as users do (the frontend's, on the hosts Vercel answers); None: a plain client per check.
    web: httpx.Client | None = None
    # Per environment, what a fetch of its frontend's pages carries (Vercel's protection bypass); None: nothing.
    page_headers: Callable[[str], Mapping[str, str]] | None = None

    def notify(self, notice: Notice) -> list[str]:
        """Tell every notifier; a notifier that fails is reported back, never fatal to a deployment."""
        failures = []
        for notifier in self.notifiers:
            try:
                notifier.notify(notice)
            except Exception as exc:  # any channel may fail; the deployment goes on
                failures.append(f"{type(notifier).__name__}: {exc}")
        return failures
