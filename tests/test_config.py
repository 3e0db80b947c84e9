"""The configuration model: built-in defaults, each validation rule, secret references, generated files."""

from __future__ import annotations

import json
import traceback
from typing import Any

import pytest

from core.config import (
    CHECKS,
    PREDEFINED_STRATEGIES,
    Access,
    BlueGreenStrategy,
    CanaryStrategy,
    ConfigError,
    EnvRef,
    SecretManagerRef,
    default_config,
    generate_deployment_config,
    generate_terraform_vars,
    parse_secret_ref,
    resolve_secret,
    validate_configuration,
)
from core.errors import BadInput, OperationFailed


def nested(dotted: str, value: Any) -> dict[str, Any]:
    for key in reversed(dotted.split(".")):
        value = {key: value}
    return value


def problems_of(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_configuration(data, source="ops.toml")
    return [(p.source, p.path, p.message) for p in caught.value.problems]


# --- defaults ------------------------------------------------------------------------------------


def test_defaults_describe_the_agent_network_as_seeded() -> None:
    config = default_config()
    assert config.profile == "sandbox"
    assert list(config.environments) == ["dev", "staging", "production"]
    assert config.teams == {"operations": []}
    for name, project in [
        ("dev", "ai-agent-network-dev"),
        ("staging", "ai-agent-network-staging"),
        ("production", "ai-agent-network-prod"),
    ]:
        env = config.environments[name]
        infra = env.infrastructure
        assert (infra.gcp_project, infra.region, infra.service_name) == (
            project,
            "us-central1",
            "websocket-server",
        )
        # Sized as the seed says and as infrastructure/environments/*/terraform.tfvars configure them.
        sizes = {"dev": (0, 3), "staging": (1, 10), "production": (2, 20)}
        assert (infra.min_instances, infra.max_instances, infra.cpu_target) == (*sizes[name], 70)
        assert (infra.cpu_limit, infra.memory_limit) == ("1", "512Mi")
        assert env.application.firebase_project_id == project
        assert env.application.redis_connection == f"sm://projects/{project}/secrets/redis-url/versions/latest"
        assert env.secrets["vercel_token"] == "env:VERCEL_TOKEN"
        assert env.strategy.criteria.max_5xx_rate == 0.01
        assert env.strategy.triggers.error_rate == 0.05

    dev, staging, production = (config.environments[n] for n in ("dev", "staging", "production"))
    assert isinstance(dev.strategy, BlueGreenStrategy) and dev.strategy.observation_window_s == 60
    assert dev.access.operators == ["*"] and not dev.requires_approval
    assert isinstance(staging.strategy, BlueGreenStrategy) and staging.strategy.observation_window_s == 300
    assert staging.strategy.criteria.required_checks == ["health", "websocket", "smoke", "error_rate", "integration"]
    assert isinstance(production.strategy, CanaryStrategy)
    assert production.strategy.steps == [10, 25, 50, 100]
    assert (production.strategy.analysis_window_s, production.strategy.mode) == (300, "manual")
    assert production.strategy.criteria.required_checks == list(CHECKS)
    assert production.requires_approval and production.access.groups == ["operations"]
    assert production.application.websocket_url == "wss://ws.agent-network.example"
    assert production.application.frontend_project == "agent-network-web"
    assert staging.application.websocket_url == "wss://ws.staging.agent-network.example"


def test_predefined_strategies_are_the_ones_the_environments_use() -> None:
    config = default_config()
    assert {name: env.strategy for name, env in config.environments.items()} == PREDEFINED_STRATEGIES


def test_validating_an_empty_mapping_gives_the_defaults() -> None:
    assert validate_configuration({}) == default_config()


# --- each rule bites -----------------------------------------------------------------------------

PRODUCTION = "environments.production"
DEV_INFRA = "environments.dev.infrastructure"


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        (
            f"{PRODUCTION}.infrastructure.min_instances",
            1,
            "production needs at least 2 instances for high availability, got 1",
        ),
        (f"{PRODUCTION}.requires_approval", False, "production must require approval"),
        (f"{PRODUCTION}.access.operators", ["*"], "production must restrict access"),
        (
            f"{PRODUCTION}.access.groups",
            ["operatoins"],
            "access group operatoins is not defined under teams",
        ),
        (f"{DEV_INFRA}.min_instances", 30, "min_instances (30) must not exceed max_instances (3)"),
        (f"{DEV_INFRA}.max_instances", 1001, "less than or equal to 1000"),
        (f"{DEV_INFRA}.max_instances", 0, "greater than or equal to 1"),
        (f"{DEV_INFRA}.min_instances", -1, "greater than or equal to 0"),
        (f"{DEV_INFRA}.cpu_target", 0, "greater than or equal to 1"),
        (f"{DEV_INFRA}.cpu_target", 101, "less than or equal to 100"),
        (f"{DEV_INFRA}.cpu_limit", "one", "must be CPUs such as 1, 2 or 1000m"),
        (f"{DEV_INFRA}.memory_limit", "512MB", "must be a memory size such as 512Mi or 1Gi"),
        (f"{DEV_INFRA}.region", "US Central", "must be a Google Cloud region"),
        (f"{DEV_INFRA}.gcp_project", "My_Project", "must be a Google Cloud project id"),
        (f"{DEV_INFRA}.min_instances", "3", "must be a valid integer"),
        (f"{DEV_INFRA}.min_instances", True, "must be a valid integer"),
        (f"{DEV_INFRA}.min_instance", 3, "is not a known setting; did you mean min_instances?"),
        (
            "environments.dev.application.websocket_url",
            "https://ws.example",
            "must be a ws:// or wss:// URL",
        ),
        (
            "environments.dev.application.websocket_url",
            "wss://u:p@ws.example",
            "must not carry credentials",
        ),
        ("environments.dev.application.frontend_project", "Agent Web", "must be a Vercel project name"),
        (f"{PRODUCTION}.strategy.steps", [10, 50, 25, 100], "strictly increasing, but 25 follows 50"),
        (f"{PRODUCTION}.strategy.steps", [10, 50], "must end at 100"),
        (f"{PRODUCTION}.strategy.steps", [0, 100], "from 1 to 100, got 0"),
        (f"{PRODUCTION}.strategy.steps", [], "at least one traffic percentage"),
        (f"{PRODUCTION}.strategy.analysis_window_s", 5, "greater than or equal to 10"),
        (f"{PRODUCTION}.strategy.mode", "yolo", "must be 'manual' or 'auto'"),
        (f"{PRODUCTION}.strategy.kind", "big-bang", "kind must be one of blue-green, canary, rolling"),
        ("environments.dev.strategy.observation_window_s", 86401, "less than or equal to 86400"),
        (
            "environments.dev.strategy.criteria.required_checks",
            ["health", "health"],
            "lists health more",
        ),
        ("environments.dev.strategy.criteria.max_5xx_rate", 1.5, "less than or equal to 1"),
        ("environments.dev.strategy.criteria.max_p99_latency_ms", 0, "greater than 0"),
        ("environments.dev.strategy.criteria.max_p99_latency_ms", 60001, "less than or equal to 60000"),
        (
            "environments.dev.strategy.criteria.max_p99_ratio_to_stable",
            0.5,
            "greater than or equal to 1",
        ),
        (
            "environments.dev.strategy.criteria.min_requests_per_window",
            -1,
            "greater than or equal to 0",
        ),
        (
            "environments.dev.strategy.triggers.error_rate",
            0.005,
            "below the criteria's max_5xx_rate 0.01",
        ),
        ("environments.dev.strategy.triggers.latency_degradation_ratio", 1.0, "greater than 1"),
        (
            "environments.dev.strategy.triggers.consecutive_failed_windows",
            21,
            "less than or equal to 20",
        ),
        ("environments.dev.strategy.criteria.max_5xx_rate", float("nan"), "must be a finite number"),
        ("environments.dev.name", "staging", "name staging differs from its key dev"),
        ("environments.qa", {"name": "qa"}, "is not an environment; the environments are dev, staging"),
        ("console.refresh_seconds", 0.1, "greater than or equal to 0.5"),
        ("environments.dev.health.max_5xx_rate", 1.5, "less than or equal to 1"),
        ("environments.dev.health.max_5xx_rate", "5%", "must be a valid number"),
        ("environments.dev.health.max_p99_latency_ms", 0, "greater than 0"),
        ("environments.dev.health.window_s", 30, "greater than or equal to 60"),
        ("environments.dev.health.probe_timeout_s", 31, "less than or equal to 30"),
        ("environments.dev.health.max_5xx", 0.1, "is not a known setting; did you mean max_5xx_rate?"),
        ("profile", "aws", "must be 'sandbox' or 'gcp'"),
    ],
)
def test_each_rule_rejects_its_bad_value_naming_the_setting(dotted: str, value: Any, message: str) -> None:
    problems = problems_of(nested(dotted, value))
    assert len(problems) == 1, problems
    source, found_path, found_message = problems[0]
    assert source == "ops.toml"
    assert found_path == dotted
    assert message in found_message


