"""After full sandbox deployments whose notifier and Vercel secrets are sm:// references served by the sandbox,
none of the sandbox's secret values is found in the registry (hot file and archive), the commands' output
(--json events included), a history export, the sandbox's state file, the generated workflows and tfvars,
or what Slack and PagerDuty received, except each credential at its own destination."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.cli import main
from console.wiring import seed_from_config
from core.config import default_config, generate_terraform_vars, load_config
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.secretmanager_api import SLACK_WEBHOOK_PATH

EPOCH = 4_000_007_200.0  # the clock of tests/test_deploy_cli.py: the same traffic, so canary steps pass at once
PROD = "ai-agent-network-prod"
IMAGE = "example/websocket-server:v2.0.0"
CONFIG = f"""
[teams]
operations = ["alice"]

[environments.production.secrets]
firebase_api_key = "sm://projects/{PROD}/secrets/firebase-api-key/versions/latest"
vercel_token = "sm://projects/{PROD}/secrets/vercel-token/versions/latest"
slack_webhook = "sm://projects/{PROD}/secrets/slack-webhook/versions/latest"
pagerduty_routing_key = "sm://projects/{PROD}/secrets/pagerduty-routing-key/versions/1"

[pipeline]  # the pinned console `pipeline generate` requires
console_wheel_url = "https://downloads.example.test/agent_network_console-0.1.0-py3-none-any.whl"
console_wheel_sha256 = "{'0' * 64}"
console_requirements = "opsconsole-dependencies.txt"
"""


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Path, SandboxCloud]]:
    """A project directory and a sandbox served from this process, to which every `opsconsole` call attaches."""
    (tmp_path / "opsconsole.toml").write_text(CONFIG)
    cloud = SandboxCloud(seed=seed_from_config(default_config()), clock=SandboxClock(speed=0, start=EPOCH),
                         state_file=tmp_path / "sandbox.json").start()
    yield tmp_path, cloud
    cloud.stop()


def test_no_sandbox_secret_value_is_found_anywhere_after_full_deployments(
        home: tuple[Path, SandboxCloud], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    root, cloud = home
    for name, value in {"OPSCONSOLE_REGISTRY": str(root / "registry.json"), "OPSCONSOLE_OPERATOR": "alice",
                        "OPSCONSOLE_SANDBOX": str(root / "sandbox.json"), "XDG_CONFIG_HOME": str(root / "xdg")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(root)
    caplog.set_level(logging.DEBUG)  # every library's log records too (httpx logs each request's URL)
    outputs: list[str] = []

    def opsconsole(*args: str, exit_code: int = 0) -> Any:
        """`opsconsole ARGS` in this process, attached to the sandbox through its state file like any console."""
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        done = capsys.readouterr()
        outputs.extend([done.out, done.err])
        assert exited.value.code == exit_code, f"{args}: {done.err} {done.out[-2000:]}"
        if args[0] == "history":
            return json.loads(done.out)
        return json.loads(done.out.splitlines()[-1]) if "--json" in args else {}  # the Result line

    staging = opsconsole("deploy", "staging", "--set", f"websocket-server={IMAGE}", "--set", "frontend=release/2.0",
                         "--json")
    assert staging["status"] == "succeeded"
    opsconsole("deploy", "production", "--set", f"websocket-server={IMAGE}", "--yes", "--json", exit_code=3)
    opsconsole("approve", "production", "--yes", "--json", exit_code=3)  # both wait for a person: exit 3
    rolled = opsconsole("rollback", "production", "--reason", "grep test", "--yes", "--json", exit_code=0)
    assert rolled["status"] == "rolled_back"
    history = opsconsole("history", "--json")
    (root / "generated").mkdir()
    (root / "generated" / "opsconsole-dependencies.txt").write_text(f"click==8.2.1 --hash=sha256:{'a' * 64}\n")
    opsconsole("pipeline", "generate", "--root", str(root / "generated"))
    config = load_config(project_file=root / "opsconsole.toml", environ={}).config
    tfvars = [json.dumps(generate_terraform_vars(config, env)) for env in config.environments]

    values = cloud.secret_store.values()
    # The references were resolved through the sandbox's Secret Manager and used where they belong.
    read = {name.split("/")[3] for name in cloud.secret_store.accessed if name.startswith(f"projects/{PROD}/")}
    assert {"slack-webhook", "pagerduty-routing-key", "vercel-token"} <= read
    slack = cloud.sinks.received("slack")
    assert slack and all(SLACK_WEBHOOK_PATH + "sandbox-slack-webhook-" in record.path for record in slack)
    paged = cloud.sinks.received("pagerduty-change") + cloud.sinks.received("pagerduty")
    assert paged and {record.body["routing_key"] for record in paged} <= set(values)

    # Everywhere else: nothing. The routing key is the field PagerDuty authenticates with, and the webhook
    # URL is the address Slack is reached at, so those two are left out of the sinks' payloads.
    payloads = [json.dumps({k: v for k, v in r.body.items() if k != "routing_key"} if isinstance(r.body, dict)
                           else r.body) for r in cloud.sinks.received()]
    files = {path: path.read_bytes().decode("utf-8", "replace") for path in root.rglob("*") if path.is_file()}
    assert any(p.name == "registry.json" for p in files) and any("archive" in str(p) for p in files)
    assert "HTTP Request: POST" in caplog.text, "the library logs that could carry a URL were captured"
    assert len(history) >= 1 and any(p.suffix == ".yml" for p in files)
    haystacks = {"output": "\n".join(outputs), "log records": caplog.text, "sink payloads": "\n".join(payloads),
                 "tfvars": "\n".join(tfvars),
                 **{str(path.relative_to(root)): text for path, text in files.items()}}
    names = {value: f"{project}/{secret}" for (project, secret), versions in cloud.secret_store.versions.items()
             for value in versions}  # a failure names the secret, never its value
    found = [(where, names[value]) for where, text in haystacks.items() for value in values if value in text]
    assert found == []
