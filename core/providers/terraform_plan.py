"""A Terraform plan as an operator reviews it: what is created, updated, deleted or replaced, and whether
anything is destroyed. Parsed from `terraform show -json PLANFILE` (Terraform's JSON plan format), so the
real CLI and the sandbox stand-in are read by the same code.

Only resource addresses and attribute names are kept, never attribute values: a plan's values may hold
secrets (Terraform marks some sensitive, not all), and a summary is shown on screens and in the registry.
The one exception is what a Cloud Run service is configured with (`services`): scaling counts, and
environment variables as names with a digest of a plain value or the Secret Manager reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import OperationFailed
from core.model.service import EnvVar, ServiceSettings, value_digest

CLOUD_RUN_SERVICE = "google_cloud_run_v2_service"

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
    # address -> what each Cloud Run service the plan leaves in place is configured with
    services: tuple[tuple[str, ServiceSettings], ...] = field(default=())

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


def _first(value: Any) -> dict[str, Any]:
    """A nested block as Terraform's JSON gives it: a list of one object."""
    return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}


def cloud_run_settings(after: dict[str, Any]) -> ServiceSettings:
    """What a google_cloud_run_v2_service's planned attributes configure: template scaling and the first
    container's env (a plain value as its digest, a secret by reference)."""
    template = _first(after.get("template"))
    scaling = _first(template.get("scaling"))
    env = []
    for var in _first(template.get("containers")).get("env") or []:
        if not isinstance(var, dict) or not var.get("name"):
            continue
        ref = _first(_first(var.get("value_source")).get("secret_key_ref"))
        if ref:
            env.append(EnvVar(str(var["name"]), secret=str(ref.get("secret", "")),
                              version=str(ref.get("version") or "latest")))
        else:
            env.append(EnvVar(str(var["name"]), value_digest=value_digest(str(var.get("value") or ""))))
    return ServiceSettings(min_instances=int(scaling.get("min_instance_count") or 0),
                           max_instances=int(scaling.get("max_instance_count") or 100), env=tuple(sorted(env)))


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
    services: list[tuple[str, ServiceSettings]] = []
    unchanged = 0
    for item in document.get("resource_changes") or []:
        if item.get("mode", "managed") != "managed":
            continue
        change = item.get("change") or {}
        if item.get("type") == CLOUD_RUN_SERVICE and isinstance(change.get("after"), dict):
            services.append((str(item["address"]), cloud_run_settings(change["after"])))
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
                       output_names=tuple(sorted(document.get("output_changes") or {})),
                       services=tuple(sorted(services, key=lambda pair: pair[0])))
