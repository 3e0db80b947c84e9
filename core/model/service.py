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
    # Its container's environment as Cloud Run reports the revision: plain values (read by the secret scan
    # only, never shown: kept out of repr) and, by name, the Secret Manager references ("secret@version").
    plain_env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    secret_env: Mapping[str, str] = field(default_factory=dict, compare=False)


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
    settings: ServiceSettings | None = None  # what the service's template configures (None: not reported)
    ingress: str = ""  # Cloud Run's IngressTraffic name, e.g. INGRESS_TRAFFIC_ALL ("" when not reported)
    invoker_iam_disabled: bool = False  # public without IAM (https://cloud.google.com/run/docs/authenticating/public)

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


# -- what a service is configured with: scaling and environment ---------------------------------------------

def value_digest(value: str) -> str:
    """A plain environment value as the console keeps it: a short digest, so records and screens never hold a
    value someone put in plain text by mistake, and two settings still compare."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


@dataclass(frozen=True, order=True)
class EnvVar:
    """One container environment variable: a plain value (as its digest) or a Secret Manager reference."""

    name: str
    value_digest: str = ""
    secret: str = ""  # the secret's name (or projects/P/secrets/S); the value is never read
    version: str = ""

    def shown(self) -> str:
        return f"secret {self.secret}@{self.version or 'latest'}" if self.secret else "a plain value"

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("name", self.name), ("value_digest", self.value_digest), ("secret", self.secret),
                                  ("version", self.version)) if v}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> EnvVar:
        return cls(str(data.get("name", "")), str(data.get("value_digest", "")), str(data.get("secret", "")),
                   str(data.get("version", "")))


@dataclass(frozen=True)
class ServiceSettings:
    """The settings of a Cloud Run service that Terraform owns and drift is checked on."""

    min_instances: int = 0
    max_instances: int = 100  # Cloud Run's default when none is set
    env: tuple[EnvVar, ...] = ()  # sorted by name

    def to_dict(self) -> dict[str, object]:
        return {"min_instances": self.min_instances, "max_instances": self.max_instances,
                "env": [e.to_dict() for e in self.env]}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ServiceSettings:
        env = data.get("env") or []
        return cls(int(str(data.get("min_instances", 0))), int(str(data.get("max_instances", 100))),
                   tuple(sorted(EnvVar.from_dict(e) for e in env if isinstance(e, Mapping)))
                   if isinstance(env, list) else ())


@dataclass(frozen=True)
class SettingChange:
    """One setting that differs between two ServiceSettings (`before` and `after` as shown, "" when absent)."""

    setting: str  # "min_instances", "max_instances" or "env NAME"
    before: str
    after: str

    def describe(self) -> str:
        """As a change: `max_instances 20 → 10`, `env LOG_LEVEL removed`, `env LOG_LEVEL added`."""
        if not self.before:
            return f"{self.setting} added"
        if not self.after:
            return f"{self.setting} removed"
        if self.setting.startswith("env "):
            return f"{self.setting} changed ({self.before} → {self.after})" if self.before != self.after \
                else f"{self.setting} changed"
        return f"{self.setting} {self.before} → {self.after}"

    def describe_drift(self) -> str:
        """As drift, `before` configured and `after` live: `max_instances 10 live, 20 configured`."""
        if not self.before:
            return f"{self.setting} set live, not configured"
        if not self.after:
            return f"{self.setting} configured, missing live"
        if self.setting.startswith("env ") and self.before == self.after:
            return f"{self.setting} has another value live than configured"
        return f"{self.setting} {self.after} live, {self.before} configured"

    def to_dict(self) -> dict[str, str]:
        return {"setting": self.setting, "before": self.before, "after": self.after}


def settings_changes(before: ServiceSettings, after: ServiceSettings) -> tuple[SettingChange, ...]:
    """What differs from `before` to `after`, scaling first, then environment variables by name.

    The one comparison of service settings: a rollback says what it changed with it, drift (configured
    before, live after) is its result, and the environment card shows the first of them.
    """
    found = [SettingChange(name, str(getattr(before, name)), str(getattr(after, name)))
             for name in ("min_instances", "max_instances") if getattr(before, name) != getattr(after, name)]
    old, new = {e.name: e for e in before.env}, {e.name: e for e in after.env}
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a != b:
            found.append(SettingChange(f"env {name}", a.shown() if a else "", b.shown() if b else ""))
    return tuple(found)


def recorded_settings(record: Mapping[str, object] | None) -> ServiceSettings | None:
    """What a known-good infrastructure apply (a registry record) configured for the environment's Cloud Run
    service (its `cloud_run.settings`), or None when it recorded none."""
    found = (record or {}).get("cloud_run")
    settings = found.get("settings") if isinstance(found, Mapping) else None
    return ServiceSettings.from_dict(settings) if isinstance(settings, Mapping) else None


def describe_changes(changes: tuple[SettingChange, ...] | list[SettingChange], *, drift: bool = False) -> str:
    """One line: `max_instances 20 → 10, env LOG_LEVEL removed` (or `no setting changed`)."""
    if not changes:
        return "no setting differs" if drift else "no setting changed"
    return ", ".join(c.describe_drift() if drift else c.describe() for c in changes)
