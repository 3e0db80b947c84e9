"""`opsconsole config set|history|revert ENV` as an operator runs them: what `config show` then says, what the
history lists, and that a refused or invalid change leaves the project file byte for byte as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_rig import Ran, opsconsole

PROJECT = """\
# the team's configuration: this comment must survive a refused change
[teams]
operations = ["ana"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "opsconsole.toml").write_text(PROJECT)
    return tmp_path


def run(project: Path, *args: str, operator: str = "ana") -> Ran:
    return opsconsole(*args, cwd=project, env={"OPSCONSOLE_REGISTRY": str(project / "registry.json"),
                                               "XDG_CONFIG_HOME": str(project / "xdg"),
                                               "OPSCONSOLE_OPERATOR": operator})


def shown_config(project: Path) -> dict[str, object]:
    ran = run(project, "config", "show", "--json")
    assert ran.returncode == 0, ran.stderr
    config: dict[str, object] = json.loads(ran.stdout)["config"]
    return config


def health_of(project: Path, environment: str) -> dict[str, object]:
    environments = shown_config(project)["environments"]
    assert isinstance(environments, dict)
    health: dict[str, object] = environments[environment]["health"]
    return health


def test_a_set_changes_config_show_and_history_names_the_operator(project: Path) -> None:
    before = health_of(project, "staging").get("max_5xx_rate")
    ran = run(project, "config", "set", "staging", "health.max_5xx_rate", "0.02", "--reason", "tighter after INC-7")
    assert ran.returncode == 0, ran.stderr
    assert f"staging health.max_5xx_rate: {json.dumps(before) if before is not None else '(not set)'} → 0.02" \
        in ran.stdout
    assert health_of(project, "staging")["max_5xx_rate"] == 0.02

    ran = run(project, "config", "set", "staging", "purpose", "shared-qa", operator="bo")  # a bare word: text
    assert ran.returncode == 0, ran.stderr

    ran = run(project, "config", "history", "staging")
    assert ran.returncode == 0, ran.stderr
    first, second = ran.stdout.splitlines()  # newest first
    assert first.startswith("#2 ") and " bo " in first and "purpose:" in first and '→ "shared-qa"' in first
    assert second.startswith("#1 ") and " ana " in second and "→ 0.02" in second and "(tighter after INC-7)" in second

    listed = json.loads(run(project, "config", "history", "staging", "--json").stdout)
    assert [(c["id"], c["actor"]) for c in listed] == [(2, "bo"), (1, "ana")]
    assert listed[1]["changes"] == [{"key": "health.max_5xx_rate", "before": before, "after": 0.02}]
    assert run(project, "config", "history", "dev").stdout.strip() == "no configuration change recorded for dev"


@pytest.mark.parametrize(("key", "value", "named"), [
    ("health.max_5xx_rate", "7", "environments.dev.health.max_5xx_rate: must be less than or equal to 1"),
    ("health.max_5xx_rate", "lots", "environments.dev.health.max_5xx_rate"),
    ("bogus", "1", "environments.dev.bogus: is not a known setting"),
    ("strategy.steps", "[50, 10]", "environments.dev.strategy.steps"),  # dev is blue-green: no steps
])
def test_a_bad_value_or_unknown_key_changes_nothing(project: Path, key: str, value: str, named: str) -> None:
    assert run(project, "config", "set", "dev", "health.max_5xx_rate", "0.03").returncode == 0
    file, history = project / "opsconsole.toml", project / "opsconsole.history.jsonl"
    before, history_before = file.read_bytes(), history.read_bytes()

    ran = run(project, "config", "set", "dev", key, value)
    assert ran.returncode == 2 and named in ran.stderr and "Traceback" not in ran.stderr
    assert file.read_bytes() == before and history.read_bytes() == history_before


def test_refused_for_a_read_only_console_or_an_operator_off_the_allow_list(project: Path) -> None:
    file = project / "opsconsole.toml"
    ran = run(project, "--read-only", "config", "set", "dev", "health.max_5xx_rate", "0.02")
    assert ran.returncode == 4 and "read-only" in ran.stderr
    ran = run(project, "config", "set", "production", "health.max_5xx_rate", "0.02", "--yes", operator="mallory")
    assert ran.returncode == 4 and "mallory may not change the configuration on production" in ran.stderr
    assert file.read_text() == PROJECT and not (project / "opsconsole.history.jsonl").exists()


def test_production_wants_yes_when_not_at_a_terminal(project: Path) -> None:
    ran = run(project, "config", "set", "production", "health.max_5xx_rate", "0.02")
    assert ran.returncode == 2 and "needs --yes" in ran.stderr
    assert (project / "opsconsole.toml").read_text() == PROJECT
    ran = run(project, "config", "set", "production", "health.max_5xx_rate", "0.02", "--yes")
    assert ran.returncode == 0 and health_of(project, "production")["max_5xx_rate"] == 0.02


def test_revert_restores_the_value_and_is_recorded_as_its_own_change(project: Path) -> None:
    default_steps = shown_config(project)["environments"]["production"]["strategy"]["steps"]  # type: ignore[index]
    assert run(project, "config", "set", "production", "strategy.steps", "[5, 50, 100]", "--yes").returncode == 0
    assert run(project, "config", "set", "dev", "health.max_5xx_rate", "0.04").returncode == 0

    ran = run(project, "config", "revert", "dev", "1", "--yes")  # change 1 is production's, not dev's
    assert ran.returncode == 2 and "not a change of dev" in ran.stderr
    ran = run(project, "config", "revert", "production", "9", "--yes")
    assert ran.returncode == 2 and "no configuration change 9" in ran.stderr

    ran = run(project, "config", "revert", "production", "1", "--yes", "--json")
    assert ran.returncode == 0, ran.stderr
    reverted = json.loads(ran.stdout)
    assert (reverted["id"], reverted["reverts"], reverted["actor"]) == (3, 1, "ana")
    assert reverted["changes"] == [{"key": "strategy.steps", "before": [5, 50, 100], "after": default_steps}]
    assert shown_config(project)["environments"]["production"]["strategy"]["steps"] == default_steps  # type: ignore[index]
    newest = json.loads(run(project, "config", "history", "production", "--json").stdout)[0]
    assert (newest["id"], newest["reason"]) == (3, "revert of change 1")


def test_a_change_changed_again_since_is_not_reverted_behind_the_later_ones_back(project: Path) -> None:
    assert run(project, "config", "set", "dev", "health.max_5xx_rate", "0.04").returncode == 0
    assert run(project, "config", "set", "dev", "health.max_5xx_rate", "0.03", operator="bo").returncode == 0
    file = (project / "opsconsole.toml").read_bytes()

    ran = run(project, "config", "revert", "dev", "1")
    assert ran.returncode == 4 and "changed again by change 2 (bo)" in ran.stderr
    assert (project / "opsconsole.toml").read_bytes() == file

    assert run(project, "config", "revert", "dev", "2").returncode == 0  # newest first: 0.03 → 0.04
    assert health_of(project, "dev")["max_5xx_rate"] == 0.04
    assert run(project, "config", "revert", "dev", "1").returncode == 0  # now change 1's value is back in force
    assert "max_5xx_rate" not in health_of(project, "dev")
