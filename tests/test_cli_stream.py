"""`deploy --json` streams: each engine event is a line on stdout the moment it happens, read here from a real
`python -m console` process (its stdout a pipe, as in CI) while the deployment is still running.

The zero-set-up sandbox runs in the process at the wall clock's pace, so staging's blue-green observation lasts
minutes after traffic switches: a line that arrived while the process still runs was not held back to the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from core.registry import DeploymentRegistry
from tests.test_deploy_cli import IMAGE


def test_deploy_json_prints_each_event_while_the_deployment_runs(tmp_path: Path) -> None:
    # Not PYTHONUNBUFFERED: a CI runner's pipe is block-buffered unless the console flushes each line itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_") and k != "PYTHONUNBUFFERED"}
    env.update(OPSCONSOLE_REGISTRY=str(tmp_path / "registry.json"), OPSCONSOLE_SANDBOX=str(tmp_path / "sandbox.json"),
               OPSCONSOLE_OPERATOR="alice", XDG_CONFIG_HOME=str(tmp_path / "xdg"), XDG_DATA_HOME=str(tmp_path / "data"))
    process = subprocess.Popen([sys.executable, "-m", "console", "deploy", "staging", "--set",
                                f"websocket-server={IMAGE}", "--json"], cwd=tmp_path, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[dict[str, object]] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:  # blocks until the next line arrives
            event = json.loads(line)
            seen.append(event)
            if event["event"] == "WeightChanged":
                # Printed as it happened, the switch is read while the deployment still observes the new revision;
                # held back to the end, it would arrive after the deployment had ended.
                (recorded,) = DeploymentRegistry(tmp_path / "registry.json").list_deployments(environment="staging")
                running = process.poll() is None and recorded.status == "in_progress"
                break
        else:
            raise AssertionError(f"the deployment ended without moving traffic: {seen}, {process.stderr}")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    assert running, "the traffic switch was printed only when the deployment had ended"
    kinds = [event["event"] for event in seen]
    assert kinds[0] == "Note" and "StageStarted" in kinds and "Result" not in kinds, kinds
    assert seen[-1]["percent"] == 100 and seen[-1]["environment"] == "staging"
