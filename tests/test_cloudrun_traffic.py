"""Traffic guard rails as pure functions: tags kept, shares ride on the first target, names deterministic."""

from __future__ import annotations

import pytest
from google.cloud import run_v2

from core.providers.cloudrun_traffic import (
    InvalidTrafficSplit,
    RevisionState,
    build_targets,
    merge_tags,
    revision_name,
    validate_split,
)

RES = "projects/p/locations/r/services/s"


def rev(name: str, ready: bool = True, failed: bool = False) -> RevisionState:
    return RevisionState(name=name, ready=ready, failed=failed, message="", create_time=None, image="img")


def targets(items: list[run_v2.TrafficTarget]) -> list[tuple[str, int, str]]:
    return [(t.revision, t.percent, t.tag) for t in items]


def test_a_tagged_revision_without_traffic_keeps_its_target() -> None:
    built = build_targets({"s-2": 100}, {"stable": "s-1", "canary": "s-2", "preview": "s-2"})
    assert targets(built) == [("s-1", 0, "stable"), ("s-2", 100, "canary"), ("s-2", 0, "preview")]
    assert sum(t.percent for t in built) == 100


def test_tags_are_moved_added_and_removed_only_when_asked() -> None:
    revisions = {"s-1": rev("s-1"), "s-2": rev("s-2")}
    current = {"stable": "s-1", "canary": "s-2"}
    assert merge_tags(RES, current, None, revisions) == current
    assert merge_tags(RES, current, {"stable": "s-2", "canary": None}, revisions) == {"stable": "s-2"}
    with pytest.raises(InvalidTrafficSplit, match="names revision s-9"):
        merge_tags(RES, current, {"old": "s-9"}, revisions)
    with pytest.raises(InvalidTrafficSplit, match="is not valid"):
        merge_tags(RES, current, {"Not OK": "s-1"}, revisions)


def test_zero_shares_are_dropped_and_unready_revisions_refused() -> None:
    revisions = {"s-1": rev("s-1"), "s-2": rev("s-2", ready=False)}
    assert validate_split(RES, {"s-1": 100, "s-2": 0}, revisions) == {"s-1": 100}
    with pytest.raises(InvalidTrafficSplit, match=r"s-2, which are not ready"):
        validate_split(RES, {"s-1": 90, "s-2": 10}, revisions)
    with pytest.raises(InvalidTrafficSplit, match="whole number"):
        validate_split(RES, {"s-1": True}, revisions)  # type: ignore[dict-item]


def test_revision_names_are_deterministic_per_image_and_tag() -> None:
    assert revision_name("svc", "canary", "img:1") == revision_name("svc", "canary", "img:1")
    assert revision_name("svc", "canary", "img:1") != revision_name("svc", "canary", "img:2")
    assert revision_name("svc", "canary", "img:1").startswith("svc-canary-")
    with pytest.raises(InvalidTrafficSplit):
        revision_name("svc", "Canary!", "img:1")
