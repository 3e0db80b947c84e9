"""What is true in the cloud right now for one environment: Cloud Run revisions and split, Vercel production.

The CLI's `status` and the TUI's environment cards both show this; a provider that cannot be reached
becomes a one-line note on that component instead of an error for the whole view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.config import EnvironmentConfig
from core.errors import OpsError
from core.providers.cloudrun import CloudRunProvider
from core.providers.vercel import FrontendProvider


@dataclass(frozen=True)
class LiveRevision:
    name: str
    percent: int
    ready: bool
    image: str
    tags: tuple[str, ...]
    url: str


@dataclass(frozen=True)
class LiveFrontend:
    deployment_id: str
    url: str
    state: str
    git_ref: str | None
    created_at: datetime


@dataclass(frozen=True)
class LiveEnvironment:
    name: str
    service: str
    revisions: tuple[LiveRevision, ...] = ()  # revisions with traffic or a tag, newest first
    websocket_error: str | None = None
    frontend: LiveFrontend | None = None
    frontend_error: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def traffic(self) -> dict[str, int]:
        return {r.name: r.percent for r in self.revisions if r.percent}

    @property
    def serving_version(self) -> str:
        """The image tag serving most traffic, e.g. 'v1.4.0' (the whole image when it has no tag)."""
        if not self.revisions:
            return "-"
        top = max(self.revisions, key=lambda r: r.percent)
        return top.image.rsplit(":", 1)[-1] if ":" in top.image else top.image


def observe_environment(
    env: EnvironmentConfig, cloudrun: CloudRunProvider, frontend: FrontendProvider
) -> LiveEnvironment:
    """Ask both providers what is live; each failure is kept as that component's one-line error."""
    service = env.infrastructure.service_name
    revisions: tuple[LiveRevision, ...] = ()
    websocket_error = frontend_error = None
    live_frontend = None
    try:
        state = cloudrun.get_service(service)
        revisions = tuple(
            LiveRevision(r.name, r.percent, r.ready, r.image, r.tags, r.url)
            for r in state.revisions
            if r.percent or r.tags
        )
    except OpsError as exc:
        websocket_error = str(exc)
    try:
        found = frontend.production_deployment(env.application.frontend_project)
        if found is not None:
            live_frontend = LiveFrontend(found.id, found.url, found.state, found.git_ref, found.created_at)
    except OpsError as exc:
        frontend_error = str(exc)
    return LiveEnvironment(env.name, service, revisions, websocket_error, live_frontend, frontend_error)
