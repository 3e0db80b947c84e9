"""Properties of validation: any mapping gives a configuration that keeps the invariants, or a ConfigError
whose every problem names a setting and says what is wrong — never any other exception."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import (
    ENVIRONMENTS,
    STRATEGY_KINDS,
    CanaryStrategy,
    ConfigError,
    ConsoleConfig,
    parse_secret_ref,
    validate_configuration,
)
from core.config.secrets import SECRET_REF_PROBLEMS

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(-5, 120), max_size=5),
    st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), st.integers(), max_size=2),
)
secret_like = st.one_of(
    st.sampled_from(["env:VERCEL_TOKEN", "sm://projects/my-project/secrets/s/versions/latest", "env:lower"]),
    st.from_regex(r"env:[A-Z_][A-Z0-9_]{0,8}", fullmatch=True),
    st.text(max_size=40),
)
steps = st.lists(st.integers(-5, 110), max_size=6)

# Settings worth poking, each with values around its limits, plus junk of any type.
SETTINGS: list[tuple[tuple[str, ...], st.SearchStrategy[Any]]] = [
    (("profile",), st.sampled_from(["sandbox", "gcp", "aws"])),
    (("teams", "operations"), st.lists(st.sampled_from(["ana", "bo", ""]), max_size=3)),
    (("console", "refresh_seconds"), st.floats(0, 12)),
    (("console", "keymap"), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)),
    (("infrastructure", "min_instances"), st.integers(-2, 30)),
    (("infrastructure", "max_instances"), st.integers(-1, 1002)),
    (("infrastructure", "cpu_target"), st.integers(-1, 102)),
    (("infrastructure", "memory_limit"), st.sampled_from(["512Mi", "1Gi", "2G", "lots", ""])),
    (("infrastructure", "region"), st.sampled_from(["us-central1", "europe-west4", "mars"])),
    (("application", "websocket_url"), st.sampled_from(["wss://a.example", "ws://[x", "http://a", "wss://u:p@a"])),
    (("application", "redis_connection"), secret_like),
    (("secrets", "vercel_token"), secret_like),
    (("secrets", "new_secret"), secret_like),
    (("access", "operators"), st.lists(st.sampled_from(["*", "ana"]), max_size=2)),
    (("access", "groups"), st.lists(st.sampled_from(["operations", "web"]), max_size=2)),
    (("requires_approval",), st.booleans()),
    (("name",), st.sampled_from([*ENVIRONMENTS, "qa"])),
    (("strategy", "kind"), st.sampled_from([*STRATEGY_KINDS, "big-bang"])),
    (("strategy", "steps"), steps),
    (("strategy", "analysis_window_s"), st.integers(0, 90000)),
    (("strategy", "observation_window_s"), st.integers(0, 90000)),
    (("strategy", "mode"), st.sampled_from(["manual", "auto", "yolo"])),
    (("strategy", "batch_percent"), st.integers(0, 101)),
    (("strategy", "pause_between_batches_s"), st.integers(-1, 90000)),
    (("strategy", "criteria", "max_5xx_rate"), st.floats(-0.1, 1.1)),
    (("strategy", "criteria", "required_checks"), st.lists(st.sampled_from(["health", "security", "smoke"]))),
    (("strategy", "triggers", "error_rate"), st.floats(-0.1, 1.1)),
    (("strategy", "triggers", "latency_degradation_ratio"), st.floats(0.5, 11)),
    (("strategy", "triggers", "consecutive_failed_windows"), st.integers(0, 21)),
    (("unknown_setting",), junk),
]
ROOT_SETTINGS = {("profile",), ("teams", "operations"), ("console", "refresh_seconds"), ("console", "keymap")}


@st.composite
def config_mappings(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for path, values in draw(st.lists(st.sampled_from(SETTINGS), max_size=8)):
        value = draw(st.one_of(values, junk) if draw(st.integers(0, 4)) == 0 else values)
        if path not in ROOT_SETTINGS:
            env = draw(st.sampled_from([*ENVIRONMENTS, "production", "qa"]))
            path = ("environments", env, *path)
        node = data
        for key in path[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[path[-1]] = value
    if draw(st.integers(0, 9)) == 0:  # now and then a table replaced by junk
        data[draw(st.sampled_from(["environments", "console", "teams"]))] = draw(junk)
    return data


def assert_invariants(config: ConsoleConfig) -> None:
    for name, env in config.environments.items():
        assert env.name == name
        infra = env.infrastructure
        assert 0 <= infra.min_instances <= infra.max_instances <= 1000
        strategy = env.strategy
        if isinstance(strategy, CanaryStrategy):
            assert strategy.steps[-1] == 100
            assert all(1 <= step <= 100 for step in strategy.steps)
            assert all(a < b for a, b in pairwise(strategy.steps))
        assert strategy.triggers.error_rate >= strategy.criteria.max_5xx_rate
        for reference in [env.application.redis_connection, *env.secrets.values()]:
            parse_secret_ref(reference)  # raises if it is not a reference
        for group in env.access.groups:
            assert group in config.teams
    production = config.environments["production"]
    assert production.infrastructure.min_instances >= 2
    assert production.requires_approval and "*" not in production.access.operators


@FAST
@given(config_mappings())
def test_any_mapping_validates_into_the_invariants_or_explains_itself(data: dict[str, Any]) -> None:
    try:
        config = validate_configuration(data, source="fuzz.toml")
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.source == "fuzz.toml"  # the defaults are never blamed for the input's fault
            assert problem.path.strip() and problem.message.strip()
            assert "\n" not in problem.message
        return
    assert_invariants(config)


@FAST
@given(steps)
def test_canary_steps_are_accepted_exactly_when_increasing_within_1_to_100_ending_at_100(
    values: list[int],
) -> None:
    expected = bool(values) and values[-1] == 100 and all(1 <= v <= 100 for v in values)
    expected = expected and all(a < b for a, b in pairwise(values))
    data = {"environments": {"production": {"strategy": {"steps": values}}}}
    try:
        config = validate_configuration(data)
    except ConfigError as error:
        assert not expected, str(error)
        assert [p.path for p in error.problems] == ["environments.production.strategy.steps"]
        return
    assert expected
    assert config.environments["production"].strategy.steps == values  # type: ignore[union-attr]


SECRET_MESSAGES = {f"this setting {message}" for message in SECRET_REF_PROBLEMS}


@FAST
@given(st.text(max_size=60))
def test_a_rejected_secret_setting_never_quotes_what_was_written(text: str) -> None:
    try:
        validate_configuration({"environments": {"dev": {"secrets": {"vercel_token": text}}}})
    except ConfigError as error:
        # One of a few fixed sentences, whatever the text was: nothing of it can leak.
        assert [problem.message for problem in error.problems] in ([m] for m in SECRET_MESSAGES)
        return
    parse_secret_ref(text)
