"""Traffic guard rails for Cloud Run: validate a split, merge tags, and build the v2 traffic targets.

Pure functions, no client: the adapter calls them on freshly read state before anything is sent, and
again after every etag conflict, so a split is only ever checked against what Cloud Run holds now.
Only `build_targets` needs google-cloud-run, and imports it: the engine names revisions with
`revision_name` without loading the client library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from core.model.service import InvalidTrafficSplit, RevisionState, revision_name

if TYPE_CHECKING:
    from google.cloud import run_v2

_TAG = re.compile(r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$")

__all__ = ["InvalidTrafficSplit", "RevisionState", "build_targets", "merge_tags", "revision_name", "validate_split"]


def _listing(names: list[str]) -> str:
    return ", ".join(sorted(names))


def validate_split(resource: str, split: Mapping[str, int],
                   revisions: Mapping[str, RevisionState]) -> dict[str, int]:
    """The split without zero shares, or InvalidTrafficSplit naming the service and what is wrong."""
    if not split:
        raise InvalidTrafficSplit(f"The traffic split for {resource} is empty; name at least one revision.")
    for revision, percent in split.items():
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise InvalidTrafficSplit(f"The traffic split for {resource} gives {percent!r} % to revision "
                                      f"{revision}; each share must be a whole number from 0 to 100.")
    total = sum(split.values())
    if total != 100:
        shares = ", ".join(f"{r} {p} %" for r, p in sorted(split.items()))
        raise InvalidTrafficSplit(f"The traffic split for {resource} sums to {total} %, not 100 % ({shares}).")
    missing = [r for r in split if r not in revisions]
    if missing:
        raise InvalidTrafficSplit(f"The traffic split for {resource} names revision(s) {_listing(missing)}, "
                                  "which do not exist in that service.")
    unready = [r for r, p in split.items() if p > 0 and not revisions[r].ready]
    if unready:
        why = "failed to start" if all(revisions[r].failed for r in unready) else "are not ready"
        raise InvalidTrafficSplit(f"The traffic split for {resource} sends traffic to revision(s) "
                                  f"{_listing(unready)}, which {why}; only ready revisions can receive traffic.")
    return {r: p for r, p in split.items() if p > 0}


def merge_tags(resource: str, current: Mapping[str, str], changes: Mapping[str, str | None] | None,
               revisions: Mapping[str, RevisionState]) -> dict[str, str]:
    """Tags (tag -> revision) after `changes`: a value moves or adds a tag, None removes it, others stay."""
    tags = dict(current)
    for tag, revision in (changes or {}).items():
        if revision is None:
            tags.pop(tag, None)
            continue
        if not _TAG.match(tag):
            raise InvalidTrafficSplit(f"Tag {tag!r} for {resource} is not valid: use lowercase letters, digits "
                                      "and hyphens, starting with a letter, at most 46 characters.")
        if revision not in revisions:
            raise InvalidTrafficSplit(f"Tag {tag!r} for {resource} names revision {revision}, "
                                      "which does not exist in that service.")
        tags[tag] = revision
    return tags


def build_targets(split: Mapping[str, int], tags: Mapping[str, str]) -> list[run_v2.TrafficTarget]:
    """One REVISION target per (revision, tag); a revision's share rides on its first target."""
    from google.cloud import run_v2

    revision_target = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
    by_revision: dict[str, list[str]] = {}
    for tag, revision in sorted(tags.items()):
        by_revision.setdefault(revision, []).append(tag)
    targets = []
    for revision in sorted(set(split) | set(by_revision)):
        percent = split.get(revision, 0)
        for tag in by_revision.get(revision, [""]):
            targets.append(run_v2.TrafficTarget(type_=revision_target, revision=revision, percent=percent, tag=tag))
            percent = 0
    return targets
