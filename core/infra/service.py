"""update_infrastructure and its parts: plan an environment, let someone review the summary, apply exactly
that plan, and record it as the last known good; restore the last known good when asked.

The CLI and the screen call plan() and apply_plan() with a person reviewing in between; the engine goes
through TerraformHook, which plans and applies without asking (the engine asked for confirmation before).
restore() brings back one known-good apply (records.choose_good decides which), verifies it (a re-plan
shows no change, and Cloud Run reports the settings it configures) and says which settings changed;
drift() compares what the last good apply configured for the Cloud Run service with what Cloud Run reports.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.access import AccessGate
from core.config import ConsoleConfig, generate_terraform_vars
from core.errors import OperationFailed
from core.infra.records import choose_good, entry_id, last_good, record_good
from core.infra.snapshot import git_revision, has_snapshot, restore_from_git, restore_snapshot, save_snapshot
from core.model.service import (
    ServiceSettings,
    SettingChange,
    describe_changes,
    recorded_settings,
    settings_changes,
)
from core.ports import CloudRunProvider
from core.providers.terraform import ReviewedPlan, TerraformRunner
from core.providers.terraform_plan import PlanSummary
from core.registry import Registry

Review = Callable[[PlanSummary], bool]


@dataclass(frozen=True, slots=True)
class InfraOutcome:
    """What update_infrastructure did: the plan, and the last-good record when it was applied."""

    environment: str
    plan: ReviewedPlan
    applied: bool
    record: dict[str, Any] | None = None
    restored: str | None = None  # the id of the known-good apply restored
    changes: tuple[SettingChange, ...] = ()  # the Cloud Run settings the restore changed
    verified: str = ""  # what the check after the restore found

    def sentence(self) -> str:
        if not self.applied:
            return f"{self.environment}: plan not applied ({self.plan.summary.headline()})"
        serial = self.record.get("state_serial") if self.record else None
        if self.restored is not None:
            return (f"{self.environment}: restored known-good apply {self.restored} "
                    f"({self.plan.summary.headline()}); state serial {serial}; changed: "
                    f"{describe_changes(self.changes)}; verified: {self.verified}")
        return f"{self.environment}: applied ({self.plan.summary.headline()}); state serial {serial}"


@dataclass(frozen=True, slots=True)
class InfraDrift:
    """Where the live Cloud Run service differs from what the configuration sets (`changes`: configured
    before, live after); `source` says which configuration: the last known good apply or the current plan."""

    environment: str
    service: str
    source: str
    configured: ServiceSettings
    live: ServiceSettings
    changes: tuple[SettingChange, ...]

    @property
    def drifted(self) -> bool:
        return bool(self.changes)

    def lines(self) -> list[str]:
        return [change.describe_drift() for change in self.changes]

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "service": self.service, "source": self.source,
                "drifted": self.drifted, "differences": [{**c.to_dict(), "configured": c.before, "live": c.after,
                                                          "line": c.describe_drift()} for c in self.changes],
                "configured": self.configured.to_dict(), "live": self.live.to_dict()}


def configured_settings(record: dict[str, Any] | None) -> ServiceSettings | None:
    """What a known-good apply configured for the environment's Cloud Run service, if it recorded it."""
    return recorded_settings(record)


