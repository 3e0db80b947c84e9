"""Something the console tells people (a deploy started, a canary failed, a rollback finished), for any channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Link:
    href: str
    text: str = ""


@dataclass(frozen=True)
class Notice:
    """Something the console tells people: a deploy started, a canary failed, a rollback finished."""

    summary: str
    severity: str = "info"  # info, warning, error or critical
    source: str = "opsconsole"
    details: Mapping[str, str] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    # Groups the notices about one incident, so PagerDuty can acknowledge and resolve it later.
    dedup_key: str | None = None
    # What PagerDuty does with it: "auto" pages errors and puts the rest on its change timeline (a deploy's news);
    # "page" triggers the alert `dedup_key`, "resolve" ends it, "none" leaves PagerDuty out (Slack only).
    pagerduty: Literal["auto", "page", "resolve", "none"] = "auto"
