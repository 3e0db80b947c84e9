"""Asking the providers what is live in one environment (core.model.live holds what they answer).

The CLI's `status` and the TUI's environment cards both show this; a provider that cannot be reached
becomes a one-line note on that component instead of an error for the whole view.
"""

from __future__ import annotations

from core.config import EnvironmentConfig
from core.errors import OpsError
from core.model.live import LiveEnvironment, LiveFrontend, LiveRevision
from core.ports import CloudRunProvider, FrontendProvider


def observe_environment(
    env: EnvironmentConfig, cloudrun: CloudRunProvider, frontend: FrontendProvider
) -> LiveEnvironment:
    """Ask both providers what is live; each failure is kept as that component's one-line error."""
    service = env.infrastructure.service_name
    revisions: tuple[LiveRevision, ...] = ()
    websocket_error = frontend_error = None
    live_frontend = None
    settings = None
    try:
        state = cloudrun.get_service(service)
        settings = state.settings
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
    return LiveEnvironment(env.name, service, revisions, websocket_error, live_frontend, frontend_error,
                           settings=settings)


__all__ = ["LiveEnvironment", "LiveFrontend", "LiveRevision", "observe_environment"]
