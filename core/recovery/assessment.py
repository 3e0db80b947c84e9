"""What a recovery found before it opens anything: evidence, classification, plan, and what opening would send.

The recovery screen and `opsconsole recover` show it and ask; only a confirmed opening writes the incident and
pages (core.recovery.execute.open_incident). On an environment where nothing is visibly wrong it says so, and
advises against paging.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model.paging import Announcement
from core.recovery.classify import Classification
from core.recovery.evidence import Symptoms
from core.recovery.plan import RecoveryPlan


@dataclass(frozen=True)
class Assessment:
    environment: str
    symptoms: Symptoms
    classification: Classification
    plan: RecoveryPlan
    opening: Announcement  # what opening the incident would send (its dedup key is the incident's, once opened)
    looking_only: bool = False  # a dry run or a read-only console: opening records and sends nothing

    @property
    def healthy(self) -> bool:
        """Nothing is visibly wrong: no failure type stands out and no probe or message failed."""
        c = self.classification
        return c.failure_type == "unknown" and c.user_impact == 0

    def sends(self) -> list[str]:
        """What opening the incident sends, one line per channel (or that it sends nothing)."""
        if self.looking_only:
            return ["nothing is sent or recorded: this is a dry run or a read-only console"]
        return self.opening.describe()

    def advice(self) -> str:
        c = self.classification
        if self.healthy:
            return (f"{self.environment} looks healthy ({c.summary}): better not to page; leave with esc "
                    "unless you know of a failure the probes cannot see")
        return f"{c.severity} {c.failure_type}: {c.summary}"

    def question(self) -> str:
        """The confirmation asked before the incident is opened, naming exactly what will be sent."""
        return "\n".join([f"Open an incident for {self.environment}? {self.advice()}.", *self.sends()])
