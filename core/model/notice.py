"""Something the console tells people (a deploy started, a canary failed, a rollback finished), for any channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
