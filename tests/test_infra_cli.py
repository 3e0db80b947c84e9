"""`opsconsole infra plan|apply|status` end to end on the sandbox (the Terraform stand-in), as CI and an
operator run them: output, JSON, exit codes, the refusal to apply unasked, and the last known good.

One test runs the installed entry point in its own process; the others call the same `main` in-process,
which spares a second of imports per command and exercises the same code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from core.registry import DeploymentRegistry

SERVICE = "module.websocket_server.google_cloud_run_v2_service.websocket"


@pytest.fixture
def opsconsole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run `opsconsole ARGS` in-process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("OPSCONSOLE_REGISTRY", str(tmp_path / "data" / "registry.json"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str, **env: str) -> tuple[int, str, str]:
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            with pytest.raises(SystemExit) as exited:
                main(list(args))
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return run


def last_good(tmp_path: Path, environment: str) -> dict | None:
    return DeploymentRegistry(tmp_path / "data" / "registry.json").get_record("infrastructure", environment)


def test_apply_without_a_terminal_or_yes_shows_the_plan_and_exits_2(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCONSOLE_", "OPS_"))}
    environ["OPSCONSOLE_REGISTRY"] = str(tmp_path / "data" / "registry.json")
    done = subprocess.run([sys.executable, "-m", "console", "infra", "apply", "staging"], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 2
    assert "27 to create, 0 to update, 0 to delete, 0 to replace" in done.stdout
    assert SERVICE in done.stdout
    assert done.stderr.strip() == ("opsconsole: applying Terraform to staging needs --yes when not run at a "
                                   "terminal; nothing was applied")
    assert last_good(tmp_path, "staging") is None


def test_plan_apply_with_yes_and_status_record_the_last_known_good(opsconsole, tmp_path: Path) -> None:
    code, out, err = opsconsole("infra", "plan", "staging", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"create": 27, "update": 0, "delete": 0, "replace": 0}

    code, out, err = opsconsole("infra", "apply", "staging", "--yes", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["applied"] is True and answer["last_good"]["state_serial"] == 1
    recorded = last_good(tmp_path, "staging")
    assert recorded is not None and recorded["plan_hash"] == answer["plan_hash"]

    # A setting changed in the configuration is planned as an update of the service, nothing destroyed.
    code, out, err = opsconsole("infra", "plan", "staging",
                                OPSCONSOLE_ENVIRONMENTS__STAGING__INFRASTRUCTURE__MAX_INSTANCES="30")
    assert code == 0, err
    assert "0 to create, 1 to update, 0 to delete, 0 to replace" in out
    assert "~ update" in out and SERVICE in out and "(destructive)" not in out

    code, out, err = opsconsole("infra", "status", "staging")
    assert code == 0, err
    assert answer["plan_hash"][:12] in out  # the apply's id, which `rollback --to` takes


def test_unknown_environment_and_missing_terraform_are_bad_input(opsconsole, tmp_path: Path) -> None:
    code, _, err = opsconsole("infra", "plan", "qa")
    assert code == 2 and "qa" in err
    code, _, err = opsconsole("infra", "plan", "staging", OPSCONSOLE_PROFILE="gcp", PATH=str(tmp_path / "empty"))
    assert code == 2
    assert err.strip() == ("opsconsole: neither terraform nor tofu is on PATH; install one or set OPS_TERRAFORM "
                           "to its path")
