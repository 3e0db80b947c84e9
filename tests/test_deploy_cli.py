"""The headless deployment commands as CI runs them: `python -m console ...` against a standalone sandbox
whose clock only moves when the console waits (`sandbox serve --speed 0`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from console.wiring import running_sandbox, seed_from_config
from core.config import default_config
from core.providers.cloudrun import CloudRunAdapter
from core.providers.profile import GoogleClients, google_clients
from core.registry import Deployment, DeploymentRegistry
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.monitoring_ingest import FAST as FAST_POINTS
from tests.cli_rig import Ran, opsconsole

# The module's standalone sandbox starts once: its tests stay together on one xdist worker.
pytestmark = pytest.mark.xdist_group("deploy-cli-sandbox")

OPERATOR = "alice"
IMAGE = "example/websocket-server:v2.0.0"
EPOCH = 4_000_007_200.0
"""The sandbox's clock starts here (in the future, so a restored clock jumps to it): the same traffic, and so
the same verdicts, on every run; at this epoch each canary step passes its first window, which keeps the test short."""


@dataclass
class Cli:
    """Runs `opsconsole` in a project directory; reads the registry and the sandbox's Cloud Run directly."""

    home: Path
    sandbox: Path
    clients: GoogleClients | None = None

    def env(self) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
        environ.update(OPSCONSOLE_REGISTRY=str(self.home / "registry.json"),
                       OPSCONSOLE_SANDBOX=str(self.sandbox), OPSCONSOLE_OPERATOR=OPERATOR,
                       XDG_CONFIG_HOME=str(self.home / "xdg"))
        return environ

    def __call__(self, *args: str) -> Ran:
        """In this process (the same `main`): the standalone sandbox is the other process these tests need."""
        return opsconsole(*args, cwd=self.home, env=self.env())

    def process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`python -m console ARGS` in its own process, as a CI step runs it."""
        return subprocess.run([sys.executable, "-m", "console", *args], cwd=self.home, env=self.env(),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)

    def json_lines(self, *args: str, process: bool = False) -> tuple[int, list[dict[str, Any]]]:
        result = (self.process if process else self)(*args, "--json")
        assert result.stderr == "", result.stderr
        return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]

    def result(self, *args: str) -> dict[str, Any]:
        """The command's Result line; exit 0 when done, 3 (and who may act) when it waits for a person."""
        code, lines = self.json_lines(*args)
        result = lines[-1]
        assert result["event"] == "Result", result
        waiting = result.get("state") == "operator" and result["status"] in ("pending", "in_progress", "paused")
        assert code == (3 if waiting else 0), lines
        assert ("who_may_act" in result) == waiting, result
        return result

    def deployments(self, env: str) -> list[Deployment]:
        return DeploymentRegistry(self.home / "registry.json").list_deployments(environment=env)

    def live_split(self, env: str) -> dict[str, int]:
        """What the sandbox's Cloud Run serves now, read with the same adapter the console uses."""
        if self.clients is None:
            found = running_sandbox(self.sandbox)
            assert found is not None, "no sandbox is running"
            self.clients = google_clients(found[0])
        infra = default_config().environment(env).infrastructure
        adapter = CloudRunAdapter(self.clients.services, self.clients.revisions, infra.gcp_project, infra.region)
        return dict(adapter.get_service(infra.service_name).traffic)


def _project(home: Path, sandbox: Path) -> Cli:
    """A project directory whose opsconsole.toml puts alice in the operations team."""
    (home / "opsconsole.toml").write_text(f'[teams]\noperations = ["{OPERATOR}"]\n')
    return Cli(home, sandbox)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One standalone sandbox for the module, its clock moving only when a console waits; each test keeps to
    its own environment and registry."""
    home = tmp_path_factory.mktemp("sandbox")
    state = home / "sandbox.json"
    # A saved sandbox keeps its clock when served again: save a fresh cloud whose clock reads EPOCH.
    SandboxCloud(seed=seed_from_config(default_config()), clock=SandboxClock(speed=0, start=EPOCH),
                 state_file=state, ingestion=FAST_POINTS).save()  # 10 s points at once: not Google's, for speed
    log = (home / "sandbox.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "console", "sandbox", "serve", "--speed", "0"], cwd=home,
                               env=_project(home, state).env(), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    try:
        while running_sandbox(state) is None:
            assert process.poll() is None, f"the sandbox exited early: {(home / 'sandbox.log').read_text()}"
            assert time.monotonic() < deadline, "the sandbox did not come up"
            time.sleep(0.1)
        yield state
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
        log.close()


@pytest.fixture
def project(tmp_path: Path) -> Cli:
    """A project with no sandbox running: for input the console must refuse before it touches a cloud."""
    return _project(tmp_path, tmp_path / "sandbox.json")


@pytest.fixture
def cli(tmp_path: Path, sandbox: Path) -> Iterator[Cli]:
    """A project of its own (registry, configuration) on the module's sandbox."""
    run = _project(tmp_path, sandbox)
    yield run
    if run.clients is not None:
        run.clients.close()


