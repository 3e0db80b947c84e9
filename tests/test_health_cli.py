"""`opsconsole status` and `opsconsole watch` report live health as an operator or a pipeline gate sees it,
in-process against a sandbox saved with a scenario (the console starts it on the state file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.watch_commands import EXIT_DOWN
from core.registry import DeploymentRegistry
from tests.cli_project import run, save_scenario  # the `project` fixture: tests/conftest.py


def _scenario(project: Path, name: str) -> None:
    save_scenario(project, name)


def test_status_json_carries_observed_health_and_the_history_lists_the_change(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scenario(project, "instances-zero")
    code, out, err = run(capsys, "status", "production", "--json")
    assert (code, err) == (0, "")
    state = json.loads(out)
    assert state["name"] == "production" and state["health"]["state"] == "down"
    assert "no instance is running" in state["health"]["reason"]
    assert state["health"]["numbers"]["instances"] == 0

    code, out, _ = run(capsys, "status", "production", "--json")  # a second look: the same state, not recorded
    code, out, _ = run(capsys, "status", "--history", "production")
    assert code == 0
    (line,) = out.splitlines()
    assert "production" in line and "down" in line and "no instance is running" in line
    assert DeploymentRegistry(project / "registry.json").get_environment_state("production").health == "down"


def test_a_read_only_console_or_an_outsider_sees_health_and_records_nothing(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _scenario(project, "healthy")
    code, out, err = run(capsys, "--read-only", "status", "dev", "--json")
    assert (code, err) == (0, "") and json.loads(out)["health"]["state"] == "ok"
    monkeypatch.setenv("OPSCONSOLE_OPERATOR", "mallory")  # production: team operations only
    code, out, err = run(capsys, "watch", "production", "--polls", "1")
    assert (code, err) == (0, "") and " ok " in out
    code, out, _ = run(capsys, "status", "--history", "--json")
    assert json.loads(out) == []


def test_watch_exits_with_its_documented_code_when_an_environment_is_down(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scenario(project, "instances-zero")
    code, out, _ = run(capsys, "watch", "staging", "production", "--json", "--exit-on-down")
    assert code == EXIT_DOWN == 5, "a pipeline gate tells down apart from waiting (3) and refused (4)"
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["environment"]: line["state"] for line in lines} == {"staging": "down", "production": "down"}
    code, out, _ = run(capsys, "watch", "--help")
    assert "5 unhealthy: with watch --exit-on-down, an environment is down" in " ".join(out.split())


def test_watch_prints_each_environment_once_then_only_changes(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scenario(project, "healthy")
    code, out, err = run(capsys, "watch", "dev", "production", "--polls", "3", "--interval", "5")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 2 and all(" ok " in line for line in lines), out
    code, out, _ = run(capsys, "status", "--history", "--json")
    assert sorted(h["environment"] for h in json.loads(out)) == ["dev", "production"]


def test_a_bad_health_threshold_is_refused_at_load_naming_the_key(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "opsconsole.toml").write_text('[environments.staging.health]\nmax_5xx_rate = 2\n')
    for args in (("watch", "staging"), ("status", "--history")):
        code, _, err = run(capsys, *args)
        assert code == 2 and "environments.staging.health.max_5xx_rate" in err, args
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
