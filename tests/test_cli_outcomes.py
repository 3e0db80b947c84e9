"""Exit codes and the public deployment view as a script meets them, through the real entry point against a
standalone sandbox whose clock moves only when the console waits (the rig of tests/test_deploy_cli.py).

A deployment that waits for a person exits 3; a refusal, by access or by state, exits 4 as one object; a rollback
the operator asked for exits 0; one the engine made (a failed check) exits 1. `status ENV --json` shows the
deployment through its public view (stage, weight, split, waiting for, mode, verdict), never the registry's
internal rollout status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_deploy_cli import IMAGE, OPERATOR, Cli, _project
from tests.test_deploy_cli import sandbox as sandbox  # the module's standalone sandbox fixture

pytestmark = pytest.mark.xdist_group("cli-outcomes-sandbox")

VIEW_FIELDS = {"id", "environment", "status", "strategy", "actor", "versions", "started_at", "ended_at",
               "rollback_cause", "mode", "stage", "stages", "weight", "split", "stable_revision", "new_revision",
               "next_step", "waiting_for", "waits_for_person", "paused", "approval", "verdict", "probes",
               "verification", "overrides", "frontend"}


@pytest.fixture
def cli(tmp_path: Path, sandbox: Path) -> Iterator[Cli]:
    run = _project(tmp_path, sandbox)
    yield run
    if run.clients is not None:
        run.clients.close()


def ended(cli: Cli, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """Run with --json: every line is an object; the last is the Result, whose exit_code is the process's."""
    ran = cli(*args, "--json") if env is None else _as(cli, env, *args, "--json")
    assert ran.stderr == "", ran.stderr
    lines = [json.loads(line) for line in ran.stdout.splitlines()]
    result = lines[-1]
    assert result["event"] == "Result" and result["exit_code"] == ran.returncode, result
    assert all(line["event"] != "Result" for line in lines[:-1])
    return ran.returncode, result


def _as(cli: Cli, env: dict[str, str], *args: str) -> Any:
    from tests.cli_rig import opsconsole

    return opsconsole(*args, cwd=cli.home, env={**cli.env(), **env})


def status(cli: Cli, env: str) -> dict[str, Any]:
    ran = cli("status", env, "--json")
    assert ran.returncode == 0, ran.stderr
    assert "metadata" not in ran.stdout and "approved_through" not in ran.stdout, "internal rollout fields leaked"
    shown = json.loads(ran.stdout)
    assert isinstance(shown, dict) and shown["name"] == env
    return shown


def test_a_production_canary_waits_refuses_and_rolls_back_with_the_documented_codes(cli: Cli) -> None:
    stable = cli.live_split("production")
    deploy = ("deploy", "production", "--set", f"websocket-server={IMAGE}", "--yes")
    code, started = ended(cli, *deploy)
    assert (code, started["outcome"]) == (3, "waiting")
    view = started["deployment"]
    assert set(view) == VIEW_FIELDS and view["waits_for_person"] and "approval" in view["waiting_for"]
    assert view["mode"] == "manual" and view["stage"]["of"] == len(view["stages"])

    code, again = ended(cli, *deploy)  # one deployment per environment: refused by the state, not bad input
    assert (code, again["outcome"]) == (4, "refused") and started["deployment_id"] in again["reason"]
    code, outsider = ended(cli, "approve", "production", "--yes", env={"OPSCONSOLE_OPERATOR": "mallory"})
    assert (code, outsider["outcome"]) == (4, "refused") and "mallory may not" in outsider["reason"]
    code, nothing = ended(cli, "resume", "dev")
    assert (code, nothing["outcome"]) == (4, "refused") and "dev has no deployment in progress" in nothing["reason"]

    code, approved = ended(cli, "approve", "production", "--yes")
    assert code == 3 and approved["deployment"]["approval"]["by"] == OPERATOR
    code, _ = ended(cli, "promote", "production", "--yes")
    assert code == 3

    active = status(cli, "production")["active"]
    assert active["id"] == started["deployment_id"] and active["stage"]["name"] == "canary 10 %"
    assert active["weight"] == 10 and active["split"] == cli.live_split("production"), "the view is what serves"
    assert sum(active["split"].values()) == 100 and active["next_step"] == "canary 25 %"
    assert active["waits_for_person"] and "promote" in active["waiting_for"]
    assert active["verdict"]["outcome"] in ("pass", "inconclusive", "no_data"), active["verdict"]

    code, rolled = ended(cli, "rollback", "production", "--reason", "latency on the dashboard", "--yes")
    assert (code, rolled["outcome"], rolled["status"]) == (0, "done", "rolled_back"), "asked for, and done"
    assert rolled["deployment"]["rollback_cause"].endswith("latency on the dashboard")
    assert cli.live_split("production") == stable
    shown = status(cli, "production")
    assert shown["active"] is None and shown["last"]["status"] == "rolled_back"


def test_a_deployment_the_engine_rolls_back_exits_1_as_failed(cli: Cli) -> None:
    switched = cli("sandbox", "scenario", "canary-5xx")
    assert switched.returncode == 0, switched.stderr
    try:
        code, result = ended(cli, "deploy", "staging", "--set", f"websocket-server={IMAGE}")
    finally:
        assert cli("sandbox", "scenario", "healthy").returncode == 0

    assert (code, result["outcome"], result["status"]) == (1, "failed", "rolled_back"), result
    view = result["deployment"]  # the new revision's smoke burst answers 5xx: its verification fails first
    assert view["rollback_cause"].startswith("verification failed") and not view["verification"]["passed"]
    assert view["waiting_for"] is None and not view["waits_for_person"], "an ended deployment waits for nobody"


def test_verify_names_the_dependency_the_sandbox_broke_and_exits_1(cli: Cli) -> None:
    switched = cli("sandbox", "scenario", "firebase-unreachable")
    assert switched.returncode == 0, switched.stderr
    try:
        ran = cli("verify", "staging")
    finally:
        assert cli("sandbox", "scenario", "healthy").returncode == 0
    assert ran.returncode == 1, ran.stdout + ran.stderr
    (integration,) = [line for line in ran.stdout.splitlines() if line.split()[1:2] == ["integration"]]
    assert integration.split()[0] == "fail" and "Firebase is unreachable from" in integration, ran.stdout
