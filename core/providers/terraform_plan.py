"""A Terraform plan as an operator reviews it: what is created, updated, deleted or replaced, and whether
anything is destroyed. Parsed from `terraform show -json PLANFILE` (Terraform's JSON plan format), so the
real CLI and the sandbox stand-in are read by the same code.

Only resource addresses and attribute names are kept, never attribute values: a plan's values may hold
secrets (Terraform marks some sensitive, not all), and a summary is shown on screens and in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import OperationFailed

Action = Literal["create", "update", "delete", "replace"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "replace")
_LABELS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+"}


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """One resource instance the plan changes."""

    address: str
    action: Action
    changed: tuple[str, ...] = ()  # top-level attributes whose value changes (names only)
    reason: str = ""

    @property
    def destructive(self) -> bool:
        """Deletes or replaces an existing object: data or availability can be lost."""
        return self.action in ("delete", "replace")

    @property
    def symbol(self) -> str:
        return _LABELS[self.action]

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "action": self.action, "destructive": self.destructive,
                "changed": list(self.changed), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """Every change of a plan, in address order, and the number of resources left as they are."""

    changes: tuple[ResourceChange, ...] = ()
    unchanged: int = 0
    terraform_version: str = ""
    output_names: tuple[str, ...] = field(default=())

    def of(self, action: Action) -> list[ResourceChange]:
        return [change for change in self.changes if change.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {action: len(self.of(action)) for action in ACTIONS}

    @property
    def destructive(self) -> bool:
        return any(change.destructive for change in self.changes)

    @property
    def empty(self) -> bool:
        return not self.changes

    def headline(self) -> str:
        """'2 to create, 1 to update, 0 to delete, 1 to replace (destructive)', or 'no changes'."""
        if self.empty:
            return "no changes: the infrastructure matches the configuration"
        counts = self.counts
        text = ", ".join(f"{counts[action]} to {action}" for action in ACTIONS)
        return text + (" (destructive)" if self.destructive else "")

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "unchanged": self.unchanged, "destructive": self.destructive,
                "changes": [change.to_dict() for change in self.changes], "terraform_version": self.terraform_version}


def _action(actions: list[str]) -> Action | None:
    kinds = set(actions)
    if kinds == {"create"}:
        return "create"
    if kinds == {"update"}:
        return "update"
    if kinds == {"delete"}:
        return "delete"
    if kinds == {"delete", "create"}:  # either order: create-before-destroy or destroy-before-create
        return "replace"
    return None  # no-op, read (data sources), forget


def _changed(before: Any, after: Any, unknown: Any) -> tuple[str, ...]:
    """Top-level attributes that change; one known only after apply (an etag, a revision) counts only when
    the configuration sets it, which Terraform says by leaving it out of after_unknown."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ()
    computed = {key for key, value in unknown.items() if value is True} if isinstance(unknown, dict) else set()
    return tuple(sorted(key for key in set(before) | set(after)
                        if before.get(key) != after.get(key) and key not in computed))


def parse_plan(document: Any) -> PlanSummary:
    """The summary of a JSON plan; OperationFailed when the document is not one."""
    if not isinstance(document, dict) or "format_version" not in document:
        raise OperationFailed("terraform show -json did not print a JSON plan (no format_version)")
    if not str(document["format_version"]).startswith("1."):
        raise OperationFailed(f"terraform printed plan format {document['format_version']}; this console reads 1.x")
    changes: list[ResourceChange] = []
    unchanged = 0
    for item in document.get("resource_changes") or []:
        if item.get("mode", "managed") != "managed":
            continue
        change = item.get("change") or {}
        action = _action(list(change.get("actions") or []))
        if action is None:
            unchanged += 1
            continue
        changed = (_changed(change.get("before"), change.get("after"), change.get("after_unknown"))
                   if action in ("update", "replace") else ())
        changes.append(ResourceChange(address=str(item["address"]), action=action, changed=changed,
                                      reason=str(item.get("action_reason", ""))))
    changes.sort(key=lambda c: c.address)
    return PlanSummary(changes=tuple(changes), unchanged=unchanged,
                       terraform_version=str(document.get("terraform_version", "")),
                       output_names=tuple(sorted(document.get("output_changes") or {})))
