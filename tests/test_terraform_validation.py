"""The stand-in's rules for Terraform variables (sandbox/terraform_variables.py): types, validation blocks,
undeclared variables; one sentence naming the variable, its file and the rule; exit 2 through
`opsconsole infra plan`. Fixture: tests/fixtures/terraform/validated (a root and a module with validation blocks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import terraform_hcl as hcl
from sandbox.terraform_variables import Evaluator, Unsupported, convert, parse, parse_type, unsupported_conditions

REPO = Path(__file__).resolve().parents[1]
INFRA = REPO / "infrastructure"
FIXTURE = Path(__file__).parent / "fixtures" / "terraform" / "validated"


def module_dirs(root: Path) -> list[Path]:
    return sorted({path.parent for path in root.rglob("*.tf") if ".terraform" not in path.parts})


@pytest.mark.parametrize("directory", module_dirs(INFRA), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_type_and_condition_in_infrastructure_is_read_by_the_evaluator(directory: Path) -> None:
    # A condition the stand-in cannot read is only a warning at plan time; here it fails, so the evaluator is
    # extended (sandbox/terraform_functions.py FUNCTIONS) before such a rule ships unenforced in the sandbox.
    assert unsupported_conditions(hcl.load_module(directory)) == []


@pytest.mark.parametrize(("condition", "variables", "expected"), [
    ('contains(["a", "b"], var.x)', {"x": "b"}, True),
    ('contains(["a", "b"], var.x)', {"x": "c"}, False),
    ("var.x >= 1 && var.x <= 1000 && floor(var.x) == var.x", {"x": 5000}, False),
    ("var.x >= 1 && var.x <= 1000 && floor(var.x) == var.x", {"x": 2.5}, False),
    ("var.x >= 1 && var.x <= 1000 && floor(var.x) == var.x", {"x": 20}, True),
    ('can(regex("^wss?://[^/@\\\\s]+(/\\\\S*)?$", var.x))', {"x": "wss://a:b@h"}, False),
    ('can(regex("^wss?://[^/@\\\\s]+(/\\\\S*)?$", var.x))', {"x": "wss://h/p"}, True),
    ("length(var.x) > 0", {"x": []}, False),
    ('alltrue([for e in var.x : !endswith(e, ".gserviceaccount.com")])', {"x": ["a@b.c"]}, True),
    ('alltrue([for e in var.x : !endswith(e, ".gserviceaccount.com")])', {"x": ["s@p.iam.gserviceaccount.com"]},
     False),
    ('var.x == null || contains(["R"], coalesce(var.x, "R"))', {"x": None}, True),
    ('contains(keys(var.m), "k") && var.m["k"].s != null', {"m": {"k": {"s": "v"}}}, True),
    ('contains(keys(var.m), "k") && var.m["k"].s != null', {"m": {"k": {"s": None}}}, False),
    ("var.e != \"production\" || var.n >= 2", {"e": "production", "n": 1}, False),
    ("length({for k, v in var.m : k => v if v > 1}) == 1", {"m": {"a": 1, "b": 2}}, True),
    ("var.n % 2 == 0 ? true : false", {"n": 4}, True),
])
def test_the_evaluator_reads_the_forms_the_repository_uses(condition: str, variables: dict, expected: bool) -> None:
    assert Evaluator(variables).run(parse(condition)) is expected


@pytest.mark.parametrize("condition", ["sha256(var.x) != \"\"", "var.x[*].a == []", "\"${var.x}\" == \"a\"",
                                       "__import__(\"os\")"])
def test_what_the_evaluator_cannot_read_is_said_not_passed(condition: str) -> None:
    with pytest.raises(Unsupported):
        tree = parse(condition)
        Evaluator({"x": "a"}).run(tree)


def test_types_convert_as_terraform_converts_them() -> None:
    kind = parse_type('${map(object({env_var = optional(string), version = optional(string, "latest")}))}')
    assert convert({"a": {"env_var": "T", "extra": 1}}, kind) == {"a": {"env_var": "T", "version": "latest"}}
    assert convert("5", parse_type("number")) == 5
    assert convert(5, parse_type("string")) == "5"
    assert convert("true", parse_type("bool")) is True
    for value, type_text in (("two", "number"), ([1], "string"), ({"a": 1}, "${list(string)}"), ("x", "bool")):
        with pytest.raises(Exception, match="required"):
            convert(value, parse_type(type_text))


def standin(cwd: Path, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_DATA_DIR": str(state / ".terraform"),
           "TF_STANDIN_STATE_DIR": str(state / "buckets")}
    return subprocess.run([sys.executable, "-m", "sandbox.terraform_standin", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def error_line(stderr: str) -> str:
    lines = [line.strip("\u2577\u2575\u2502 ") for line in stderr.splitlines()]
    return next(line for line in lines if line.startswith("Error:"))


@pytest.fixture
def fixture_root(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURE, tree)
    root = tree / "environments" / "production"
    assert standin(root, tmp_path, "init").returncode == 0
    return root


def test_the_fixture_plans_with_good_values_and_warns_of_the_condition_it_cannot_read(fixture_root: Path,
                                                                                       tmp_path: Path) -> None:
    done = standin(fixture_root, tmp_path, "plan", f"-out={tmp_path / 'plan'}")
    assert done.returncode == 0, done.stderr
    assert "Plan: 1 to add" in done.stdout
    assert ('Warning: the stand-in cannot evaluate the validation condition of variable "unreadable" '
            '(environments/production/variables.tf:') in done.stderr and "sha256()" in done.stderr


@pytest.mark.parametrize(("given", "expected"), [
    ("max_instances=5000", 'Error: Invalid value for variable "max_instances" = 5000 '
     "(modules/service/variables.tf:6, module.service, rule `var.max_instances >= 1 && var.max_instances <= 1000 "
     "&& floor(var.max_instances) == var.max_instances`): max_instances must be a whole number from 1 to 1000."),
    ("cpu_utilization_target=7", 'Error: Invalid value for variable "cpu_utilization_target" = 7 '
     "(modules/service/variables.tf:16, module.service, rule `var.cpu_utilization_target >= 0.1 && "
     "var.cpu_utilization_target <= 0.95`): cpu_utilization_target must be a fraction from 0.1 to 0.95."),
    ("min_instances=two", 'Error: Invalid value for input variable "min_instances" = "two" '
     '(environments/production/variables.tf:10, root module, type number): a number is required, got the string '
     '"two"'),
    ("min_instances=1", 'Error: Invalid value for variable "min_instances" = 1 '
     '(environments/production/variables.tf:10, root module, rule `var.environment != "production" || '
     'var.min_instances >= 2`): production keeps at least 2 '
     "instances warm (high availability)."),
    ("websocket_url=wss://admin:hunter2@ws.example.com", 'Error: Invalid value for variable "websocket_url" = '
     '"wss://admin:hunter2@ws.example.com" (environments/production/variables.tf:33, root module, rule '
     '`can(regex("^wss?://[^/@\\\\s]+(/\\\\S*)?$", var.websocket_url))`): websocket_url must be a ws:// or wss:// '
     "URL without credentials."),
    ("flags=[1]", 'Error: Invalid value for input variable "flags" = "[1]" (environments/production/variables.tf:56, '
     "root module, type list(bool)): a list is required, got the string \"[1]\""),
    ("replicas=3", 'Error: Value for undeclared variable "replicas" in -var: the root module '
     '(environments/production) declares no variable "replicas"'),
])
def test_a_bad_value_is_refused_in_one_sentence_naming_variable_file_and_rule(fixture_root: Path, tmp_path: Path,
                                                                              given: str, expected: str) -> None:
    done = standin(fixture_root, tmp_path, "plan", f"-var={given}", f"-out={tmp_path / 'plan'}")
    assert done.returncode == 1
    assert error_line(done.stderr) == expected
    assert not (tmp_path / "plan").exists()


def test_an_undeclared_variable_in_terraform_tfvars_and_a_bad_object_are_refused(fixture_root: Path,
                                                                               tmp_path: Path) -> None:
    tfvars = fixture_root / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text() + 'region = "us-central1"\n')
    done = standin(fixture_root, tmp_path, "plan")
    assert error_line(done.stderr) == ('Error: Value for undeclared variable "region" in terraform.tfvars: the root '
                                       'module (environments/production) declares no variable "region"')
    (tmp_path / "bad.tfvars.json").write_text(json.dumps({"secret_refs": {"both": {"secret": "s", "env_var": "E"}}}))
    tfvars.write_text(tfvars.read_text().replace('region = "us-central1"\n', ""))
    done = standin(fixture_root, tmp_path, "plan", f"-var-file={tmp_path / 'bad.tfvars.json'}")
    assert done.returncode == 1
    assert 'Invalid value for variable "secret_refs"' in error_line(done.stderr)
    assert "names either a Secret Manager secret or an environment variable" in done.stderr


def test_a_refused_variable_is_bad_input_through_opsconsole_infra_plan(tmp_path: Path) -> None:
    # The console's own configuration refuses max_instances over 1000; a root that allows at most 50 (a
    # validation block added to a copy of infrastructure/) refuses 60, which the configuration accepts.
    tree = tmp_path / "infrastructure"
    shutil.copytree(INFRA, tree, ignore=shutil.ignore_patterns(".terraform"))
    variables = tree / "environments" / "staging" / "variables.tf"
    text = variables.read_text()
    block = ('variable "max_instances" {\n  description = "Most instances the autoscaler may start."\n'
             '  type        = number\n')
    assert block in text
    variables.write_text(text.replace(block, block + '\n  validation {\n    condition     = var.max_instances <= 50\n'
                                      '    error_message = "staging runs at most 50 instances."\n  }\n'))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCONSOLE_", "OPS_"))}
    environ.update(OPSCONSOLE_REGISTRY=str(tmp_path / "data" / "registry.json"), OPS_INFRA_DIR=str(tree),
                   OPSCONSOLE_ENVIRONMENTS__STAGING__INFRASTRUCTURE__MAX_INSTANCES="60")
    done = subprocess.run([sys.executable, "-m", "console", "infra", "plan", "staging"], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    line = text.splitlines().index('variable "max_instances" {') + 1  # where the file declares it
    assert done.stderr.strip() == ('opsconsole: terraform plan refused a variable for staging: Invalid value for '
                                   f'variable "max_instances" = 60 (environments/staging/variables.tf:{line}, root '
                                   'module, rule `var.max_instances <= 50`): staging runs at most 50 instances.')
