"""The console's configuration: validated models, built-in defaults, layered loading with provenance,
generated Terraform and CI settings, and updates recorded in a history."""

from core.config.defaults import PREDEFINED_STRATEGIES, default_config
from core.config.generate import generate_deployment_config, generate_terraform_vars
from core.config.history import ConfigChange, FieldChange, read_config_history, update_config
from core.config.loader import (
    CONFIG_FILE_NAME,
    DEFAULTS_SOURCE,
    RESERVED_ENV_VARS,
    LoadedConfig,
    load_config,
    project_config_file,
    user_config_file,
    validate_configuration,
)
from core.config.models import (
    COMPONENTS,
    ENVIRONMENTS,
    Access,
    ApplicationSettings,
    ConsoleConfig,
    ConsoleSettings,
    EnvironmentConfig,
    InfrastructureSettings,
)
from core.config.problems import ConfigError, Problem
from core.config.secrets import EnvRef, SecretManagerRef, SecretRef, parse_secret_ref, resolve_secret
from core.config.strategies import (
    CHECKS,
    STRATEGY_KINDS,
    BlueGreenStrategy,
    CanaryStrategy,
    DeploymentStrategy,
    LoadTest,
    RollbackTriggers,
    RollingStrategy,
    ValidationCriteria,
)

__all__ = [
    "CHECKS",
    "COMPONENTS",
    "CONFIG_FILE_NAME",
    "DEFAULTS_SOURCE",
    "ENVIRONMENTS",
    "PREDEFINED_STRATEGIES",
    "RESERVED_ENV_VARS",
    "STRATEGY_KINDS",
    "Access",
    "ApplicationSettings",
    "BlueGreenStrategy",
    "CanaryStrategy",
    "ConfigChange",
    "ConfigError",
    "ConsoleConfig",
    "ConsoleSettings",
    "DeploymentStrategy",
    "EnvRef",
    "EnvironmentConfig",
    "FieldChange",
    "InfrastructureSettings",
    "LoadTest",
    "LoadedConfig",
    "Problem",
    "RollbackTriggers",
    "RollingStrategy",
    "SecretManagerRef",
    "SecretRef",
    "ValidationCriteria",
    "default_config",
    "generate_deployment_config",
    "generate_terraform_vars",
    "load_config",
    "parse_secret_ref",
    "project_config_file",
    "read_config_history",
    "resolve_secret",
    "update_config",
    "user_config_file",
    "validate_configuration",
]
