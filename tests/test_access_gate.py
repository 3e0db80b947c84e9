"""Every change passes one gate (core.access): each CLI command that changes something, found from the CLI's own
command tree so a new one cannot be forgotten, is refused for an operator outside the allow-list and in a read-only
console, by the gate's sentence, with nothing written."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from console.cli import cli
from core.access import AccessGate
from core.config import default_config
from core.errors import BadInput
from core.recovery import IncidentStore
from core.registry import DeploymentRegistry
from tests.cli_rig import opsconsole

CONFIG = '[teams]\noperations = ["alice"]\n'  # production: team operations only; dev and staging: anyone

# Commands that change nothing the gate guards, each with why. Every other command must be in CHANGES.
NOT_GATED = {
    ("config", "show"): "reads", ("config", "validate"): "reads", ("config", "history"): "reads",
    ("history",): "reads",
    # Both observe health (anyone may) and record a change of it only where the gate would let this console change
    # the environment (tests/test_health_cli.py): a read-only console or an outsider sees health, records nothing.
    ("status",): "reads the cloud; records a change of health",
    ("watch",): "reads the cloud; records a change of health",
    ("deployment",): "reads", ("report",): "reads (its month cache is derived data)", ("verify",): "reads",
    ("incident", "list"): "reads", ("incident", "show"): "reads", ("incident", "postmortem"): "reads",
    ("registry", "check"): "reads", ("registry", "export"): "reads (writes only the backup file it is given)",
    ("infra", "plan"): "a plan file in the work directory; nothing is applied",
    ("infra", "status"): "reads", ("infra", "drift"): "reads Cloud Run and compares it with the last good apply",
    ("pipeline", "generate"): "writes workflow files into the checkout, for review",
    ("ui",): "the console: its keys call the same engine and gate (tests/test_tui_*)",
    ("sandbox", "serve"): "the simulated cloud", ("sandbox", "scenario"): "the simulated cloud",
    ("sandbox", "status"): "the simulated cloud", ("sandbox", "page-fault"): "the simulated cloud (its Vercel pages)",
    ("sandbox", "notifications"): "reads what the simulated Slack and PagerDuty received",
}
INCIDENT = "INC-PLACEHOLDER"
CHANGES: dict[tuple[str, ...], list[str]] = {
    ("deploy",): ["deploy", "production", "--set", "websocket-server=ws:v9.9.9", "--yes"],
    ("approve",): ["approve", "production", "--yes"],
    ("promote",): ["promote", "production", "--yes"],
    ("set-weight",): ["set-weight", "production", "50", "--yes"],
    ("pause",): ["pause", "production"],
    ("resume",): ["resume", "production"],
    ("rollback",): ["rollback", "production", "--reason", "errors after release", "--yes"],
    ("recover",): ["recover", "production", "--yes"],
    ("incident", "root-cause"): ["incident", "root-cause", INCIDENT, "a bad cache key"],
    ("incident", "abort"): ["incident", "abort", INCIDENT, "handled by hand"],
    ("incident", "resolve"): ["incident", "resolve", INCIDENT, "recovered by hand"],
    ("infra", "apply"): ["infra", "apply", "production", "--yes"],
    ("pipeline", "configure"): ["pipeline", "configure", "production", "--apply", "--repo", "acme/agent-network"],
    ("registry", "repair"): ["registry", "repair"],
    ("config", "set"): ["config", "set", "production", "health.max_5xx_rate", "0.02", "--yes"],
    ("config", "revert"): ["config", "revert", "production", "1", "--yes"],
    # Refused before it connects: the URL is never dialled (nothing listens on port 9).
    ("registry", "migrate"): ["registry", "migrate", "--from", "data/registry.json", "--to",
                              "postgresql://nobody@127.0.0.1:9/opsconsole"],
}


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    context = click.Context(group)
    found = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            found += command_paths(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command_is_either_gated_or_said_to_change_nothing() -> None:
    paths = set(command_paths(cli))
    unknown = paths - set(NOT_GATED) - set(CHANGES)
    assert not unknown, f"new commands: add each to CHANGES (and gate it) or to NOT_GATED with why: {unknown}"
    assert set(CHANGES) <= paths and set(NOT_GATED) <= paths, "a listed command no longer exists"


def _home(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    (tmp_path / "opsconsole.toml").write_text(CONFIG)
    registry = DeploymentRegistry(tmp_path / "data" / "registry.json")
    incident = IncidentStore(registry).create("production", datetime(2026, 12, 1, tzinfo=UTC), severity="SEV2",
                                               failure_type="canary-5xx", summary="5xx after a release")
    env = {"OPSCONSOLE_CONFIG": str(tmp_path / "opsconsole.toml"), "OPSCONSOLE_REGISTRY": str(registry.path),
           "OPSCONSOLE_SANDBOX": str(tmp_path / "data" / "sandbox.json"), "GITHUB_TOKEN": "not-a-real-token"}
    return registry.path.parent, env, incident.id


def _fingerprint(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


@pytest.mark.parametrize("path", sorted(CHANGES), ids=" ".join)
@pytest.mark.parametrize("who", ["outsider", "read-only"])
def test_a_change_is_refused_by_the_gate_with_nothing_written(tmp_path: Path, path: tuple[str, ...],
                                                              who: str) -> None:
    data, env, incident = _home(tmp_path)
    argv = [incident if arg == INCIDENT else arg for arg in CHANGES[path]]
    if who == "outsider":
        env["OPSCONSOLE_OPERATOR"] = "mallory"
    else:
        env["OPSCONSOLE_OPERATOR"] = "alice"
        argv = ["--read-only", *argv]
    before = _fingerprint(data)

    ran = opsconsole(*argv, cwd=tmp_path, env=env)

    expected = "operator mallory may not" if who == "outsider" else "this console is read-only"
    assert ran.returncode == 4, (ran.stdout, ran.stderr)  # refused (core.outcome), whoever or whatever refuses
    assert expected in ran.stderr, (ran.stdout, ran.stderr)
    assert "Traceback" not in ran.stderr + ran.stdout and len(ran.stderr.strip().splitlines()) == 1
    assert _fingerprint(data) == before, "a refused change wrote to the registry"
    assert not (data / "sandbox.json").exists(), "a refused change started the sandbox"


def test_the_gate_lets_an_allowed_operator_through_and_says_who_may() -> None:
    config = default_config().model_copy(update={"teams": {"operations": ["alice"]}})
    assert AccessGate(config, "alice").check("production") == "alice"
    assert AccessGate(config, "mallory").refusal("dev") is None  # dev allows anyone
    refused = AccessGate(config, "mallory").refusal("production", "apply Terraform")
    assert refused is not None and "may not apply Terraform on production" in refused and "team operations" in refused
    assert AccessGate(config, "mallory").refusal(None) is not None, "registry-wide changes need every environment"
    with pytest.raises(BadInput, match="needs --yes"):
        AccessGate(config, "alice").confirmed("production", typed=None, yes=False, what="Roll back")
    AccessGate(config, "alice").confirmed("dev", typed=None, yes=False, what="Roll back")  # dev needs no typing


def test_a_read_only_console_greys_out_changes_but_still_verifies() -> None:
    from console.actions import BY_ID, Situation
    from core.model.actions import available_actions

    refused = AccessGate(default_config(), "alice", read_only=True).refusal("dev")
    states = available_actions("dev", None, requires_approval=False, refused=refused)
    situation = Situation("dev", None, refused=refused, actions=states)
    assert BY_ID["verify"].unavailable(situation) is None, "verifying changes nothing: a read-only console may"
    assert BY_ID["rollback"].unavailable(situation) is not None
    assert BY_ID["deploy"].unavailable(situation) is not None
