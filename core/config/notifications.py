"""An environment's `[environments.X.notifications]` section: which events page PagerDuty, and at which severity.

Every event is posted to Slack whatever this says; the rule that reads it is core.model.paging.page_severity.
Live health pages by its own `[environments.X.health] page_at` (core/config/health.py).
"""

from __future__ import annotations

from pydantic import Field

from core.config.base import FrozenModel
from core.model.paging import IncidentSeverity, PageSeverity, PagingRules

_PAGES = "the PagerDuty severity it pages at (critical, error, warning, info), or never: Slack only"


class NotificationSettings(FrozenModel):
    """Which events page; the built-in environments set their own (core/config/defaults.py)."""

    incident_pages_from: IncidentSeverity = Field(
        default="SEV2", description="an incident at this severity or worse (SEV1 worst) pages, at its own severity; "
        "never: incidents only go to Slack")
    automatic_rollback: PageSeverity = Field(default="error", description="a rollback the engine decided: " + _PAGES
                                             + "; resolved when the stable revision is healthy afterwards")
    operator_rollback: PageSeverity = Field(default="never", description="a rollback a person asked for: " + _PAGES)
    rollback_failed: PageSeverity = Field(default="critical", description="a rollback (the engine's or a person's) "
                                          "whose checks afterwards failed, so what serves is still broken: " + _PAGES
                                          + "; said instead of the rollback's own event, under the same dedup key")
    deployment_failed: PageSeverity = Field(default="never", description="a deployment that failed before users "
                                            "saw it: " + _PAGES)
    approval_wait: PageSeverity = Field(default="never", description="a deployment waiting for approval (Slack names "
                                        "who may approve): " + _PAGES)

    def rules(self, environment: str) -> PagingRules:
        return PagingRules(environment, **self.model_dump())