def test_an_unknown_check_is_named_by_its_position() -> None:
    checks = "environments.dev.strategy.criteria.required_checks"
    assert problems_of(nested(checks, ["health", "latency"])) == [
        ("ops.toml", f"{checks}.1", "must be 'health', 'websocket', 'smoke', 'error_rate', 'integration' or 'security'")
    ]


def test_production_rules_are_all_reported_together() -> None:
    problems = problems_of(
        {
            "environments": {
                "production": {
                    "requires_approval": False,
                    "access": {"operators": ["*"]},
                    "infrastructure": {"min_instances": 0},
                }
            }
        }
    )
    assert [path for _, path, _ in problems] == [
        f"{PRODUCTION}.infrastructure.min_instances",
        f"{PRODUCTION}.requires_approval",
        f"{PRODUCTION}.access.operators",
    ]


def test_a_rule_between_two_fields_names_the_one_that_was_set() -> None:
    # max_instances is the field that "fails" against the default min, but the operator wrote max.
    problems = problems_of(nested(f"{PRODUCTION}.infrastructure.max_instances", 1))
    assert problems == [
        ("ops.toml", f"{PRODUCTION}.infrastructure.max_instances",
         "min_instances (2) must not exceed max_instances (1)")
    ]


def test_switching_the_strategy_kind_drops_the_old_kinds_settings() -> None:
    config = validate_configuration(
        nested("environments.staging.strategy", {"kind": "canary", "steps": [50, 100], "analysis_window_s": 60})
    )
    strategy = config.environments["staging"].strategy
    assert isinstance(strategy, CanaryStrategy) and strategy.steps == [50, 100]
    # The criteria were not mentioned, so staging keeps its own required checks.
    assert strategy.criteria.required_checks == ["health", "websocket", "smoke", "error_rate", "integration"]


