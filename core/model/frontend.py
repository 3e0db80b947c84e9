"""A frontend deployment as its host (Vercel) reports it: pure data the engine and the screens read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class VercelDeployment:
    id: str
    url: str
    name: str
    project_id: str
    state: str  # QUEUED, INITIALIZING, BUILDING, READY, ERROR or CANCELED
    target: str | None  # "production", or None for a preview
    created_at: datetime
    git_ref: str | None = None
    git_sha: str | None = None
    aliases: tuple[str, ...] = ()
    ready_substate: str | None = None  # STAGED (never served production) or PROMOTED
    error_message: str | None = None
    creator: str | None = None

    @property
    def ready(self) -> bool:
        return self.state == "READY"
