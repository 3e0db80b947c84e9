"""A Cloud Run service as the console sees it: revisions, the split actually served, tags. Pure data.

Filled by the Cloud Run adapter from what Google reports; read by the engine, the recovery and the screens.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.errors import BadInput

_TAG = re.compile(r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$")


class InvalidTrafficSplit(BadInput):
    """A traffic split or tag change the adapter refuses to send."""


@dataclass(frozen=True)
class RevisionState:
    """One revision as the console needs it."""

    name: str
    ready: bool
    failed: bool
    message: str
    create_time: datetime | None
    image: str
    tags: tuple[str, ...] = ()
    url: str = ""  # the first tag's URL: the revision's own address
    percent: int = 0


@dataclass(frozen=True)
class TrafficStatus:
    """One entry of what Cloud Run serves: `latest` when it follows the latest ready revision."""

    revision: str
    percent: int
    tag: str
    uri: str
    latest: bool


@dataclass(frozen=True)
class ServiceState:
    """A service as Cloud Run reports it now. `traffic` is the split actually served, by revision."""

    name: str
    resource: str
    uri: str
    etag: str
    generation: int
    revisions: tuple[RevisionState, ...]  # newest first
    traffic: Mapping[str, int]
    tags: Mapping[str, str]  # tag -> revision, as configured
    latest_ready_revision: str
    latest_created_revision: str
    reconciling: bool
    failure: str = ""  # the terminal condition's message when the last rollout failed
    traffic_statuses: tuple[TrafficStatus, ...] = ()
    by_name: Mapping[str, RevisionState] = field(default_factory=dict, repr=False)

    def revision(self, name: str) -> RevisionState | None:
        return self.by_name.get(name)

    @property
    def serving_revision(self) -> str | None:
        """The revision with most of the traffic: the stable one a deployment starts from and a rollback leaves."""
        return serving_revision(self.traffic)


def serving_revision(traffic: Mapping[str, int]) -> str | None:
    """The revision with the largest share of a split (the first listed on a tie), or None for no traffic."""
    return max(traffic, key=lambda name: traffic[name]) if traffic else None


def revision_name(service: str, tag: str, image: str) -> str:
    """A deterministic name for deploying `image` under `tag`, so a retried deploy finds its own revision."""
    if not _TAG.match(tag):
        raise InvalidTrafficSplit(f"Tag {tag!r} is not valid: use lowercase letters, digits and hyphens, "
                                  "starting with a letter, at most 46 characters.")
    digest = hashlib.sha256(image.encode()).hexdigest()[:7]
    return f"{service}-{tag}-{digest}"[:63].rstrip("-")
