"""Updating a configuration file: validated before writing, written atomically, recorded in a history."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config import ConfigError, load_config, read_config_history, update_config
from core.errors import BadInput

STEPS = "environments.production.strategy.steps"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "opsconsole.toml"


@pytest.fixture
def history_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "config-history.jsonl"


def test_an_update_writes_the_file_and_one_history_line(config_file: Path, history_file: Path) -> None:
    config_file.write_text("profile = 'gcp'\n")
    config = update_config(
        {STEPS: [5, 25, 50, 100], "teams.operations": ["ana"]},
        file=config_file,
        actor="ana",
        history_file=history_file,
    )
    assert config.environments["production"].strategy.steps == [5, 25, 50, 100]  # type: ignore[union-attr]
    written = tomllib.loads(config_file.read_text())
    assert written["profile"] == "gcp"  # what was there stays
    assert written["environments"]["production"]["strategy"]["steps"] == [5, 25, 50, 100]
    loaded = load_config(project_file=config_file, user_file=config_file.with_name("none.toml"), environ={})
    assert loaded.config == config

    (change,) = read_config_history(history_file)
    assert change.actor == "ana" and change.file == str(config_file)
    assert abs(change.at - datetime.now(UTC)) < timedelta(minutes=5)
    assert [(c.path, c.old, c.new) for c in change.changes] == [
        (STEPS, [10, 25, 50, 100], [5, 25, 50, 100]),
        ("teams.operations", [], ["ana"]),
    ]


def test_each_update_appends_and_old_is_what_was_in_force(config_file: Path, history_file: Path) -> None:
    key = "environments.production.infrastructure.min_instances"
    update_config({key: 3}, file=config_file, actor="ana", history_file=history_file)
    update_config({key: 4}, file=config_file, actor="bo", history_file=history_file)
    history = read_config_history(history_file)
    assert [(h.actor, h.changes[0].old, h.changes[0].new) for h in history] == [("ana", 2, 3), ("bo", 3, 4)]


@pytest.mark.parametrize("existing", [None, "profile = 'gcp'\n# keep this comment\n"])
def test_an_invalid_change_leaves_file_and_history_untouched(
    config_file: Path, history_file: Path, existing: str | None
) -> None:
    if existing is not None:
        config_file.write_text(existing)
    update_config({"teams.operations": ["ana"]}, file=config_file, actor="ana", history_file=history_file)
    before = config_file.read_bytes()
    history_before = history_file.read_bytes()

    with pytest.raises(ConfigError) as caught:
        update_config(
            {"environments.production.infrastructure.min_instances": 1},
            file=config_file,
            actor="bo",
            history_file=history_file,
        )
    assert str(caught.value) == (
        f"{config_file}: environments.production.infrastructure.min_instances: "
        "production needs at least 2 instances for high availability, got 1"
    )
    assert config_file.read_bytes() == before
    assert history_file.read_bytes() == history_before
    assert not list(config_file.parent.glob(".opsconsole.toml.tmp-*"))


def test_an_invalid_change_to_an_absent_file_creates_nothing(config_file: Path, history_file: Path) -> None:
    with pytest.raises(ConfigError):
        update_config({STEPS: [50, 10, 100]}, file=config_file, actor="ana", history_file=history_file)
    assert not config_file.exists()
    assert read_config_history(history_file) == []


def test_a_literal_secret_is_refused_and_not_written_anywhere(config_file: Path, history_file: Path) -> None:
    secret = "redis://:Zq8-very-secret@10.0.0.7:6379"
    with pytest.raises(ConfigError) as caught:
        update_config(
            {"environments.dev.application.redis_connection": secret},
            file=config_file,
            actor="ana",
            history_file=history_file,
        )
    assert secret not in str(caught.value)
    assert not config_file.exists() and not history_file.exists()


def test_none_removes_a_setting_so_the_default_applies_again(config_file: Path, history_file: Path) -> None:
    update_config({STEPS: [50, 100]}, file=config_file, actor="ana", history_file=history_file)
    config = update_config({STEPS: None}, file=config_file, actor="ana", history_file=history_file)
    assert config.environments["production"].strategy.steps == [10, 25, 50, 100]  # type: ignore[union-attr]
    assert "steps" not in config_file.read_text()
    assert read_config_history(history_file)[-1].changes[0].old == [50, 100]


def test_switching_the_strategy_kind_in_a_file(config_file: Path, history_file: Path) -> None:
    config = update_config(
        {
            "environments.staging.strategy.kind": "canary",
            "environments.staging.strategy.steps": [20, 100],
            "environments.staging.strategy.analysis_window_s": 120,
        },
        file=config_file,
        actor="ana",
        history_file=history_file,
    )
    assert config.environments["staging"].strategy.kind == "canary"


def test_setting_inside_a_value_that_is_not_a_table_is_refused(config_file: Path, history_file: Path) -> None:
    config_file.write_text("profile = 'gcp'\n")
    with pytest.raises(ConfigError, match=r"cannot be set because profile is not a table"):
        update_config({"profile.name": "x"}, file=config_file, actor="ana", history_file=history_file)
    with pytest.raises(BadInput, match="not a dotted path"):
        update_config({"teams..x": []}, file=config_file, actor="ana", history_file=history_file)
    with pytest.raises(BadInput, match="name of the operator"):
        update_config({"profile": "gcp"}, file=config_file, actor=" ", history_file=history_file)


def test_overrides_from_the_environment_apply_when_given(config_file: Path, history_file: Path) -> None:
    config = update_config(
        {"profile": "gcp"},
        file=config_file,
        actor="ana",
        history_file=history_file,
        environ={"OPSCONSOLE_ENVIRONMENTS__DEV__INFRASTRUCTURE__MAX_INSTANCES": "7"},
    )
    assert config.profile == "gcp"
    assert config.environments["dev"].infrastructure.max_instances == 7
    assert "max_instances" not in config_file.read_text()


def test_a_torn_last_history_line_is_ignored_and_cut_before_the_next(config_file: Path, history_file: Path) -> None:
    update_config({"profile": "gcp"}, file=config_file, actor="ana", history_file=history_file)
    with history_file.open("a") as handle:
        handle.write('{"at": "2026-01-01T00:00:00Z", "actor": "cra')  # a crash mid-append
    assert [h.actor for h in read_config_history(history_file)] == ["ana"]
    update_config({"profile": "sandbox"}, file=config_file, actor="bo", history_file=history_file)
    assert [h.actor for h in read_config_history(history_file)] == ["ana", "bo"]


def test_a_whole_last_record_without_its_newline_is_kept(config_file: Path, history_file: Path) -> None:
    update_config({"profile": "gcp"}, file=config_file, actor="ana", history_file=history_file)
    history_file.write_bytes(history_file.read_bytes().rstrip(b"\n"))  # the newline never landed
    assert [h.actor for h in read_config_history(history_file)] == ["ana"]
    update_config({"profile": "sandbox"}, file=config_file, actor="bo", history_file=history_file)
    assert [h.actor for h in read_config_history(history_file)] == ["ana", "bo"]


def test_a_damaged_history_line_is_reported_by_number(history_file: Path) -> None:
    history_file.parent.mkdir(parents=True)
    history_file.write_text("not json\n")
    with pytest.raises(BadInput, match=r"Line 1 of the configuration history .* is not a change record"):
        read_config_history(history_file)
