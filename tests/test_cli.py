"""The headless `opsconsole` CLI as an operator or a CI job runs it: output, JSON, exit codes, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.registry import DeploymentRegistry, DeploymentStatus
from tests.cli_rig import Ran, opsconsole


def run(*args: str, cwd: Path, registry: Path, env: dict[str, str] | None = None) -> Ran:
    """In this process (the same `main`); `run_process` below keeps two tests on the real entry point."""
    return opsconsole(*args, cwd=cwd, env={"OPSCONSOLE_REGISTRY": str(registry), "XDG_CONFIG_HOME": str(cwd / "xdg"),
                                           **(env or {})})


def run_process(*args: str, cwd: Path, registry: Path) -> subprocess.CompletedProcess[str]:
    """`python -m console ARGS` in its own process: the entry point, its exit code and its stderr as a shell sees."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    environ.update({"OPSCONSOLE_REGISTRY": str(registry), "XDG_CONFIG_HOME": str(cwd / "xdg")})
    return subprocess.run(
        [sys.executable, "-m", "console", *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "registry.json"
    registry = DeploymentRegistry(path)
    start = datetime.now(UTC) - timedelta(hours=3)
    done = registry.register_deployment(
        {
            "environment": "staging",
            "versions": {"websocket-server": "v1.4.0"},
            "strategy": "blue-green",
            "actor": "alice",
            "started_at": start,
        }
    )
    registry.append_event(done, "intent", "deploy revision", actor="alice", detail={"image": "ws:v1.4.0"})
    registry.update_deployment(done, status=DeploymentStatus.SUCCEEDED, ended_at=start + timedelta(minutes=7))
    rolled = registry.register_deployment(
        {
            "environment": "production",
            "versions": {"websocket-server": "v1.5.0"},
            "strategy": "canary",
            "actor": "bob",
            "started_at": start + timedelta(hours=1),
        }
    )
    registry.update_deployment(rolled, status=DeploymentStatus.ROLLED_BACK, rollback_cause="5xx rate 8% > 5% at 10%")
    registry.register_deployment(
        {"environment": "production", "versions": {"websocket-server": "v1.5.1"}, "strategy": "canary", "actor": "bob"}
    )
    return path


def test_status_shows_each_environment_with_its_current_version(tmp_path: Path, registry_file: Path) -> None:
    result = run("status", cwd=tmp_path, registry=registry_file)
    assert result.returncode == 0, result.stderr
    assert "staging" in result.stdout and "websocket-server=v1.4.0" in result.stdout
    assert "canary" in result.stdout  # production's strategy from the built-in configuration
    by_name = json.loads(run("status", "--json", cwd=tmp_path, registry=registry_file).stdout)
    assert set(by_name) == {"dev", "staging", "production"}, "an object keyed by environment"
    assert by_name["staging"]["current_versions"] == {"websocket-server": "v1.4.0"}
    assert by_name["production"]["active"]["versions"] == {"websocket-server": "v1.5.1"}


def test_no_command_prints_the_status(tmp_path: Path, registry_file: Path) -> None:
    result = run_process(cwd=tmp_path, registry=registry_file)
    assert result.returncode == 0 and "Environments" in result.stdout


def test_history_filters_by_environment_and_status(tmp_path: Path, registry_file: Path) -> None:
    result = run(
        "history", "--env", "production", "--status", "rolled_back", "--json", cwd=tmp_path, registry=registry_file
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [(d["environment"], d["status"], d["rollback_cause"]) for d in found] == [
        ("production", "rolled_back", "5xx rate 8% > 5% at 10%")
    ]
    assert len(json.loads(run("history", "--limit", "2", "--json", cwd=tmp_path, registry=registry_file).stdout)) == 2
    table = run("history", cwd=tmp_path, registry=registry_file).stdout
    assert table.index("v1.5.1") < table.index("v1.4.0"), "newest first"


def test_deployment_shows_its_event_log(tmp_path: Path, registry_file: Path) -> None:
    listed = json.loads(run("history", "--env", "staging", "--json", cwd=tmp_path, registry=registry_file).stdout)
    result = run("deployment", listed[0]["id"], cwd=tmp_path, registry=registry_file)
    assert result.returncode == 0, result.stderr
    assert "deploy revision" in result.stdout and "succeeded" in result.stdout and "7m00s" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("deployment", "d-20990101-000000-000-ffffff"), "no deployment with id"),
        (("status", "prod"), "'prod' is not one of"),
        (("history", "--limit", "0"), "--limit"),
        (("history", "--status", "done"), "'done' is not one of"),
        (("--config", "missing.toml", "status"), "missing.toml does not exist"),
        (("frobnicate",), "No such command"),
    ],
)
def test_bad_input_is_one_clear_message_and_exit_code_2(
    tmp_path: Path, registry_file: Path, args: tuple[str, ...], needle: str
) -> None:
    result = run(*args, cwd=tmp_path, registry=registry_file)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_an_invalid_project_file_is_named_with_the_field_and_exit_code_2(tmp_path: Path, registry_file: Path) -> None:
    (tmp_path / "opsconsole.toml").write_text("[environments.production.infrastructure]\nmin_instances = 1\n")
    result = run("config", "validate", cwd=tmp_path, registry=registry_file)
    assert result.returncode == 2
    assert "opsconsole.toml" in result.stderr
    assert "environments.production.infrastructure.min_instances" in result.stderr
    assert "Traceback" not in result.stderr
    # Every command reads the configuration, so a broken file stops them all the same way.
    assert run("status", cwd=tmp_path, registry=registry_file).returncode == 2


def test_config_show_reports_sources_and_env_overrides(tmp_path: Path, registry_file: Path) -> None:
    (tmp_path / "opsconsole.toml").write_text(
        '[environments.dev.strategy]\nkind = "blue-green"\nobservation_window_s = 90\n'
    )
    result = run(
        "config",
        "show",
        "--json",
        cwd=tmp_path,
        registry=registry_file,
        env={"OPSCONSOLE_ENVIRONMENTS__STAGING__INFRASTRUCTURE__MAX_INSTANCES": "30"},
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["config"]["environments"]["dev"]["strategy"]["observation_window_s"] == 90
    assert shown["config"]["environments"]["staging"]["infrastructure"]["max_instances"] == 30
    assert any("opsconsole.toml" in s for s in shown["sources"])


def test_help_lists_the_exit_codes(tmp_path: Path, registry_file: Path) -> None:
    result = run("history", "--help", cwd=tmp_path, registry=registry_file)
    assert result.returncode == 0
    assert "2  bad input" in result.stdout


def test_a_corrupt_registry_is_named_and_left_untouched(tmp_path: Path, registry_file: Path) -> None:
    registry_file.write_text('{"_meta": {"schema": 1, "serial": 3}, "deployments": {')
    before = registry_file.read_bytes()
    result = run_process("status", cwd=tmp_path, registry=registry_file)
    assert result.returncode != 0
    assert str(registry_file) in result.stderr and "Traceback" not in result.stderr
    assert registry_file.read_bytes() == before
