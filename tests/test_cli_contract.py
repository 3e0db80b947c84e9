"""What a script reads from `opsconsole`, through the real entry point (console.cli.main, in this process): with
--json every way a command ends, refusals and bad arguments included, is one JSON object on stdout carrying its
exit code (core.outcome); without it, one sentence on stderr. Arguments parse the way a person means them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest

from console.cli import cli
from core.outcome import Outcome
from core.registry import DeploymentRegistry
from tests.cli_rig import Ran, opsconsole
from tests.test_access_gate import CHANGES, INCIDENT, _fingerprint, _home, command_paths


def the_object(ran: Ran) -> dict[str, Any]:
    """The one JSON object a --json command printed, nothing on stderr."""
    assert ran.stderr == "", ran.stderr
    lines = ran.stdout.strip().splitlines()
    assert len(lines) == 1, f"not one object: {ran.stdout[:500]!r}"
    found = json.loads(lines[0])
    assert isinstance(found, dict)
    return found


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


def _takes_json(path: tuple[str, ...]) -> bool:
    return any("--json" in getattr(p, "opts", ()) for p in _command(path).params)


JSON_COMMANDS = [path for path in command_paths(cli) if _takes_json(path)]
JSON_CHANGES = [path for path in sorted(CHANGES) if _takes_json(path)]


def test_the_exit_codes_are_the_documented_ones() -> None:
    assert {o.label: int(o) for o in Outcome} == {"done": 0, "failed": 1, "bad_input": 2, "waiting": 3, "refused": 4,
                                                    "unhealthy": 5}
    readme = (Path(__file__).parents[1] / "docs" / "CLI.md").read_text()
    for outcome in Outcome:
        assert f"| {int(outcome)} | `{outcome.label}` |" in readme, f"docs/CLI.md does not list {outcome.label}"


@pytest.mark.parametrize("path", JSON_CHANGES, ids=" ".join)
@pytest.mark.parametrize("who", ["outsider", "read-only"])
def test_every_refused_change_with_json_is_one_object_with_exit_4_and_nothing_written(
        tmp_path: Path, path: tuple[str, ...], who: str) -> None:
    data, env, incident = _home(tmp_path)
    argv = [incident if arg == INCIDENT else arg for arg in CHANGES[path]] + ["--json"]
    env["OPSCONSOLE_OPERATOR"] = "mallory" if who == "outsider" else "alice"
    if who == "read-only":
        argv = ["--read-only", *argv]
    before = _fingerprint(data)

    ran = opsconsole(*argv, cwd=tmp_path, env=env)

    result = the_object(ran)
    assert ran.returncode == 4 and result["outcome"] == "refused" and result["exit_code"] == 4, result
    assert ("operator mallory may not" if who == "outsider" else "read-only") in result["reason"]
    assert _fingerprint(data) == before


@pytest.mark.parametrize("path", JSON_COMMANDS, ids=" ".join)
def test_every_json_command_answers_an_unknown_option_with_one_object_naming_it(
        tmp_path: Path, path: tuple[str, ...]) -> None:
    ran = opsconsole(*path, "--frobnicate", "--json", cwd=tmp_path,
                     env={"OPSCONSOLE_REGISTRY": str(tmp_path / "registry.json")})

    result = the_object(ran)
    assert ran.returncode == 2 and result["outcome"] == "bad_input", result
    assert "--frobnicate" in result["reason"] and f"opsconsole {' '.join(path)}" in result["reason"]


def _production_home(tmp_path: Path) -> tuple[dict[str, str], Path]:
    (tmp_path / "opsconsole.toml").write_text('[teams]\noperations = ["alice"]\n')
    registry = tmp_path / "registry.json"
    return {"OPSCONSOLE_REGISTRY": str(registry), "OPSCONSOLE_OPERATOR": "alice",
            "OPSCONSOLE_SANDBOX": str(tmp_path / "sandbox.json")}, registry


@pytest.mark.parametrize(("argv", "names"), [
    (["set-weight", "production", "-5"], ["PERCENT", "-5"]),
    (["set-weight", "production", "5.5"], ["PERCENT", "5.5"]),
    (["set-weight", "production", "101"], ["PERCENT", "101"]),
    (["rollback", "production", "--reason", "--yes"], ["--reason", "--yes"]),
    (["rollback", "production", "--reason", "  "], ["--reason"]),
    (["promote", "production", "--override", "--yes"], ["--override", "--yes"]),
    (["recover", "production", "--root-cause", "--yes"], ["--root-cause", "--yes"]),
    (["approve"], ["ENVIRONMENT", "dev, staging, production"]),
    (["status", "prod"], ["ENVIRONMENT", "'prod'"]),
    (["deploy", "dev"], ["--set"]),
])
def test_an_argument_is_refused_in_one_sentence_naming_it_and_nothing_is_recorded(
        tmp_path: Path, argv: list[str], names: list[str]) -> None:
    env, registry = _production_home(tmp_path)

    ran = opsconsole(*argv, cwd=tmp_path, env=env)

    assert ran.returncode == 2 and ran.stdout == "", (ran.stdout, ran.stderr)
    (line,) = ran.stderr.strip().splitlines()  # one sentence: no "Usage:" block, no "Try ... --help" line
    assert line.startswith(f"opsconsole {argv[0]}: ") and all(name in line for name in names), line
    assert "Traceback" not in line and "Usage" not in line
    assert not registry.exists() or DeploymentRegistry(registry).list_deployments() == []

    as_json = the_object(opsconsole(*argv, "--json", cwd=tmp_path, env=env))
    assert as_json["exit_code"] == 2 and as_json["reason"] == line, "the same sentence, as the object's reason"


def test_a_weight_that_looks_like_an_option_is_still_read_as_the_weight(tmp_path: Path) -> None:
    env, _ = _production_home(tmp_path)
    ran = opsconsole("set-weight", "production", "-5", "--json", cwd=tmp_path, env=env)
    assert "No such option" not in ran.stdout + ran.stderr
    assert "a weight is a whole percent from 0 to 100, not -5" in the_object(ran)["reason"]