class InfrastructureService:
    """Terraform for the configured environments, with last known good records in the registry."""

    def __init__(self, config: ConsoleConfig, registry: Registry, runner: TerraformRunner, *,
                 actor: str, now: Callable[[], datetime], gate: AccessGate | None = None,
                 cloudrun: Callable[[str], CloudRunProvider] | None = None) -> None:
        self.config = config
        self.cloudrun = cloudrun  # Cloud Run per environment: verifies a restore and finds drift (None: not checked)
        self.gate = gate or AccessGate(config, actor)  # applying and restoring are changes: the gate decides
        self.registry = registry
        self.runner = runner
        self.actor = actor
        self.now = now
        self.snapshots = runner.work_dir / "snapshots"

    def variables(self, environment: str) -> dict[str, Any]:
        """The environment's tfvars from the configuration (secrets by reference only)."""
        return {**generate_terraform_vars(self.config, environment), "environment": environment}

    def plan(self, environment: str) -> ReviewedPlan:
        self.config.environment(environment)  # BadInput naming the known environments
        return self.runner.plan(environment, self.variables(environment), now=self.now())

    def apply_plan(self, plan: ReviewedPlan, *, version: str = "", restored_from: str | None = None,
                   source: dict[str, Any] | None = None) -> dict[str, Any]:
        """Apply the reviewed plan and record it as the environment's last known good (`source`: the known-good
        apply it restores, whose commit it carries)."""
        self.gate.check(plan.environment, "apply Terraform")
        snapshot = save_snapshot(plan.config_root, self.snapshots)  # before apply: what is applied is kept
        result = self.runner.apply(plan)
        if source is None:
            commit, dirty = git_revision(plan.config_root)
        else:
            commit, dirty = source.get("git_commit"), bool(source.get("git_dirty"))
        services = plan.summary.services
        entry = {
            "id": result.plan_sha256[:12],
            "cloud_run": {"address": services[0][0], "settings": services[0][1].to_dict()} if services else None,
            "environment": plan.environment, "workspace": plan.workspace, "git_commit": commit, "git_dirty": dirty,
            "snapshot": snapshot, "plan_hash": result.plan_sha256, "state_serial": result.state_serial,
            "applied_at": self.now().isoformat(), "actor": self.actor, "version": version,
            "counts": plan.summary.counts, "destructive": plan.summary.destructive,
            "variables": plan.variables, "restored_from": restored_from,
        }
        return record_good(self.registry, plan.environment, entry)

    def update_infrastructure(self, environment: str, review: Review | None = None, *,
                              version: str = "") -> InfraOutcome:
        """Plan, let `review` see the summary (None applies without asking), apply that plan, record it."""
        self.config.environment(environment)
        self.gate.check(environment, "apply Terraform")  # before the plan: nobody reviews what they may not apply
        plan = self.plan(environment)
        if review is not None and not review(plan.summary):
            return InfraOutcome(environment, plan, applied=False)
        return InfraOutcome(environment, plan, applied=True, record=self.apply_plan(plan, version=version))

    def status(self, environment: str) -> dict[str, Any] | None:
        self.config.environment(environment)
        return last_good(self.registry, environment)

    def restore_last_good(self, environment: str, review: Review | None = None) -> InfraOutcome:
        return self.restore(environment, None, review)

    def known_good(self, environment: str, to: str | None = None) -> dict[str, Any]:
        """The known-good apply `to` names (None: the last known good); BadInput listing the known ones."""
        self.config.environment(environment)
        return choose_good(last_good(self.registry, environment), environment, to)

    def restore(self, environment: str, to: str | None = None, review: Review | None = None) -> InfraOutcome:
        """Plan and apply exactly the known-good apply `to` (None: the last known good) with the variables it was
        applied with, record it as the new last known good, then verify: a re-plan of that configuration shows no
        change and Cloud Run reports what it configures (OperationFailed naming what differs otherwise)."""
        self.config.environment(environment)
        self.gate.check(environment, "restore infrastructure")
        good = self.known_good(environment, to)  # before anything runs: an unknown id changes nothing
        ident = entry_id(good)
        before = self._live(environment)
        current = configured_settings(last_good(self.registry, environment))
        with tempfile.TemporaryDirectory(prefix="opsconsole-infra-") as temp:
            root = self._configuration_of(good, Path(temp))
            variables = good.get("variables") or self.variables(environment)
            plan = self.runner.plan(environment, variables, config_root=root, now=self.now())
            if review is not None and not review(plan.summary):
                return InfraOutcome(environment, plan, applied=False, restored=ident)
            record = self.apply_plan(plan, version=str(good.get("version", "")), restored_from=ident, source=good)
            again = self.runner.plan(environment, variables, config_root=root, now=self.now())
        if not again.summary.empty:
            raise OperationFailed(f"{environment}: restored known-good apply {ident}, but planning it again still "
                                  f"shows {again.summary.headline()}")
        configured = plan.summary.services[0][1] if plan.summary.services else None
        changes: tuple[SettingChange, ...] = ()
        verified = "a re-plan shows no changes"
        after = self._live(environment)
        if configured is not None and after is not None:
            drift = settings_changes(configured, after)
            if drift:
                raise OperationFailed(f"{environment}: restored known-good apply {ident}, but Cloud Run differs from "
                                      f"it: {describe_changes(drift, drift=True)}")
            verified += "; Cloud Run serves its settings"
            changes = settings_changes(before, configured) if before is not None else ()
        elif configured is not None and current is not None:  # no Cloud Run here: what the configuration changed
            changes = settings_changes(current, configured)
        return InfraOutcome(environment, plan, applied=True, record=record, restored=ident, changes=changes,
                            verified=verified)

    def _live(self, environment: str) -> ServiceSettings | None:
        """What Cloud Run says the environment's service is configured with (None without Cloud Run here)."""
        if self.cloudrun is None:
            return None
        service = self.config.environment(environment).infrastructure.service_name
        return self.cloudrun(environment).get_service(service).settings

    def drift(self, environment: str) -> InfraDrift:
        """Where the live Cloud Run service differs from what the last known good apply configured (or, with
        none recorded, from what the current plan sets). Reads only."""
        self.config.environment(environment)
        if self.cloudrun is None:
            raise OperationFailed("drift needs Cloud Run, which this console was not given")
        configured = configured_settings(last_good(self.registry, environment))
        source = "the last known good apply"
        if configured is None:
            services = self.plan(environment).summary.services
            if not services:
                raise OperationFailed(f"{environment}'s Terraform configures no Cloud Run service to compare")
            configured, source = services[0][1], "the current plan"
        service = self.config.environment(environment).infrastructure.service_name
        live = self._live(environment)
        if live is None:
            raise OperationFailed(f"Cloud Run did not report the settings of {service}")
        return InfraDrift(environment, service, source, configured, live, settings_changes(configured, live))

    def _configuration_of(self, good: dict[str, Any], temp: Path) -> Path:
        snapshot = good.get("snapshot")
        if snapshot and has_snapshot(self.snapshots, snapshot):
            return restore_snapshot(self.snapshots, snapshot, temp)
        commit = good.get("git_commit")
        if commit and not good.get("git_dirty"):
            return restore_from_git(self.runner.infrastructure_dir, commit, temp)
        raise OperationFailed(f"the last known good configuration of {good['environment']} is gone: its snapshot "
                              f"is not in {self.snapshots} and it was not a clean git commit")


class TerraformHook:
    """The engine's InfrastructureHook: plan and apply without asking, restore the last known good.

    Built from a factory so that a console without Terraform starts fine and only an infrastructure
    change reports the missing CLI.
    """

    def __init__(self, service: InfrastructureService | Callable[[], InfrastructureService]) -> None:
        self._service = service

    @property
    def service(self) -> InfrastructureService:
        if not isinstance(self._service, InfrastructureService):
            self._service = self._service()
        return self._service

    def apply(self, environment: str, version: str) -> str:
        return self.service.update_infrastructure(environment, version=version).sentence()

    def restore_last_good(self, environment: str) -> str:
        return self.restore(environment, None)

    def restore(self, environment: str, to: str | None) -> str:
        return self.service.restore(environment, to).sentence()

    def known_good(self, environment: str, to: str | None) -> str:
        """The id of the known-good apply `to` names (None: the last known good); BadInput when it names none."""
        return entry_id(self.service.known_good(environment, to))
