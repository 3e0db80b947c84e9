"""The Terraform runner as an operator meets it: which CLI it runs, what a failure says, that only the reviewed
plan file is applied, and that the real terraform's `show -json` reads the same as the stand-in's."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from core.config import default_config, generate_terraform_vars
from core.errors import BadInput, OperationFailed
from core.infra import make_runner
from core.providers.terraform import TerraformRunner, _prune, find_terraform, first_error_line
from sandbox.terraform_command import standin_command

INFRA = Path(__file__).resolve().parents[1] / "infrastructure"
TERRAFORM = shutil.which("terraform")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return shutil.copytree(INFRA, tmp_path / "infrastructure")


@pytest.fixture
def runner(tree: Path, tmp_path: Path) -> TerraformRunner:
    return make_runner("sandbox", {"PATH": "/usr/bin:/bin"}, tmp_path / "work", tree,
                         standin=standin_command)


def staging_vars() -> dict[str, object]:
    return {**generate_terraform_vars(default_config(), "staging"), "environment": "staging"}


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_neither_terraform_nor_tofu_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"^neither terraform nor tofu is on PATH; install one or set "
                                       r"OPS_TERRAFORM to its path$"):
        find_terraform(None, path=str(tmp_path))


def test_tofu_is_used_when_terraform_is_absent_and_a_configured_path_wins(tmp_path: Path) -> None:
    tofu = executable(tmp_path / "tofu")
    assert find_terraform(None, path=str(tmp_path)) == (str(tofu),)
    mine = executable(tmp_path / "my-terraform")
    assert find_terraform(str(mine), path=str(tmp_path)) == (str(mine),)
    with pytest.raises(BadInput, match="OPS_TERRAFORM names"):
        find_terraform(str(tmp_path / "missing"), path=str(tmp_path))


def test_the_gcp_profile_needs_a_real_cli(tmp_path: Path, tree: Path) -> None:
    with pytest.raises(BadInput, match="neither terraform nor tofu"):
        make_runner("gcp", {"PATH": str(tmp_path)}, tmp_path / "work", tree,
                         standin=standin_command)


def test_the_first_error_line_is_picked_out_of_terraforms_boxes() -> None:
    stderr = ("\x1b[33m╷\x1b[0m\n│ Warning: Unable to open CLI configuration file\n│\n╵\n"
              "╷\n│ Error: Unsupported argument\n│\n│   on main.tf line 3:\n╵\n")
    assert first_error_line(stderr) == "Error: Unsupported argument"
    assert first_error_line("", "only stdout\n") == "only stdout"


def test_a_failing_step_is_named_with_terraforms_first_error(runner: TerraformRunner, tree: Path) -> None:
    main = tree / "environments" / "staging" / "main.tf"
    main.write_text(main.read_text(encoding="utf-8") + "\nresource {\n", encoding="utf-8")
    with pytest.raises(OperationFailed, match=r"^terraform init failed for staging: Error: Invalid HCL in main\.tf"):
        runner.plan("staging", staging_vars())


def test_a_missing_variable_fails_the_plan_step(runner: TerraformRunner, tree: Path) -> None:
    (tree / "environments" / "staging" / "terraform.tfvars").unlink()
    with pytest.raises(OperationFailed, match=r'^terraform plan failed for staging: Error: No value for required '
                                              r'variable "image"'):
        runner.plan("staging", staging_vars())


def test_a_plan_file_changed_after_review_is_refused(runner: TerraformRunner) -> None:
    plan = runner.plan("staging", staging_vars())
    plan.path.write_text(plan.path.read_text(encoding="utf-8").replace("websocket-server", "evil"), encoding="utf-8")
    with pytest.raises(OperationFailed, match="changed since it was reviewed; nothing was applied to staging"):
        runner.apply(plan)
    assert runner.state_serial("staging") == 0


def test_a_plan_made_stale_by_another_apply_is_refused(runner: TerraformRunner) -> None:
    first = runner.plan("staging", staging_vars())
    second = runner.plan("staging", staging_vars())
    runner.apply(first)
    with pytest.raises(OperationFailed, match="terraform apply failed for staging: Error: Saved plan is stale"):
        runner.apply(second)
    assert runner.state_serial("staging") == 1


def test_a_step_that_hangs_times_out(tree: Path, tmp_path: Path) -> None:
    hanging = TerraformRunner([sys.executable, "-c", "import time; time.sleep(30)"], tree, tmp_path / "work",
                              timeout_s=0.5, init_timeout_s=0.5)
    with pytest.raises(OperationFailed, match=r"^terraform init for staging did not finish within 0\.5 s$"):
        hanging.plan("staging", staging_vars())


def test_an_unknown_environment_root_is_bad_input(runner: TerraformRunner) -> None:
    with pytest.raises(BadInput, match="there is no Terraform root for qa"):
        runner.plan("qa", {})


LOCAL_ONLY = """
terraform {
  backend "local" {}
}

variable "revision" {
  type = string
}

resource "terraform_data" "kept" {
  input = "always"
}

resource "terraform_data" "moved" {
  input            = var.revision
  triggers_replace = [var.revision]
}
"""


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed here (CI machines may not have it)")
def test_the_real_terraform_plans_and_applies_through_the_same_parser(tmp_path: Path) -> None:
    """terraform_data is built in: no provider download, so this runs offline."""
    root = tmp_path / "infra" / "environments" / "dev"
    root.mkdir(parents=True)
    (root / "main.tf").write_text(LOCAL_ONLY, encoding="utf-8")
    (root / "backend.tfbackend").write_text(f'path = "{tmp_path / "state" / "dev.tfstate"}"\n', encoding="utf-8")
    runner = TerraformRunner([TERRAFORM], tmp_path / "infra", tmp_path / "work", environ=dict(os.environ))
    first = runner.plan("dev", {"revision": "a"})
    assert first.summary.counts == {"create": 2, "update": 0, "delete": 0, "replace": 0}
    applied = runner.apply(first)
    assert applied.state_serial is not None and applied.state_serial >= 1
    second = runner.plan("dev", {"revision": "b"})
    assert [(c.address, c.action) for c in second.summary.changes] == [("terraform_data.moved", "replace")]
    assert second.summary.destructive
    assert second.summary.terraform_version == runner.version()
    runner.apply(second)
    assert runner.state_serial("dev") > applied.state_serial


def test_only_the_newest_unapplied_plans_are_kept(tmp_path: Path) -> None:
    for stamp in range(8):
        (tmp_path / f"2026{stamp:02d}.tfplan").write_text("plan", encoding="utf-8")
        (tmp_path / f"2026{stamp:02d}.tfvars.json").write_text("{}", encoding="utf-8")
    _prune(tmp_path, keep=5)
    assert sorted(p.name for p in tmp_path.glob("*.tfplan")) == [f"2026{s:02d}.tfplan" for s in range(3, 8)]
    assert len(list(tmp_path.glob("*.tfvars.json"))) == 5
