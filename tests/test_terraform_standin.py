"""The sandbox's Terraform stand-in through the runner: plans built from the HCL and diffed against its state
read as Terraform's would (create, update, delete, replace), and applies move the state serial on."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.config import default_config, generate_terraform_vars
from core.infra import make_runner
from core.providers.terraform import ReviewedPlan, TerraformRunner
from sandbox.terraform_command import standin_command

INFRA = Path(__file__).resolve().parents[1] / "infrastructure"
SERVICE = "module.websocket_server.google_cloud_run_v2_service.websocket"


@dataclass
class Applied:
    """staging applied once from a copy of infrastructure/; plans against it change no state."""

    tree: Path
    runner: TerraformRunner
    first: ReviewedPlan


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Applied:
    base = tmp_path_factory.mktemp("standin")
    tree = shutil.copytree(INFRA, base / "infrastructure")
    runner = make_runner("sandbox", {"PATH": "/usr/bin:/bin"}, base / "work", tree,
                         standin=standin_command)
    first = runner.plan("staging", variables())
    runner.apply(first)
    return Applied(tree, runner, first)


def variables(environment: str = "staging", **changes: object) -> dict[str, object]:
    return {**generate_terraform_vars(default_config(), environment), "environment": environment, **changes}


def test_a_first_plan_creates_everything_and_apply_starts_the_state(applied: Applied) -> None:
    summary = applied.first.summary
    assert summary.counts == {"create": 27, "update": 0, "delete": 0, "replace": 0}
    assert SERVICE in [c.address for c in summary.of("create")]
    assert not summary.destructive
    assert applied.runner.state_serial("staging") == 1
    assert applied.runner.plan("staging", variables()).summary.empty


def test_a_changed_variable_is_an_update_naming_the_attribute(applied: Applied) -> None:
    summary = applied.runner.plan("staging", variables(max_instances=30)).summary
    assert [(c.address, c.action, c.changed) for c in summary.changes] == [(SERVICE, "update", ("template",))]
    assert not summary.destructive


def test_a_removed_resource_is_a_destructive_delete(applied: Applied) -> None:
    module = applied.tree / "modules" / "frontend"
    main, outputs = module / "main.tf", module / "outputs.tf"
    kept = {path: path.read_text(encoding="utf-8") for path in (main, outputs)}
    try:
        text = kept[main]
        start = text.index('resource "vercel_project_environment_variable" "firebase_project_id"')
        main.write_text(text[:start] + text[text.index("}\n", start) + 2:], encoding="utf-8")
        outputs.write_text(kept[outputs].replace(
            "    vercel_project_environment_variable.firebase_project_id.key,\n", ""), encoding="utf-8")
        summary = applied.runner.plan("staging", variables()).summary
    finally:
        for path, text in kept.items():
            path.write_text(text, encoding="utf-8")
    deleted = "module.frontend.vercel_project_environment_variable.firebase_project_id"
    assert [(c.address, c.action) for c in summary.changes] == [(deleted, "delete")]
    assert summary.destructive and "(destructive)" in summary.headline()


def test_a_changed_force_new_attribute_is_a_replace(applied: Applied) -> None:
    summary = applied.runner.plan("staging", variables(region="europe-west1")).summary
    assert SERVICE in {c.address for c in summary.of("replace")}
    assert summary.destructive
    assert all(c.destructive for c in summary.of("replace"))


def test_each_environment_has_its_own_workspace_and_state(applied: Applied) -> None:
    assert applied.runner.plan("production", variables("production")).summary.counts["create"] == 28
    assert applied.runner.state_serial("production") == 0
    assert applied.runner.state_serial("staging") == 1


def test_show_json_is_terraforms_plan_format_and_an_applied_plan_file_is_removed(applied: Applied) -> None:
    runner = applied.runner
    assert not applied.first.path.exists()  # applied: only its hash is kept
    plan = runner.plan("dev", variables("dev"))
    env = {**runner.environ, "TF_DATA_DIR": str(runner.data_dir("dev") / ".terraform")}
    shown = subprocess.run([*runner.command, "show", "-json", str(plan.path)], cwd=runner.environment_dir("dev"),
                           env=env, capture_output=True, text=True, check=True)
    document = json.loads(shown.stdout)
    assert document["format_version"].startswith("1.")
    assert {tuple(c["change"]["actions"]) for c in document["resource_changes"]} == {("create",)}
    # Values are references, never the Firebase key itself.
    assert "secret_data" in shown.stdout and "AIza" not in shown.stdout


def test_the_wrapper_script_speaks_for_terraform(tmp_path: Path) -> None:
    wrapper = Path(__file__).resolve().parents[1] / "sandbox" / "bin" / "terraform"
    done = subprocess.run([str(wrapper), "version", "-json"], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "OPS_PYTHON": sys.executable})
    assert json.loads(done.stdout)["terraform_version"]
