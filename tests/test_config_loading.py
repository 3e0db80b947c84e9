"""Loading the configuration in layers: files, environment variables, provenance in every message."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from core.config import DEFAULTS_SOURCE, ConfigError, LoadedConfig, default_config, load_config
from core.errors import BadInput

MIN_INSTANCES = "environments.production.infrastructure.min_instances"
HA_MESSAGE = "production needs at least 2 instances for high availability, got 1"


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    return tmp_path / "user" / "opsconsole.toml"


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(user_file: Path, **environ: str) -> LoadedConfig:
    """Load as the console does, from the working directory, with a private user file."""
    return load_config(user_file=user_file, environ=environ)


def load_error(user_file: Path, **environ: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(user_file, **environ)
    return str(caught.value).splitlines()


def test_with_no_files_the_defaults_load(user_file: Path, project_dir: Path) -> None:
    loaded = load(user_file)
    assert loaded.config == default_config()
    assert loaded.sources == [DEFAULTS_SOURCE]
    assert loaded.origin(MIN_INSTANCES) == DEFAULTS_SOURCE


def test_project_file_overrides_user_file_which_overrides_defaults(user_file: Path, project_dir: Path) -> None:
    write(
        user_file,
        "profile = 'gcp'\n[environments.production.infrastructure]\nmin_instances = 4\nmax_instances = 30\n",
    )
    project = write(project_dir / "opsconsole.toml", "[environments.production.infrastructure]\nmin_instances = 3\n")
    loaded = load(user_file)
    infra = loaded.config.environments["production"].infrastructure
    assert (infra.min_instances, infra.max_instances) == (3, 30)
    assert loaded.config.profile == "gcp"
    assert loaded.sources == [DEFAULTS_SOURCE, str(user_file), str(project)]
    assert loaded.origin(MIN_INSTANCES) == str(project)
    assert loaded.origin("environments.production.infrastructure.max_instances") == str(user_file)
    assert loaded.origin("environments.production.infrastructure.cpu_target") == DEFAULTS_SOURCE
    # A table is charged to the last layer that set anything in it.
    assert loaded.origin("environments.production.infrastructure") == str(project)


def test_origin_of_an_unknown_setting_is_bad_input(user_file: Path, project_dir: Path) -> None:
    with pytest.raises(BadInput, match=r"There is no setting environments\.production\.nope"):
        load(user_file).origin("environments.production.nope")


def test_environment_variables_override_single_settings(user_file: Path, project_dir: Path) -> None:
    write(project_dir / "opsconsole.toml", "[environments.production.infrastructure]\nmin_instances = 5\n")
    variable = "OPSCONSOLE_ENVIRONMENTS__PRODUCTION__INFRASTRUCTURE__MIN_INSTANCES"
    loaded = load(
        user_file,
        **{
            variable: "3",
            "OPSCONSOLE_PROFILE": "gcp",
            "OPSCONSOLE_ENVIRONMENTS__PRODUCTION__STRATEGY__STEPS": "[5, 20, 100]",
            "OPSCONSOLE_ENVIRONMENTS__DEV__APPLICATION__REDIS_CONNECTION": "env:DEV_REDIS",
            # The CLI's own variables are not settings and must not be mistaken for them.
            "OPSCONSOLE_REGISTRY": "/tmp/registry.json",
            "OPSCONSOLE_CONFIG": "/tmp/x.toml",
            "OPSCONSOLE_OPERATOR": "ana",
            "UNRELATED": "1",
        },
    )
    production = loaded.config.environments["production"]
    assert production.infrastructure.min_instances == 3
    assert production.strategy.steps == [5, 20, 100]  # type: ignore[union-attr]
    assert loaded.config.profile == "gcp"
    assert loaded.config.environments["dev"].application.redis_connection == "env:DEV_REDIS"
    assert loaded.origin(MIN_INSTANCES) == f"environment variable {variable}"
    assert f"environment variable {variable}" in loaded.sources
    assert not any("REGISTRY" in source or "OPERATOR" in source for source in loaded.sources)


def test_an_environment_variable_can_switch_the_strategy_kind(user_file: Path, project_dir: Path) -> None:
    loaded = load(
        user_file,
        OPSCONSOLE_ENVIRONMENTS__DEV__STRATEGY__KIND="rolling",
        OPSCONSOLE_ENVIRONMENTS__DEV__STRATEGY__BATCH_PERCENT="25",
        OPSCONSOLE_ENVIRONMENTS__DEV__STRATEGY__PAUSE_BETWEEN_BATCHES_S="30",
    )
    assert loaded.config.environments["dev"].strategy.kind == "rolling"


@pytest.mark.parametrize("where", ["user", "project", "variable"])
def test_an_error_names_the_layer_that_set_the_bad_value(user_file: Path, project_dir: Path, where: str) -> None:
    toml = "[environments.production.infrastructure]\nmin_instances = 1\n"
    environ: dict[str, str] = {}
    if where == "user":
        source = str(write(user_file, toml))
    elif where == "project":
        source = str(write(project_dir / "opsconsole.toml", toml))
    else:
        variable = "OPSCONSOLE_ENVIRONMENTS__PRODUCTION__INFRASTRUCTURE__MIN_INSTANCES"
        environ[variable] = "1"
        source = f"environment variable {variable}"
    assert load_error(user_file, **environ) == [f"{source}: {MIN_INSTANCES}: {HA_MESSAGE}"]


def test_a_rule_broken_by_a_lower_layer_value_blames_the_layer_above(user_file: Path, project_dir: Path) -> None:
    write(user_file, "[environments.dev.infrastructure]\nmax_instances = 8\n")
    project = write(project_dir / "opsconsole.toml", "[environments.dev.infrastructure]\nmin_instances = 9\n")
    assert load_error(user_file) == [
        f"{project}: environments.dev.infrastructure.min_instances: min_instances (9) must not exceed max_instances (8)"
    ]


def test_every_problem_is_reported_one_per_line(user_file: Path, project_dir: Path) -> None:
    write(user_file, "[environments.dev.infrastructure]\nmemory_limit = 'lots'\n")
    project = write(project_dir / "opsconsole.toml", "[environments.staging.strategy]\nobservation_window_s = 1\n")
    lines = load_error(user_file, OPSCONSOLE_CONSOLE__REFRESH_SECONDS="100")
    assert lines == [
        f"{user_file}: environments.dev.infrastructure.memory_limit: must be a memory size such as 512Mi or 1Gi",
        f"{project}: environments.staging.strategy.observation_window_s: must be greater than or equal to 10",
        "environment variable OPSCONSOLE_CONSOLE__REFRESH_SECONDS: console.refresh_seconds: "
        "must be less than or equal to 10",
    ]


def test_invalid_toml_names_the_file_line_and_column(user_file: Path, project_dir: Path) -> None:
    project = write(project_dir / "opsconsole.toml", "[environments.production]\nrequires_approval = yes\n")
    (line,) = load_error(user_file)
    assert re.fullmatch(rf"{re.escape(str(project))}: not valid TOML: .+ \(line 2, column \d+\)", line), line


def test_toml_cut_short_still_names_a_position(user_file: Path, project_dir: Path) -> None:
    project = write(project_dir / "opsconsole.toml", "steps = [10, 25,")
    (line,) = load_error(user_file)
    assert re.fullmatch(rf"{re.escape(str(project))}: not valid TOML: .+ \(line \d+, column \d+\)", line), line


def test_a_file_that_is_not_utf8_is_reported(user_file: Path, project_dir: Path) -> None:
    (project_dir / "opsconsole.toml").write_bytes(b"profile = '\xff'\n")
    assert load_error(user_file) == [
        f"{project_dir / 'opsconsole.toml'}: not valid TOML: the file is not UTF-8 text (byte 12)"
    ]


def test_a_directory_in_place_of_the_file_is_one_clear_line(user_file: Path, project_dir: Path) -> None:
    (project_dir / "opsconsole.toml").mkdir()
    assert load_error(user_file) == [
        f"{project_dir / 'opsconsole.toml'}: is a directory, not a TOML configuration file"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_file_is_one_clear_line(user_file: Path, project_dir: Path) -> None:
    write(user_file, "profile = 'gcp'\n").chmod(0)
    assert load_error(user_file) == [f"{user_file}: cannot be read: permission denied"]


def test_a_literal_secret_in_a_variable_is_not_echoed(user_file: Path, project_dir: Path) -> None:
    secret = "redis://:Zq8-very-secret@10.0.0.7:6379"
    variable = "OPSCONSOLE_ENVIRONMENTS__STAGING__APPLICATION__REDIS_CONNECTION"
    with pytest.raises(ConfigError) as caught:
        load(user_file, **{variable: secret})
    assert secret not in str(caught.value) and "Zq8" not in str(caught.value)
    assert str(caught.value).startswith(
        f"environment variable {variable}: environments.staging.application.redis_connection: "
        "this setting holds what looks like a literal secret value"
    )


def test_a_variable_naming_no_setting_is_reported(user_file: Path, project_dir: Path) -> None:
    assert load_error(user_file, OPSCONSOLE_ENVIRONMENTS____DEV="1") == [
        "environment variable OPSCONSOLE_ENVIRONMENTS____DEV: names no setting; "
        "write OPSCONSOLE_SECTION__KEY with __ between levels"
    ]


def test_a_quoted_variable_value_stays_text(user_file: Path, project_dir: Path) -> None:
    # "2" as JSON text is the string "2", which a count does not accept: strings are not numbers.
    lines = load_error(user_file, OPSCONSOLE_ENVIRONMENTS__DEV__INFRASTRUCTURE__MIN_INSTANCES='"2"')
    assert lines == [
        "environment variable OPSCONSOLE_ENVIRONMENTS__DEV__INFRASTRUCTURE__MIN_INSTANCES: "
        "environments.dev.infrastructure.min_instances: must be a valid integer"
    ]


def test_an_unknown_environment_is_reported_once(user_file: Path, project_dir: Path) -> None:
    project = write(project_dir / "opsconsole.toml", "[environments.qa.infrastructure]\nmin_instances = 1\n")
    assert load_error(user_file) == [
        f"{project}: environments.qa: is not an environment; the environments are dev, staging, production"
    ]


def test_explicit_project_file_is_read_instead_of_the_working_directory(user_file: Path, tmp_path: Path) -> None:
    elsewhere = write(tmp_path / "elsewhere.toml", "profile = 'gcp'\n")
    loaded = load_config(project_file=elsewhere, user_file=user_file, environ={})
    assert loaded.config.profile == "gcp"
    assert loaded.origin("profile") == str(elsewhere)
