"""What the engine needs from the outside world, as one bundle of small Protocols (the composition root fills it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.providers.cloudrun import CloudRunProvider
from core.providers.dashboards import DashboardsProvider
from core.providers.monitoring import MetricsProvider
from core.providers.notify import Notice, Notifier
from core.providers.vercel import FrontendProvider


class InfrastructureHook(Protocol):
    """Terraform apply/rollback for the `infrastructure` component (the Terraform issue provides one)."""

    def apply(self, environment: str, version: str) -> str: ...

    def restore_last_good(self, environment: str) -> str: ...


class LoadTester(Protocol):
    """Synthetic requests to a URL for a while (a Flagger-style load tester: core.providers.loadtest)."""

    def start(self, target_url: str, rps: float, seconds: float, *, name: str) -> str: ...


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
    profile: str = "sandbox"

    def notify(self, notice: Notice) -> list[str]:
        """Tell every notifier; a notifier that fails is reported back, never fatal to a deployment."""
        failures = []
        for notifier in self.notifiers:
            try:
                notifier.notify(notice)
            except Exception as exc:  # any channel may fail; the deployment goes on
                failures.append(f"{type(notifier).__name__}: {exc}")
        return failures
