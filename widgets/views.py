"""What the console's widgets read about an environment, as Protocols over core's models.

`core.live`'s dataclasses are matched structurally rather than imported: that module also holds the
provider calls, which widgets must never reach (import-linter's widgets contract counts indirect imports).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from core.model.deployment import Deployment, EnvironmentState, StepEvent
from core.model.health import Health
from core.model.rollout import Rollout
from widgets.metric_series import MetricSeries


class LiveRevisionView(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def percent(self) -> int: ...
    @property
    def ready(self) -> bool: ...
    @property
    def image(self) -> str: ...


class LiveFrontendView(Protocol):
    @property
    def deployment_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def git_ref(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


class LiveView(Protocol):
    """core.live.LiveEnvironment: revisions newest first, each component's one-line error if unreachable."""

    @property
    def revisions(self) -> Sequence[LiveRevisionView]: ...
    @property
    def websocket_error(self) -> str | None: ...
    @property
    def frontend(self) -> LiveFrontendView | None: ...
    @property
    def frontend_error(self) -> str | None: ...
    @property
    def serving_version(self) -> str: ...


class EnvironmentView(Protocol):
    """One refresh of an environment: live state, registry state, the deployment in view (active, else last),
    the canary charts' metrics, the last infrastructure apply recorded (None when there was none), live health
    as last observed (None when not watched yet) and the open incident's record (None when there is none)."""

    @property
    def name(self) -> str: ...
    @property
    def live(self) -> LiveView: ...
    @property
    def state(self) -> EnvironmentState: ...
    @property
    def deployment(self) -> Deployment | None: ...
    @property
    def rollout(self) -> Rollout | None: ...
    @property
    def events(self) -> Sequence[StepEvent]: ...
    @property
    def now(self) -> datetime: ...
    @property
    def error(self) -> str | None: ...
    @property
    def active(self) -> Deployment | None: ...
    @property
    def metrics(self) -> MetricSeries | None: ...
    @property
    def infrastructure(self) -> Mapping[str, Any] | None: ...
    @property
    def health_now(self) -> Health | None: ...
    @property
    def incident(self) -> Mapping[str, Any] | None: ...


def version_of(image: str) -> str:
    """'v2.0.0' from '.../websocket-server:v2.0.0' (the whole image when it has no tag)."""
    return image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else image


def age(moment: datetime | None, now: datetime) -> str:
    """'3 min ago', '2 h ago': measured on the cloud's clock (`now`), which in the sandbox may be frozen."""
    if moment is None:
        return "-"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def short_id(deployment_id: str) -> str:
    """The random tail of a deployment id ('9029fc'), enough to tell deployments apart on a card."""
    return deployment_id.rsplit("-", 1)[-1]
