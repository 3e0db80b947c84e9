"""An option that has a configuration twin is checked by the twin's rule: for every value hypothesis tries, the
option and the configuration accept and refuse alike, and the CLI's options are wired to that rule."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli import cli
from core.config import STRATEGY_KINDS, ConfigError, validate_configuration
from core.config.options import TWINS, check_option
from core.errors import BadInput
from tests.bad_input_cli import cli_env, refusal_problem, run_cli, unchanged

SOME = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
repo_like = st.one_of(
    st.from_regex(r"[A-Za-z0-9._/-]{0,12}", fullmatch=True),
    st.sampled_from(["a/b", "a/b/c", "../x", "a/..", "a/.", "-a/b", "a-/b", "a--b/c", "acme/.github", "", "/", "a/",
                     "acme/agent-network", "x" * 39 + "/y", "x" * 40 + "/y", "a/" + "n" * 100, "a/" + "n" * 101]),
    st.text(max_size=12),
)


def options_of(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Parameter]]:
    found = [(prefix, param) for param in group.params]
    context = click.Context(group)
    for name in group.list_commands(context):  # the lazily loaded subcommands too (console/lazy.py)
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            found += options_of(command, (*prefix, name))
        else:
            found += [((*prefix, name), param) for param in command.params]
    return found


def config_accepts(section: str, key: str, value: Any, setting: str | None = None) -> bool:
    """Whether the configuration takes ``value`` for the setting (``setting``: judge only problems named so)."""
    data: dict[str, Any] = {section: {key: value}} if section else {key: value}
    try:
        validate_configuration(data)
    except ConfigError as error:
        return setting is not None and not any(problem.path == setting for problem in error.problems)
    return True


def option_accepts(option: str, value: Any) -> bool:
    try:
        check_option(option, value)
    except BadInput:
        return False
    return True


@SOME
@given(repo_like)
def test_repo_option_and_pipeline_repo_accept_the_same_values(value: str) -> None:
    assert option_accepts("--repo", value) == config_accepts("pipeline", "repo", value)


@SOME
@given(st.one_of(st.sampled_from([*STRATEGY_KINDS, "big-bang", "Canary", ""]), st.text(max_size=10)))
def test_strategy_option_and_strategy_kind_accept_the_same_values(value: str) -> None:
    # Another kind needs its own settings too; only a problem with the kind itself is the kind's rule.
    config = config_accepts("", "environments", {"dev": {"strategy": {"kind": value}}},
                            setting="environments.dev.strategy.kind")
    deploy = next(param for path, param in options_of(cli) if path == ("deploy",) and param.name == "strategy")
    assert isinstance(deploy.type, click.Choice)
    assert option_accepts("--strategy", value) == config == (value in deploy.type.choices)


@SOME
@given(st.sampled_from(["", ".", "~", "registry.json", "data", "data/registry.json", "~/x.json",
                        "postgresql://alice@db/opsconsole", "postgres://alice:pw@db:5432/opsconsole?sslmode=require",
                        "postgresql://alice@db/", "postgresql://alice@db:99999/x", "mysql://alice@db/x",
                        "postgresql://alice@/opsconsole?cloudsql_instance=p:europe-west1:registry",
                        "postgresql://alice@db/x?cloudsql_instance=p:r:i", "postgresql://alice@db/x?sslmod=require"]))
def test_registry_option_and_registry_setting_accept_the_same_values(tmp_path: Path, value: str) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    location = str(tmp_path / value) if value and "://" not in value and not value.startswith("~") else value
    assert option_accepts("--registry", location) == config_accepts("", "registry", location)


def test_every_twin_is_an_option_of_the_cli_wired_to_its_rule(tmp_path: Path) -> None:
    options = {opt: (path, param) for path, param in options_of(cli) for opt in getattr(param, "opts", [])}
    for option in TWINS:
        path, param = options[option]
        if option == "--strategy":
            assert isinstance(param.type, click.Choice) and tuple(param.type.choices) == tuple(STRATEGY_KINDS)
            continue
        assert param.callback is not None, f"{' '.join(path)} {option} is not checked by its twin's rule"
        with pytest.raises(BadInput, match=f"the rule of {re.escape(TWINS[option].setting)}"):
            param.callback(None, param, "a/b/c" if option == "--repo" else str(tmp_path))


@pytest.mark.parametrize("repo", ["a/b/c", "../x", "a/..", "-x/y", "acme/" + "n" * 101])
def test_pipeline_configure_refuses_a_repo_the_configuration_would_refuse(tmp_path: Path, repo: str) -> None:
    with unchanged(tmp_path):
        outcome = run_cli("pipeline", "configure", "staging", "--repo", repo, env=cli_env(tmp_path))
    assert refusal_problem(outcome, 2, "--repo", "must be a GitHub repository as owner/name",
                           "[pipeline] repo") is None, outcome

    (tmp_path / "opsconsole.toml").write_text(f'[pipeline]\nrepo = "{repo}"\n')
    outcome = run_cli("pipeline", "configure", "staging", env=cli_env(tmp_path))
    assert refusal_problem(outcome, 2, str(tmp_path / "opsconsole.toml"), "pipeline.repo",
                           "must be a GitHub repository as owner/name") is None, outcome


def test_a_directory_is_refused_as_the_registry_by_option_and_by_configuration(tmp_path: Path) -> None:
    outcome = run_cli("--registry", str(tmp_path), "history", env=cli_env(tmp_path))
    assert refusal_problem(outcome, 2, "--registry", "not the directory", "the rule of registry") is None, outcome
    (tmp_path / "opsconsole.toml").write_text(f'registry_path = "{tmp_path}"\n')
    env = {k: v for k, v in cli_env(tmp_path).items() if k != "OPSCONSOLE_REGISTRY"}
    outcome = run_cli("history", env=env)
    assert refusal_problem(outcome, 2, "registry_path", "not the directory") is None, outcome
