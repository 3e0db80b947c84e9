"""What is true in the cloud right now for one environment: Cloud Run revisions and split, Vercel production.

Pure data, filled by core.live.observe_environment; the CLI's `status` and the TUI's cards both show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.model.service import ServiceSettings, serving_revision


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
    settings: ServiceSettings | None = None  # what Cloud Run says the service is configured with (drift)

    @property
    def traffic(self) -> dict[str, int]:
        return {r.name: r.percent for r in self.revisions if r.percent}

    @property
    def serving_version(self) -> str:
        """The image tag serving most traffic, e.g. 'v1.4.0' (the whole image when it has no tag)."""
        top = self.serving
        if top is None:
            return "-"
        return top.image.rsplit(":", 1)[-1] if ":" in top.image else top.image

    @property
    def serving(self) -> LiveRevision | None:
        """The revision serving most of the traffic (core.model.service's rule), or None with nothing live."""
        name = serving_revision(self.traffic)
        return next((r for r in self.revisions if r.name == name), self.revisions[0] if self.revisions else None)
