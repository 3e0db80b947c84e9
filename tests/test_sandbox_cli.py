"""Zero set-up: `opsconsole` runs against the sandbox in-process, or attaches to a standalone one and steers it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.wiring import connect, running_sandbox
from core.config import default_config
from core.model.metrics import GOOGLE_CLOUD_RUN_TIMING
from core.providers.cloudrun import CloudRunAdapter
from core.providers.profile import google_clients
from tests.cli_rig import Ran, opsconsole


def console_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    environ.update(
        OPSCONSOLE_REGISTRY=str(tmp_path / "registry.json"),
        OPSCONSOLE_SANDBOX=str(tmp_path / "sandbox.json"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        **extra,
    )
    return environ


def run(tmp_path: Path, *args: str, **extra: str) -> Ran:
    """In this process (the same `main`); the standalone sandbox is the other process."""
    return opsconsole(*args, cwd=tmp_path, env=console_env(tmp_path, **extra))


def run_process(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        cwd=tmp_path,
        env=console_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def live_production(tmp_path: Path) -> dict:
    result = run(tmp_path, "status", "production", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["live"]


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "console", "sandbox", "serve", "--scenario", "canary-5xx"],
        cwd=tmp_path,
        env=console_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while running_sandbox(tmp_path / "sandbox.json") is None:
        assert process.poll() is None, "the sandbox exited early"
        assert time.monotonic() < deadline, "the sandbox did not come up"
        time.sleep(0.1)
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_with_no_set_up_status_shows_the_seeded_cloud(tmp_path: Path) -> None:
    live = live_production(tmp_path)
    assert [(r["percent"], r["ready"]) for r in live["revisions"]] == [(100, True)]
    assert live["frontend"]["state"] == "READY" and live["websocket_error"] is None
    # The in-process sandbox saved its state: the next console sees the same cloud, not a new one.
    assert live_production(tmp_path)["revisions"][0]["name"] == live["revisions"][0]["name"]
    assert running_sandbox(tmp_path / "sandbox.json") is None, "an in-process sandbox stops with its console"


def test_a_console_attaches_to_a_running_sandbox_and_switches_its_scenario(
    tmp_path: Path, standalone: subprocess.Popen[str]
) -> None:
    endpoints, info = running_sandbox(tmp_path / "sandbox.json") or (None, None)
    assert endpoints is not None and info["scenario"] == "canary-5xx"
    # Change the standalone cloud behind the console's back: a tagged canary revision in production.
    clients = google_clients(endpoints)
    try:
        adapter = CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-prod", "us-central1")
        canary = adapter.deploy_revision("websocket-server", "example/ws:v2", "canary", wait=False)
    finally:
        clients.close()
    assert canary.name in [r["name"] for r in live_production(tmp_path)["revisions"]]

    switched = run(tmp_path, "sandbox", "scenario", "low-traffic")
    assert switched.returncode == 0, switched.stderr
    shown = json.loads(run(tmp_path, "sandbox", "status", "--json").stdout)
    assert shown["running"] and shown["status"]["scenario"] == "low-traffic"
    assert shown["status"]["struck"] == []
    # Served without options, Monitoring is Google's, and a console attached to it waits as long as on Google.
    assert shown["status"]["monitoring_ingestion"] == {"point_s": 60, "delay_s": None, "seed": 0}
    assert "Monitoring 60 s points, ingestion delay drawn like Google's" in run(tmp_path, "sandbox", "status").stdout
    attached = connect(default_config(), console_env(tmp_path))
    try:
        assert attached.metrics("production").timing() == GOOGLE_CLOUD_RUN_TIMING
    finally:
        attached.close()

    # --now strikes what serves now: the revision taking production's traffic, not the tagged canary at 0 %.
    serving = next(r["name"] for r in live_production(tmp_path)["revisions"] if r["percent"] == 100)
    struck = run(tmp_path, "sandbox", "scenario", "canary-5xx", "--now")
    assert struck.returncode == 0, struck.stderr
    assert f"strikes {serving} (websocket-server)" in struck.stdout
    status = json.loads(run(tmp_path, "sandbox", "status", "--json").stdout)["status"]
    assert any(name.endswith(f"/revisions/{serving}") for name in status["struck"])
    assert not any(name.endswith(f"/revisions/{canary.name}") for name in status["struck"])
    saved = json.loads((tmp_path / "sandbox.json").read_text())
    assert saved["strikes"] and saved["strikes"][-1][1] == status["struck"], "the strike is saved with the cloud"
    assert "--now" in run(tmp_path, "sandbox", "scenario", "--help").stdout

    second = run_process(tmp_path, "sandbox", "serve")  # a second process: were it not refused, it would serve
    assert second.returncode == 1 and "already serves" in second.stderr


def test_a_killed_sandbox_is_detected_and_the_console_carries_on_from_its_state(
    tmp_path: Path, standalone: subprocess.Popen[str]
) -> None:
    before = live_production(tmp_path)
    standalone.kill()
    standalone.wait(timeout=30)
    after = live_production(tmp_path)  # stale endpoints in the state file do not answer: start in-process
    assert after["revisions"] == before["revisions"]


def test_unknown_scenario_and_no_running_sandbox_are_clear(tmp_path: Path) -> None:
    unknown = run(tmp_path, "sandbox", "scenario", "meteor-strike")
    assert unknown.returncode == 2 and "choose one of" in unknown.stderr and "healthy" in unknown.stderr
    idle = run(tmp_path, "sandbox", "scenario", "healthy")
    assert idle.returncode == 1 and "no sandbox is running" in idle.stderr


def test_the_consoles_own_variables_are_not_read_as_settings(tmp_path: Path) -> None:
    result = run(tmp_path, "config", "validate", OPSCONSOLE_DEBUG="1", OPSCONSOLE_OPERATOR="alice")
    assert result.returncode == 0, result.stderr
