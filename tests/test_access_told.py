"""Access told up front (issue 19, item 4): a refusal names the file and the variable that would let the operator in,
and doing what it says does; the zero-set-up sandbox lets the person at the keyboard act everywhere, a real cloud or
a shared registry never; the CLI refuses with the same sentence (exit 4, or one JSON object)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from core.access import AccessGate, gate_for
from core.config import LoadedConfig, load_config
from tests.cli_project import save_scenario
from tests.cli_rig import opsconsole
from tests.engine_rig import IMAGE

TEAM = '[teams]\noperations = ["alice"]\n'
DEPLOY = ("deploy", "production", "--set", f"websocket-server={IMAGE}", "--yes")


def loaded(home: Path, text: str | None = None, environ: dict[str, str] | None = None) -> LoadedConfig:
    """The configuration a console started in `home` reads: its opsconsole.toml (none when `text` is None)."""
    if text is not None:
        (home / "opsconsole.toml").write_text(text)
    return load_config(project_file=home / "opsconsole.toml", user_file=home / "user" / "opsconsole.toml",
                       environ=environ or {})


def exported(sentence: str) -> dict[str, str]:
    """The variable the sentence tells the operator to export, as a shell would read it."""
    found = re.search(r"export (\w+)=('[^']*'|[^\s;]+)", sentence)
    assert found, sentence
    return {found.group(1): shlex.split(found.group(2))[0]}


def test_the_refusal_names_the_file_and_the_variable_and_each_lets_the_operator_in(tmp_path: Path) -> None:
    refused = gate_for(loaded(tmp_path, TEAM), "mallory").refusal("production", "act")
    assert refused is not None
    file = tmp_path / "opsconsole.toml"
    assert refused == (
        "operator mallory may not act on production (allowed: team operations (alice)); to let mallory in, set "
        f'operations = ["alice", "mallory"] under [teams] in {file}, or export '
        """OPSCONSOLE_TEAMS__OPERATIONS='["alice", "mallory"]'; or act as alice with OPSCONSOLE_OPERATOR=alice""")

    variable = exported(refused)  # the variable, exactly as told: mallory is in, alice still is
    assert gate_for(loaded(tmp_path, environ=variable), "mallory").refusal("production", "act") is None
    assert gate_for(loaded(tmp_path, environ=variable), "alice").refusal("production", "act") is None

    line = re.search(r"set (.+) under \[teams\]", refused)  # the file line, under the table it names
    assert line
    assert gate_for(loaded(tmp_path, f"[teams]\n{line.group(1)}\n"), "mallory").refusal("production", "act") is None


def test_a_team_no_variable_can_name_is_granted_through_the_environments_operators(tmp_path: Path) -> None:
    text = ('[teams]\nOn-Call = ["alice"]\n[environments.production.access]\ngroups = ["On-Call"]\n')
    refused = gate_for(loaded(tmp_path, text), "mallory").refusal("production", "act")
    assert refused is not None
    assert "set operators = [\"mallory\"] under [environments.production.access]" in refused
    variable = exported(refused)
    assert list(variable) == ["OPSCONSOLE_ENVIRONMENTS__PRODUCTION__ACCESS__OPERATORS"]
    assert gate_for(loaded(tmp_path, text, variable), "mallory").refusal("production", "act") is None


def test_with_no_file_the_fix_names_the_project_file_that_would_be_read(tmp_path: Path) -> None:
    config = loaded(tmp_path, environ={"OPSCONSOLE_PROFILE": "gcp"})  # the real cloud, and no file at all
    assert not (tmp_path / "opsconsole.toml").exists()
    refused = gate_for(config, "root").refusal("production", "act")
    assert refused is not None and "team operations, which has no members" in refused
    assert f"under [teams] in {tmp_path / 'opsconsole.toml'}" in refused
    assert "OPSCONSOLE_OPERATOR" not in refused, "nobody is allowed: acting as someone else is no fix"


def test_when_a_variable_says_who_may_act_the_fix_is_a_variable_since_it_wins_over_every_file(
        tmp_path: Path) -> None:
    config = loaded(tmp_path, TEAM, {"OPSCONSOLE_TEAMS__OPERATIONS": '["bob"]'})
    refused = gate_for(config, "mallory").refusal("production", "act")
    assert refused is not None and "team operations (bob)" in refused
    assert "opsconsole.toml" not in refused and "to let mallory in, export OPSCONSOLE_TEAMS__OPERATIONS=" in refused
    assert gate_for(loaded(tmp_path, environ=exported(refused)), "mallory").refusal("production", "act") is None


def test_a_console_on_the_shared_registry_is_not_told_to_rename_itself(tmp_path: Path) -> None:
    config = loaded(tmp_path, 'profile = "gcp"\n' + TEAM)
    refused = gate_for(config, "mallory", shared_registry=True).refusal("production", "act")
    assert refused is not None and "OPSCONSOLE_TEAMS__OPERATIONS" in refused
    assert "OPSCONSOLE_OPERATOR" not in refused, "the database says who you are"


def test_the_zero_set_up_sandbox_lets_everyone_act_and_nothing_else_does(tmp_path: Path) -> None:
    sandbox = gate_for(loaded(tmp_path), "root")
    assert sandbox.everyone and sandbox.rule == "sandbox: everyone may act"
    assert sandbox.refusal("production", "act") is None and sandbox.refusal(None, "repair the registry") is None
    assert sandbox.allowed("production") == ("*",)
    # a setting that is not about access keeps the rule; the real cloud, the team's registry, a team or an
    # environment's access said anywhere (file or variable) take it away
    tuned = {"OPSCONSOLE_ENVIRONMENTS__PRODUCTION__STRATEGY__ANALYSIS_WINDOW_S": "120"}
    assert gate_for(loaded(tmp_path, environ=tuned), "root").everyone
    assert gate_for(loaded(tmp_path, 'profile = "sandbox"\n'), "root").everyone
    assert gate_for(loaded(tmp_path), "root", read_only=True).refusal("production") is not None
    for home, text, environ, shared in [
        ("gcp", 'profile = "gcp"\n', None, False),
        ("shared", None, None, True),
        ("team", TEAM, None, False),
        ("access", '[environments.dev.access]\noperators = ["bob"]\n', None, False),
        ("variable", None, {"OPSCONSOLE_TEAMS__OPERATIONS": '["bob"]'}, False),
    ]:
        (tmp_path / home).mkdir()
        gate = gate_for(loaded(tmp_path / home, text, environ), "root", shared_registry=shared)
        assert not gate.everyone and gate.rule is None, home
        assert gate.refusal("production", "act") is not None, home


def test_the_default_gate_keeps_the_configurations_rule(tmp_path: Path) -> None:
    config = loaded(tmp_path).config
    assert AccessGate(config, "root").refusal("production") is not None, "only gate_for knows nothing was set"


# -- the CLI: the same sentence, exit 4, or one JSON object ------------------------------------------------------

def env_for(home: Path, operator: str) -> dict[str, str]:
    return {"OPSCONSOLE_REGISTRY": str(home / "registry.json"), "OPSCONSOLE_SANDBOX": str(home / "sandbox.json"),
            "OPSCONSOLE_OPERATOR": operator, "XDG_CONFIG_HOME": str(home / "user")}


@pytest.mark.parametrize("text", [TEAM, 'profile = "gcp"\n'], ids=["outsider", "real-cloud"])
def test_the_cli_refuses_with_the_gates_sentence_exit_4_and_one_object_with_json(tmp_path: Path, text: str) -> None:
    expected = gate_for(loaded(tmp_path, text), "mallory").refusal("production", "act")
    assert expected is not None and str(tmp_path / "opsconsole.toml") in expected

    ran = opsconsole(*DEPLOY, cwd=tmp_path, env=env_for(tmp_path, "mallory"))
    assert (ran.returncode, ran.stdout, ran.stderr) == (4, "", f"opsconsole: {expected}\n")

    ran = opsconsole(*DEPLOY, "--json", cwd=tmp_path, env=env_for(tmp_path, "mallory"))
    result = json.loads(ran.stdout)
    assert (ran.returncode, ran.stderr, ran.stdout.count("\n")) == (4, "", 1)
    assert result["outcome"] == "refused" and result["exit_code"] == 4 and result["reason"] == expected
    assert not (tmp_path / "registry.json").exists(), "nothing was written"


def test_a_newcomer_deploys_and_approves_production_from_the_cli_on_the_zero_set_up_sandbox(tmp_path: Path) -> None:
    """No file, no variable but who they are: production's canary is theirs to run (the whole of it in the console:
    tests/test_tui_access.py; here the in-process sandbox's clock runs in real time, so the windows would too)."""
    save_scenario(tmp_path, "healthy")
    env = env_for(tmp_path, "newcomer")

    def run(*args: str) -> dict[str, object]:
        ran = opsconsole(*args, "--json", cwd=tmp_path, env=env)
        result = json.loads(ran.stdout.splitlines()[-1])
        assert result["exit_code"] == ran.returncode, result
        return result

    deployed = run(*DEPLOY)
    assert deployed["outcome"] == "waiting", deployed
    approved = run("approve", "production", "--yes")
    assert approved["outcome"] == "waiting", approved
    assert approved["deployment"]["approval"]["by"] == "newcomer", approved  # type: ignore[index]
