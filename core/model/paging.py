"""Which events page PagerDuty, at which severity, per environment: the one rule, and what one announcement sends.

Every event is posted to Slack. Whether it also pages (a PagerDuty alert someone is woken for) is the
environment's `[environments.X.notifications]` rule (core/config/notifications.py): an incident pages when its
severity is at least `incident_pages_from`; each other event pages at the PagerDuty severity its key names, or
never. Every page carries a dedup key, and whoever ends the situation resolves the page under that same key
(PagerDuty Events API v2: an alert event is followed by `acknowledge` or `resolve` events for the same alert,
correlated by `dedup_key`; change events never notify anyone — github.com/PagerDuty/developer-docs,
docs/events-API-v2/01-Overview.md, "Event Types").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from core.model.notice import Notice

# What the console tells people about, besides live health (core/model/health.py has its own rule).
NotifiedEvent = Literal["incident", "automatic_rollback", "operator_rollback", "rollback_failed", "deployment_failed",
                        "approval_wait"]
EVENTS: tuple[NotifiedEvent, ...] = ("incident", "automatic_rollback", "operator_rollback", "rollback_failed",
                                     "deployment_failed", "approval_wait")
PageSeverity = Literal["critical", "error", "warning", "info", "never"]  # PagerDuty's severities, or Slack only
IncidentSeverity = Literal["SEV1", "SEV2", "SEV3", "SEV4", "never"]
SEVERITY_OF_INCIDENT = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}
_SEV_RANK = {"SEV1": 1, "SEV2": 2, "SEV3": 3, "SEV4": 4}


@dataclass(frozen=True)
class PagingRules:
    """One environment's rule (the configuration's values, see NotificationSettings for their documentation)."""

    environment: str
    incident_pages_from: IncidentSeverity = "SEV2"
    automatic_rollback: PageSeverity = "error"
    operator_rollback: PageSeverity = "never"
    rollback_failed: PageSeverity = "critical"  # a rollback whose checks afterwards failed: still broken
    deployment_failed: PageSeverity = "never"
    approval_wait: PageSeverity = "never"


def page_severity(rules: PagingRules, event: NotifiedEvent, incident_severity: str | None = None) -> str | None:
    """The PagerDuty severity `event` pages at under `rules`, or None: Slack only.

    An incident pages when its severity (SEV1 worst) is at least `incident_pages_from`, at the severity its SEV
    maps to; a SEV the rule does not know never pages (a person is not woken for what cannot be read)."""
    if event == "incident":
        floor = rules.incident_pages_from
        rank = _SEV_RANK.get(incident_severity or "")
        if floor == "never" or rank is None or rank > _SEV_RANK[floor]:
            return None
        return SEVERITY_OF_INCIDENT[str(incident_severity)]
    found: str = getattr(rules, event)
    return None if found == "never" else found


def deployment_dedup_key(deployment_id: str) -> str:
    """The page a deployment raised (failure, automatic rollback, a rollback whose checks failed): resolved under this
    key when its own checks pass afterwards, when a later release succeeds, or when live health recovers."""
    return f"opsconsole-{deployment_id}"


def incident_dedup_key(incident_id: str) -> str:
    """The page of an incident: triggered when it is opened, resolved when it is resolved or aborted."""
    return f"opsconsole-{incident_id}"


@dataclass(frozen=True)
class Announcement:
    """What one notification sends: Slack's text always; PagerDuty `page` (a trigger at `severity`), `resolve`
    (the page under `dedup_key` ends) or nothing."""

    environment: str
    slack: str
    dedup_key: str
    pagerduty: Literal["page", "resolve", "none"] = "none"
    severity: str = "info"  # the PagerDuty severity of a page; the Slack mark otherwise

    def describe(self) -> list[str]:
        """What will be sent, one line per channel, as a confirmation shows it before anything is sent."""
        if self.pagerduty == "page":
            pd = f"PagerDuty: page at severity {self.severity} (dedup key {self.dedup_key}): {self.slack}"
        elif self.pagerduty == "resolve":
            pd = f"PagerDuty: resolve the page {self.dedup_key}"
        else:
            pd = f"PagerDuty: nothing (the {self.environment} rule does not page for this)"
        return [pd, f"Slack: {self.slack}"]

    def notice(self, details: Mapping[str, str]) -> Notice:
        """The Notice every channel is given (Slack posts it; PagerDuty pages, resolves or ignores it)."""
        return Notice(summary=self.slack, severity=self.severity, source=f"opsconsole/{self.environment}",
                      details=dict(details), dedup_key=self.dedup_key, pagerduty=self.pagerduty)


def resolution(environment: str, slack: str, dedup_key: str) -> Announcement:
    """The end of a page: PagerDuty resolves `dedup_key` (a no-op when nothing was paged), Slack is told why."""
    return Announcement(environment, slack, dedup_key, "resolve", "info")


def announcement(rules: PagingRules, event: NotifiedEvent, slack: str, dedup_key: str,
                 incident_severity: str | None = None, *, quiet_severity: str = "warning") -> Announcement:
    """The announcement of `event` under `rules`: a page at the rule's severity, else Slack only."""
    severity = page_severity(rules, event, incident_severity)
    if severity is None:
        return Announcement(rules.environment, slack, dedup_key, "none", quiet_severity)
    return Announcement(rules.environment, slack, dedup_key, "page", severity)
