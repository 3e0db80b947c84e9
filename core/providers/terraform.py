"""The Terraform runner: drives the `terraform` (or `tofu`) CLI through init, workspace, plan, show and
apply of exactly the reviewed plan file, for one environment's root under infrastructure/environments/.

Each environment keeps its own data directory (TF_DATA_DIR) and plan files under the runner's work
directory, so the repository's infrastructure/ tree is only ever read. A plan file's sha256 is taken when
it is reviewed and checked again before apply: a file that changed in between is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import BadInput, OperationFailed
from core.providers.terraform_plan import PlanSummary, parse_plan

# Not OPSCONSOLE_*: those variables are configuration overrides, and this one is not a setting of the config.
BINARY_VARIABLE = "OPS_TERRAFORM"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_BOX = "\u2577\u2575\u2502 "  # the frame Terraform draws around diagnostics
KEEP_PLANS = 5
# Terraform's diagnostics for a variable value that cannot work: bad input (exit 2), not a failed operation.
# (A required variable with no value stays a failed plan: the configuration, not the value, is wrong.)
_BAD_VARIABLE = re.compile(r"^Error: (Invalid value for (input )?variable|Value for undeclared variable|"
                           r"Unsupported argument)")


def find_terraform(configured: str | None = None, path: str | None = None) -> tuple[str, ...]:
    """The command to run: the configured path, else `terraform`, else `tofu` on PATH."""
    if configured:
        found = shutil.which(configured, path=path) or (configured if Path(configured).is_file() else None)
        if found is None:
            raise BadInput(f"{BINARY_VARIABLE} names {configured}, which is not an executable file")
        return (found,)
    for name in ("terraform", "tofu"):
        found = shutil.which(name, path=path)
        if found:
            return (found,)
    raise BadInput(f"neither terraform nor tofu is on PATH; install one or set {BINARY_VARIABLE} to its path")


def first_error_line(stderr: str, stdout: str = "") -> str:
    """The line an operator needs from Terraform's diagnostics: the first `Error:` line, else the first line."""
    lines = [_ANSI.sub("", line).strip(_BOX).strip() for line in (stderr or stdout).splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if line.startswith("Error:"):
            return line
    return lines[0] if lines else "no message"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ReviewedPlan:
    """A saved plan file, its hash when it was shown, and what it changes."""

    environment: str
    workspace: str
    path: Path
    sha256: str
    summary: PlanSummary
    config_root: Path
    variables: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What an apply left behind: the state serial and the root outputs."""

    environment: str
    plan_sha256: str
    state_serial: int | None
    outputs: dict[str, Any]


class TerraformRunner:
    """One CLI (real or stand-in) over one infrastructure/ tree, with a work directory for its own files."""

    def __init__(self, command: Sequence[str], infrastructure_dir: Path, work_dir: Path, *,
                 environ: Mapping[str, str] | None = None, timeout_s: float = 900.0,
                 init_timeout_s: float = 300.0) -> None:
        self.command = tuple(command)
        self.infrastructure_dir = Path(infrastructure_dir)
        self.work_dir = Path(work_dir)
        self.environ = dict(os.environ if environ is None else environ)
        self.timeout_s = timeout_s
        self.init_timeout_s = init_timeout_s

    # -- plumbing ------------------------------------------------------------------------------------

    def environment_dir(self, environment: str, config_root: Path | None = None) -> Path:
        directory = (config_root or self.infrastructure_dir) / "environments" / environment
        if not directory.is_dir():
            raise BadInput(f"there is no Terraform root for {environment}: {directory} does not exist")
        return directory

    def data_dir(self, environment: str) -> Path:
        """The environment's own files. Private: a real plan file can hold sensitive values in clear."""
        directory = self.work_dir / environment
        if not directory.is_dir():
            directory.mkdir(parents=True, mode=0o700)
        return directory

    def _run(self, step: str, environment: str, args: Sequence[str], *, cwd: Path,
             timeout_s: float | None = None) -> str:
        env = {**self.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1", "NO_COLOR": "1"}
        env.pop("TF_WORKSPACE", None)  # the runner selects the workspace itself
        if environment:
            env["TF_DATA_DIR"] = str(self.data_dir(environment) / ".terraform")
        limit = timeout_s or self.timeout_s
        try:
            done = subprocess.run([*self.command, *args], cwd=cwd, env=env, capture_output=True, text=True,
                                  timeout=limit, check=False)
        except FileNotFoundError:
            raise BadInput(f"cannot run {self.command[0]}: no such file; install terraform or tofu, or set "
                           f"{BINARY_VARIABLE}") from None
        except subprocess.TimeoutExpired:
            raise OperationFailed(f"terraform {step} for {environment or 'the runner'} did not finish within "
                                  f"{limit:g} s") from None
        if done.returncode != 0:
            line = first_error_line(done.stderr, done.stdout)
            if step == "plan" and _BAD_VARIABLE.match(line):
                raise BadInput(f"terraform plan refused a variable for {environment}: {line.removeprefix('Error: ')}")
            raise OperationFailed(f"terraform {step} failed for {environment or 'the runner'}: "
                                  f"{first_error_line(done.stderr, done.stdout)}")
        return done.stdout

    # -- steps ---------------------------------------------------------------------------------------

    def version(self) -> str:
        cwd = self.infrastructure_dir if self.infrastructure_dir.is_dir() else Path.cwd()
        out = self._run("version", "", ["version", "-json"], cwd=cwd)
        try:
            return str(json.loads(out)["terraform_version"])
        except (ValueError, KeyError):
            return out.strip().splitlines()[0] if out.strip() else "unknown"

    def init(self, environment: str, config_root: Path | None = None) -> None:
        """init with the environment's backend configuration (backend.tfbackend beside its main.tf)."""
        cwd = self.environment_dir(environment, config_root)
        args = ["init", "-input=false", "-no-color"]
        if (cwd / "backend.tfbackend").exists():
            args.append("-backend-config=backend.tfbackend")
        self._run("init", environment, args, cwd=cwd, timeout_s=self.init_timeout_s)

    def select_workspace(self, environment: str, workspace: str, config_root: Path | None = None) -> None:
        """Select the workspace, creating it the first time."""
        # -or-create: Terraform 1.4+ and OpenTofu; one call instead of select, then new on the first run.
        self._run("workspace select", environment, ["workspace", "select", "-or-create=true", "-no-color", workspace],
                  cwd=self.environment_dir(environment, config_root))

    def plan(self, environment: str, variables: Mapping[str, Any], *, workspace: str | None = None,
             config_root: Path | None = None, now: datetime | None = None) -> ReviewedPlan:
        """init, workspace, `plan -out` with the variables as a tfvars.json, then `show -json` of that file."""
        root = config_root or self.infrastructure_dir
        cwd = self.environment_dir(environment, root)
        workspace = workspace or environment
        self.init(environment, root)
        self.select_workspace(environment, workspace, root)
        moment = now or datetime.now(UTC)
        # The time orders the files for pruning; the suffix keeps two plans of the same instant apart.
        stamp = f"{moment.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"
        plans = self.data_dir(environment) / "plans"
        plans.mkdir(exist_ok=True)
        _prune(plans, keep=KEEP_PLANS)
        var_file = plans / f"{stamp}.tfvars.json"
        var_file.write_text(json.dumps(dict(variables), indent=2, sort_keys=True), encoding="utf-8")
        plan_file = plans / f"{stamp}.tfplan"
        self._run("plan", environment, ["plan", "-input=false", "-no-color", "-lock-timeout=60s",
                                        f"-out={plan_file}", f"-var-file={var_file}"], cwd=cwd)
        sha = file_sha256(plan_file)
        summary = self.show(environment, plan_file, root)
        if file_sha256(plan_file) != sha:  # what was summarised must be what is hashed
            raise OperationFailed(f"the plan file {plan_file.name} changed while it was read; plan {environment} again")
        return ReviewedPlan(environment=environment, workspace=workspace, path=plan_file, sha256=sha,
                            summary=summary, config_root=root, variables=dict(variables), created_at=moment)

    def show(self, environment: str, plan_file: Path, config_root: Path | None = None) -> PlanSummary:
        out = self._run("show", environment, ["show", "-json", "-no-color", str(plan_file)],
                        cwd=self.environment_dir(environment, config_root))
        try:
            return parse_plan(json.loads(out))
        except ValueError:
            raise OperationFailed(f"terraform show -json printed something that is not JSON for {environment}") \
                from None

    def apply(self, plan: ReviewedPlan) -> ApplyResult:
        """Apply exactly the reviewed plan file; a file whose hash changed since review is refused."""
        if not plan.path.exists():
            raise OperationFailed(f"the reviewed plan file {plan.path} is gone; plan {plan.environment} again")
        if file_sha256(plan.path) != plan.sha256:
            raise OperationFailed(f"the plan file {plan.path.name} changed since it was reviewed; "
                                  f"nothing was applied to {plan.environment}; plan again")
        cwd = self.environment_dir(plan.environment, plan.config_root)
        self._run("apply", plan.environment, ["apply", "-input=false", "-no-color", "-lock-timeout=60s",
                                              str(plan.path)], cwd=cwd)
        plan.path.unlink(missing_ok=True)  # applied: its hash is the record, and it may hold sensitive values
        state = self.pull_state(plan.environment, plan.config_root)
        return ApplyResult(environment=plan.environment, plan_sha256=plan.sha256, state_serial=_serial(state),
                           outputs=_outputs(state))

    def pull_state(self, environment: str, config_root: Path | None = None) -> dict[str, Any]:
        """The environment's current state document (`state pull`), {} when there is none yet."""
        out = self._run("state pull", environment, ["state", "pull"],
                        cwd=self.environment_dir(environment, config_root))
        try:
            state = json.loads(out) if out.strip() else {}
        except ValueError:
            raise OperationFailed(f"terraform state pull printed something that is not JSON for {environment}") \
                from None
        return state if isinstance(state, dict) else {}

    def state_serial(self, environment: str, config_root: Path | None = None) -> int | None:
        return _serial(self.pull_state(environment, config_root))


def _prune(plans: Path, keep: int) -> None:
    """Keep the newest `keep` unapplied plans (and their variables); older ones were never applied."""
    stale = sorted(plans.glob("*.tfplan"))[:-keep] if keep else sorted(plans.glob("*.tfplan"))
    for path in stale:
        path.unlink(missing_ok=True)
        path.with_suffix(".tfvars.json").unlink(missing_ok=True)


def _serial(state: dict[str, Any]) -> int | None:
    serial = state.get("serial")
    return serial if isinstance(serial, int) else None


def _outputs(state: dict[str, Any]) -> dict[str, Any]:
    """Root outputs by name; sensitive ones are named, never read."""
    outputs = state.get("outputs") or {}
    return {name: ("(sensitive)" if item.get("sensitive") else item.get("value")) for name, item in outputs.items()
            if isinstance(item, dict)}
