"""Reading `terraform show -json`: each kind of change, destructive ones flagged, values never kept."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import OperationFailed
from core.providers.terraform_plan import parse_plan


def change(address: str, actions: list[str], before: Any = None, after: Any = None, *, mode: str = "managed",
           unknown: Any = None) -> dict[str, Any]:
    return {"address": address, "mode": mode, "type": address.split(".")[-2], "name": address.split(".")[-1],
            "change": {"actions": actions, "before": before, "after": after, "after_unknown": unknown or {}}}


PLAN = {
    "format_version": "1.2",
    "terraform_version": "1.11.4",
    "resource_changes": [
        change("google_service_account.b", ["create"], after={"account_id": "b"}),
        change("google_cloud_run_v2_service.s", ["update"], {"ingress": "ALL", "etag": "1", "labels": {}},
               {"ingress": "INTERNAL", "labels": {}}, unknown={"etag": True}),
        change("vercel_project.p", ["delete"], before={"name": "p"}),
        change("google_service_account.a", ["delete", "create"], {"account_id": "a"}, {"account_id": "a2"}),
        change("google_secret_manager_secret_iam_member.m", ["create", "delete"], {"member": "x"}, {"member": "y"}),
        change("terraform_data.same", ["no-op"], {"input": 1}, {"input": 1}),
        change("data.google_secret_manager_secret_version.key", ["read"], mode="data",
               after={"secret_data": "AIza-not-kept"}),
    ],
    "output_changes": {"service_url": {"actions": ["no-op"]}},
}


def test_every_kind_of_change_is_read_and_destructive_ones_are_flagged() -> None:
    summary = parse_plan(PLAN)
    assert [(c.address, c.action, c.destructive) for c in summary.changes] == [
        ("google_cloud_run_v2_service.s", "update", False),
        ("google_secret_manager_secret_iam_member.m", "replace", True),
        ("google_service_account.a", "replace", True),
        ("google_service_account.b", "create", False),
        ("vercel_project.p", "delete", True),
    ]
    assert summary.counts == {"create": 1, "update": 1, "delete": 1, "replace": 2}
    assert summary.unchanged == 1 and summary.destructive
    assert summary.headline() == "1 to create, 1 to update, 1 to delete, 2 to replace (destructive)"
    assert summary.terraform_version == "1.11.4" and summary.output_names == ("service_url",)


def test_an_update_names_the_attributes_set_by_the_configuration_not_computed_ones() -> None:
    (update,) = parse_plan(PLAN).of("update")
    assert update.changed == ("ingress",)


def test_values_never_reach_the_summary() -> None:
    assert "AIza" not in repr(parse_plan(PLAN).to_dict())
    assert "INTERNAL" not in repr(parse_plan(PLAN).to_dict())


def test_no_changes_reads_as_such() -> None:
    summary = parse_plan({"format_version": "1.2", "resource_changes": [change("a.b", ["no-op"], {}, {})]})
    assert summary.empty and not summary.destructive
    assert summary.headline() == "no changes: the infrastructure matches the configuration"


@pytest.mark.parametrize("document", [[], {"resource_changes": []}, {"format_version": "2.0"}])
def test_something_that_is_not_a_plan_is_refused(document: Any) -> None:
    with pytest.raises(OperationFailed, match="plan"):
        parse_plan(document)
