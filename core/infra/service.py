"""update_infrastructure and its parts: plan an environment, let someone review the summary, apply exactly
that plan, and record it as the last known good; restore the last known good when asked.

The CLI and the screen call plan() and apply_plan() with a person reviewing in between; the engine goes
through TerraformHook, which plans and applies without asking (the engine asked for confirmation before).
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
from core.infra.records import last_good, record_good
from core.infra.snapshot import git_revision, has_snapshot, restore_from_git, restore_snapshot, save_snapshot
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

    def sentence(self) -> str:
        if not self.applied:
            return f"{self.environment}: plan not applied ({self.plan.summary.headline()})"
        serial = self.record.get("state_serial") if self.record else None
        return f"{self.environment}: applied ({self.plan.summary.headline()}); state serial {serial}"


class InfrastructureService:
    """Terraform for the configured environments, with last known good records in the registry."""

    def __init__(self, config: ConsoleConfig, registry: Registry, runner: TerraformRunner, *,
                 actor: str, now: Callable[[], datetime], gate: AccessGate | None = None) -> None:
        self.config = config
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

    def apply_plan(self, plan: ReviewedPlan, *, version: str = "", restored_from: str | None = None) -> dict[str, Any]:
        """Apply the reviewed plan and record it as the environment's last known good."""
        self.gate.check(plan.environment, "apply Terraform")
        snapshot = save_snapshot(plan.config_root, self.snapshots)  # before apply: what is applied is kept
        result = self.runner.apply(plan)
        if restored_from is None:
            commit, dirty = git_revision(plan.config_root)
        else:
            previous = last_good(self.registry, plan.environment) or {}
            commit, dirty = previous.get("git_commit"), bool(previous.get("git_dirty"))
        entry = {
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
        """Plan and apply the last known good configuration with the variables it was applied with."""
        self.config.environment(environment)
        self.gate.check(environment, "restore infrastructure")
        good = last_good(self.registry, environment)
        if good is None:
            raise OperationFailed(f"{environment} has no last known good infrastructure: nothing was applied "
                                  "through the console yet")
        with tempfile.TemporaryDirectory(prefix="opsconsole-infra-") as temp:
            root = self._configuration_of(good, Path(temp))
            plan = self.runner.plan(environment, good.get("variables") or self.variables(environment),
                                    config_root=root, now=self.now())
            if review is not None and not review(plan.summary):
                return InfraOutcome(environment, plan, applied=False)
            label = good.get("git_commit") or good["snapshot"]
            record = self.apply_plan(plan, version=str(good.get("version", "")), restored_from=str(label))
        return InfraOutcome(environment, plan, applied=True, record=record)

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
        outcome = self.service.restore_last_good(environment)
        return f"restored last known good: {outcome.sentence()}"