def test_switching_kind_without_the_new_kinds_settings_says_what_is_missing() -> None:
    problems = problems_of(nested("environments.staging.strategy.kind", "rolling"))
    assert {(path, message) for _, path, message in problems} == {
        ("environments.staging.strategy.batch_percent", "must be set"),
        ("environments.staging.strategy.pause_between_batches_s", "must be set"),
    }


def test_a_valid_override_is_applied() -> None:
    config = validate_configuration(
        {"environments": {"production": {"infrastructure": {"min_instances": 3, "max_instances": 40}}}}
    )
    assert config.environments["production"].infrastructure.min_instances == 3
    assert config.environments["production"].infrastructure.max_instances == 40
    assert config.environments["dev"].infrastructure.max_instances == 3


# --- secrets -------------------------------------------------------------------------------------

LITERALS = [
    "redis://:s3cr3t-pa55@redis.internal:6379",
    "sk_live_51HvXkq2eZvKYlo2C0aBcDeFgHiJkLmN",
    "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "hunter2",
]


@pytest.mark.parametrize("literal", LITERALS)
def test_a_literal_secret_is_rejected_without_repeating_it(literal: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_configuration(nested("environments.dev.secrets.vercel_token", literal), source="ops.toml")
    error = caught.value
    assert str(error) == (
        "ops.toml: environments.dev.secrets.vercel_token: this setting holds what looks like a literal secret "
        "value; store it in Secret Manager or the environment and write a reference such as env:NAME or "
        "sm://projects/P/secrets/S/versions/V"
    )
    # Not in the message, and not in a traceback either (the pydantic error holding it is suppressed).
    assert literal not in "".join(traceback.format_exception(error))


@pytest.mark.parametrize(
    "reference",
    ["env:lower_case", "env:", "sm://projects/p/secrets/s", "sm://projects/my-proj/secrets/s/versions/v2"],
)
def test_a_malformed_reference_is_rejected_with_the_shape_to_use(reference: str) -> None:
    problems = problems_of(nested("environments.dev.application.redis_connection", reference))
    assert len(problems) == 1
    assert "env:NAME" in problems[0][2] or "sm://projects/P/secrets/S/versions/V" in problems[0][2]
    with pytest.raises(BadInput):
        parse_secret_ref(reference)


def test_references_parse_into_their_parts() -> None:
    assert parse_secret_ref("env:REDIS_URL") == EnvRef("REDIS_URL")
    assert parse_secret_ref("sm://projects/ai-agent-network-prod/secrets/redis-url/versions/3") == SecretManagerRef(
        "ai-agent-network-prod", "redis-url", "3"
    )
    assert str(parse_secret_ref("sm://projects/123456/secrets/k/versions/latest")) == (
        "sm://projects/123456/secrets/k/versions/latest"
    )


def test_resolving_reads_the_environment_and_explains_what_it_cannot_do() -> None:
    assert resolve_secret("env:REDIS_URL", {"REDIS_URL": "redis://r:6379"}) == "redis://r:6379"
    with pytest.raises(OperationFailed, match="REDIS_URL is unset or empty"):
        resolve_secret(EnvRef("REDIS_URL"), {})
    with pytest.raises(OperationFailed, match="Secret Manager resolution needs a Secret Manager client"):
        resolve_secret("sm://projects/ai-agent-network-prod/secrets/redis-url/versions/latest", {})


# --- access --------------------------------------------------------------------------------------


def test_access_allows_anyone_named_operators_and_team_members() -> None:
    teams = {"operations": ["ana"], "web": ["bo"]}
    assert Access(operators=["*"]).allows("zed", teams)
    assert Access(operators=["zed"]).allows("zed", teams)
    ops_only = Access(groups=["operations"])
    assert ops_only.allows("ana", teams)
    assert not ops_only.allows("bo", teams)
    assert not ops_only.allows("", teams)
    assert not Access(groups=["missing"]).allows("ana", teams)


# --- generated files -----------------------------------------------------------------------------


def test_terraform_vars_carry_settings_and_secret_names_only() -> None:
    tfvars = generate_terraform_vars(default_config(), "production")
    assert tfvars["project_id"] == "ai-agent-network-prod"
    assert (tfvars["min_instances"], tfvars["max_instances"]) == (2, 20)
    assert tfvars["cpu_utilization_target"] == 0.7
    assert (tfvars["cpu_limit"], tfvars["memory_limit"]) == ("1", "512Mi")
    assert tfvars["secret_refs"]["redis_connection"] == {
        "secret": "redis-url",
        "version": "latest",
        "project": "ai-agent-network-prod",
    }
    assert tfvars["secret_refs"]["vercel_token"] == {"env_var": "VERCEL_TOKEN"}
    assert "sm://" not in json.dumps(tfvars) and "env:" not in json.dumps(tfvars)


def test_terraform_vars_for_an_unknown_environment_name_the_known_ones() -> None:
    with pytest.raises(BadInput, match=r"no environment 'qa'.*known: dev, staging, production"):
        generate_terraform_vars(default_config(), "qa")


def test_deployment_config_is_what_the_pipeline_needs_and_is_json() -> None:
    generated = generate_deployment_config(default_config())
    production = json.loads(json.dumps(generated))["environments"]["production"]
    assert production["strategy"] == {
        "kind": "canary",
        "steps": [10, 25, 50, 100],
        "analysis_window_s": 300,
        "mode": "manual",
        "load_test": None,
        "probes": {"enabled": True, "requests": 50, "timeout_s": 2.0},
    }
    assert production["required_checks"] == list(CHECKS)
    assert production["requires_approval"] is True
    assert production["access_groups"] == ["operations"]
    assert (production["service"], production["project"], production["region"]) == (
        "websocket-server",
        "ai-agent-network-prod",
        "us-central1",
    )
    assert production["triggers"]["error_rate"] == 0.05
    assert generated["environments"]["staging"]["strategy"]["kind"] == "blue-green"
    assert "sm://" not in json.dumps(generated)