def test_deploy_staging_with_json_prints_one_event_per_line_ending_with_the_result(cli: Cli) -> None:
    code, lines = cli.json_lines("deploy", "staging", "--set", f"websocket-server={IMAGE}",
                                 "--set", "frontend=release/2.0", process=True)  # the real entry point, as CI

    assert code == 0
    assert lines[-1]["event"] == "Result" and lines[-1]["status"] == "succeeded" and lines[-1]["state"] == "finished"
    assert all(line["event"] != "Result" for line in lines[:-1])
    assert all(line["deployment_id"] == lines[-1]["deployment_id"] for line in lines)
    kinds = [line["event"] for line in lines]
    assert {"StageStarted", "StageFinished", "WeightChanged", "VerdictReached", "DeploymentFinished"} <= set(kinds)
    (switch,) = [line for line in lines if line["event"] == "WeightChanged"]
    assert switch["percent"] == 100 and sum(switch["split"].values()) == 100
    assert cli.live_split("staging") == {switch["revision"]: 100}
    (recorded,) = cli.deployments("staging")
    assert recorded.status == "succeeded" and recorded.actor == OPERATOR


def test_verify_staging_prints_each_check_and_exits_0(cli: Cli) -> None:
    result = cli("verify", "staging")

    assert result.returncode == 0, result.stderr
    header, *checks = result.stdout.splitlines()
    assert "checks passed" in header
    names = {line.split()[1] for line in checks}
    assert names == {"health", "websocket", "smoke", "error_rate", "integration"}, "staging's required checks"
    assert all(line.split()[0] == "pass" for line in checks)


def test_production_without_yes_from_a_script_is_refused_and_nothing_is_registered(project: Cli) -> None:
    result = project("deploy", "production", "--set", f"websocket-server={IMAGE}")

    assert result.returncode == 2
    assert "production needs --yes when not run at a terminal" in result.stderr
    assert "Traceback" not in result.stderr
    assert project.deployments("production") == []


def test_a_production_canary_is_approved_and_promoted_by_hand_to_100(cli: Cli) -> None:
    stable = cli.live_split("production")
    started = cli.result("deploy", "production", "--set", f"websocket-server={IMAGE}", "--yes")
    assert started["status"] == "pending" and started["state"] == "operator" and "approv" in started["reason"]
    assert cli.live_split("production") == stable

    approved = cli.result("approve", "production", "--yes")
    assert approved["status"] == "in_progress" and "promote to 10 %" in approved["reason"]

    for step in (10, 25, 50, 100):
        code, lines = cli.json_lines("promote", "production", "--yes")
        assert lines[-1]["event"] == "Result", lines[-1]
        assert code == (0 if step == 100 else 3), lines[-1]  # before 100 %, the next step waits for a person
        (moved,) = [line for line in lines if line["event"] == "WeightChanged"]
        assert moved["percent"] == step and sum(moved["split"].values()) == 100
        assert moved["split"] == cli.live_split("production"), "what was printed is what Cloud Run serves"
        status = lines[-1]["status"]
        assert status == ("succeeded" if step == 100 else "in_progress"), lines[-1]
    assert cli.live_split("production") == {moved["revision"]: 100}
    assert moved["revision"] not in stable


def test_rollback_with_no_deployment_running_moves_traffic_back(cli: Cli) -> None:
    (old,) = cli.live_split("dev")
    deployed = cli("deploy", "dev", "--set", f"websocket-server={IMAGE}")
    assert deployed.returncode == 0, deployed.stderr
    assert old not in cli.live_split("dev")

    result = cli.result("rollback", "dev", "--reason", "error budget burning")

    assert result["status"] == "succeeded" and result["cause"] == f"rolled back by {OPERATOR}: error budget burning"
    assert cli.live_split("dev") == {old: 100}
    latest = cli.deployments("dev")[0]
    assert latest.strategy == "rollback" and latest.rollback_cause == result["cause"]


@pytest.mark.parametrize("pair", ["websocket=example/ws:v2", "websocket-server="])
def test_a_bad_set_is_exit_2_and_names_the_problem(project: Cli, pair: str) -> None:
    result = project("deploy", "dev", "--set", pair)

    assert result.returncode == 2
    assert f"--set {pair!r}" in result.stderr and "COMPONENT=VERSION" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert project.deployments("dev") == []


def test_deploy_json_starts_with_the_plan(cli: Cli) -> None:
    code, lines = cli.json_lines("deploy", "production", "--set", f"websocket-server={IMAGE}", "--yes")

    # Waiting for an approval is not done: exit 3, what it waits for and who may give it.
    assert code == 3 and lines[-1]["status"] == "pending", lines[-1]
    assert "approval" in lines[-1]["waiting_for"] and lines[-1]["who_may_act"] == [OPERATOR], lines[-1]
    assert lines[0]["event"] == "Note" and lines[0]["message"].startswith("deployment planned: deploy websocket-server")


def test_deploy_json_names_the_evidence_behind_each_verdict_and_the_probes_beside_it(cli: Cli) -> None:
    code, lines = cli.json_lines("deploy", "dev", "--set", f"websocket-server={IMAGE}")

    assert code == 0 and lines[-1]["status"] == "succeeded", lines[-1]
    verdicts = [line for line in lines if line["event"] == "VerdictReached"]
    # A healthy revision passes on Cloud Monitoring's stream; the probes ran beside it and never spoke.
    assert verdicts and {v["stream"] for v in verdicts} == {"monitoring"}, verdicts
    view = lines[-1]["deployment"]
    assert view["verdict"]["stream"] == "monitoring" and view["verdict"]["action"] == "promote_allowed"
    assert view["probes"]["windows"] >= 1 and view["probes"]["outcome"] in ("pass", "inconclusive", "no_data")
