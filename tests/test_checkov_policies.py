"""The project's checkov policies (infrastructure/checkov) and the CI gate that runs them (.ci/checkov_gate.py):
each policy fails on a deliberately bad module (tests/fixtures/terraform/bad_module) and passes on
infrastructure/; the gate fails when nothing is checked.

checkov is not in the test venv (it pins many libraries of its own). The tests use OPS_CHECKOV (set by
.ci/run to the checkov it installs beside the tests, with OPS_CHECKOV_READY the file that says the install
finished), else `checkov` on PATH, else install it once into a cache venv under the system's temporary
directory. Without it they are skipped, except in CI (env CI set), where they fail.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import pytest

from tests.pg_fixtures import in_ci

REPO = Path(__file__).resolve().parents[1]
GATE = REPO / ".ci" / "checkov_gate.py"
INFRA = REPO / "infrastructure"
BAD = Path(__file__).parent / "fixtures" / "terraform" / "bad_module"
POLICIES = ["CKV_OPS_1", "CKV_OPS_2", "CKV_OPS_3", "CKV_OPS_4", "CKV_OPS_5"]


def unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"checkov is required in CI (CI is set): {reason}", pytrace=False)
    pytest.skip(f"no checkov for the policy tests: {reason}")


def _cached_checkov() -> str:
    """checkov~=3.3 in a venv of its own under the temporary directory, installed by one worker at a time."""
    home = Path(tempfile.gettempdir()) / "opsconsole-checkov-3.3"
    home.mkdir(exist_ok=True)
    binary = home / "venv" / "bin" / "checkov"
    with (home / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "ready").exists():
            shutil.rmtree(home / "venv", ignore_errors=True)
            venv.create(home / "venv", with_pip=True)
            done = subprocess.run([str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                   "checkov~=3.3"], capture_output=True, text=True, timeout=900, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"pip install checkov~=3.3 failed: {done.stderr.strip()[-300:]}")
            (home / "ready").touch()
    return str(binary)


@pytest.fixture(scope="session")
def checkov() -> str:
    configured = os.environ.get("OPS_CHECKOV")
    if configured:
        ready = os.environ.get("OPS_CHECKOV_READY")
        deadline = time.monotonic() + 600
        while ready and not Path(ready).exists() and time.monotonic() < deadline:
            time.sleep(1)
        if Path(configured).is_file():
            return configured
        unavailable(f"OPS_CHECKOV names {configured}, which is not there")
    found = shutil.which("checkov")
    if found:
        return found
    try:
        return _cached_checkov()
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        unavailable(str(exc))
    raise AssertionError("unreachable")


def gate(checkov: str, directory: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, str(GATE), checkov, str(directory)], capture_output=True, text=True,
                          timeout=600, check=False)
    return done.returncode, done.stdout + done.stderr


def test_every_policy_fails_the_bad_module(checkov: str) -> None:
    code, out = gate(checkov, BAD)
    assert code == 1, out
    failed = {(line.split(" failed: ")[1].split(" (")[0], line.split(" ")[0])
              for line in out.splitlines() if " failed: " in line}
    assert failed >= {
        ("google_cloud_run_v2_service_iam_member.public", "CKV_OPS_1"),
        ("google_cloud_run_v2_service_iam_binding.everyone", "CKV_OPS_1"),
        ("google_cloud_run_v2_service.api", "CKV_OPS_2"),
        ("google_cloud_run_v2_service.api", "CKV_OPS_3"),  # production and 0 instances come from terraform.tfvars
        ("google_cloud_run_v2_service.api", "CKV_OPS_4"),
        ("google_cloud_run_v2_service.api", "CKV_OPS_5"),
        ("google_sql_database_instance.db", "CKV_OPS_5"),
        ("google_redis_cluster.cache", "CKV_OPS_5"),
    }, out


def test_the_platforms_infrastructure_passes_every_policy_and_checks_resources(checkov: str) -> None:
    code, out = gate(checkov, INFRA)
    assert code == 0, out
    terraform = next(line for line in out.splitlines() if line.startswith("checkov terraform:"))
    assert "failed 0" in terraform and "resources 0" not in terraform, out


def test_production_with_one_instance_fails_and_only_production(checkov: str, tmp_path: Path) -> None:
    tree = tmp_path / "infrastructure"
    shutil.copytree(INFRA, tree, ignore=shutil.ignore_patterns(".terraform", "checkov"))
    for environment in ("staging", "production"):
        tfvars = tree / "environments" / environment / "terraform.tfvars"
        tfvars.write_text(tfvars.read_text().replace("min_instances          = 2", "min_instances          = 1"))
    code, out = gate(checkov, tree)
    assert code == 1
    failures = [line for line in out.splitlines() if " failed: " in line]
    assert [line.split(" ")[0] for line in failures] == ["CKV_OPS_3"], out


def test_the_gate_fails_when_checkov_checks_nothing(checkov: str, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("no Terraform here\n")
    code, out = gate(checkov, tmp_path)
    assert code == 1
    assert f"checkov checked no terraform resource in {tmp_path}: the gate would pass on nothing" in out
