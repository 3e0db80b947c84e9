"""The built-in configuration: the AI Agent Network as the seed describes it, before any file or variable."""

from __future__ import annotations

from core.config.health import HealthSettings
from core.config.models import (
    ENVIRONMENTS,
    Access,
    ApplicationSettings,
    ConsoleConfig,
    EnvironmentConfig,
    EnvironmentName,
    InfrastructureSettings,
)
from core.config.notifications import NotificationSettings
from core.config.strategies import (
    BlueGreenStrategy,
    CanaryStrategy,
    StrategySettings,
    ValidationCriteria,
)
from core.model.health import PageAt

GCP_PROJECTS = {
    "dev": "ai-agent-network-dev",
    "staging": "ai-agent-network-staging",
    "production": "ai-agent-network-prod",
}
WEBSOCKET_URLS = {
    "dev": "wss://ws.dev.agent-network.example",
    "staging": "wss://ws.staging.agent-network.example",
    "production": "wss://ws.agent-network.example",
}
FRONTEND_PROJECTS = {
    "dev": "agent-network-web-dev",
    "staging": "agent-network-web-staging",
    "production": "agent-network-web",
}
PURPOSES = {
    "dev": "Development: blue-green, deployed and verified automatically.",
    "staging": "Pre-production: blue-green with health, WebSocket, smoke, error-rate and integration checks.",
    "production": "Serves users: canary 10 → 25 → 50 → 100, each step taken by a person after approval.",
}

PREDEFINED_STRATEGIES: dict[str, StrategySettings] = {
    "dev": BlueGreenStrategy(
        observation_window_s=60,
        criteria=ValidationCriteria(required_checks=["health", "websocket"]),
    ),
    "staging": BlueGreenStrategy(
        observation_window_s=300,
        criteria=ValidationCriteria(required_checks=["health", "websocket", "smoke", "error_rate", "integration"]),
    ),
    "production": CanaryStrategy(
        steps=[10, 25, 50, 100],
        analysis_window_s=300,
        mode="manual",
        criteria=ValidationCriteria(required_checks=["health", "websocket", "smoke", "error_rate", "integration",
                                                     "security"]),
    ),
}
"""Each environment's seeded deployment strategy, by environment name (criteria and triggers at defaults)."""


# Which state of live health pages PagerDuty: production pages as soon as users may suffer, staging only when
# it is down (QA is blocked), development never (nobody is woken for a developer's environment).
PAGE_AT: dict[str, PageAt] = {"dev": "never", "staging": "down", "production": "degraded"}

# Instances (min, max) per environment, as the seed sizes them and infrastructure/environments/*/terraform.tfvars
# say: development is for developers (scales to zero), staging for QA and integration, production for operations.
# Which events page PagerDuty: production pages for what users suffer (SEV2 incidents and worse, an automatic
# rollback); staging only for an outage (SEV2 there: QA is blocked); development never. A rollback a person asked
# for, a failed deployment nobody saw and an approval wait go to Slack everywhere.
NOTIFICATIONS: dict[str, NotificationSettings] = {
    "dev": NotificationSettings(incident_pages_from="never", automatic_rollback="never", rollback_failed="never"),
    "staging": NotificationSettings(incident_pages_from="SEV2", automatic_rollback="never", rollback_failed="never"),
    "production": NotificationSettings(incident_pages_from="SEV2", automatic_rollback="error",
                                       rollback_failed="critical"),
}

SIZES: dict[str, tuple[int, int]] = {"dev": (0, 3), "staging": (1, 10), "production": (2, 20)}


def _environment(name: EnvironmentName) -> EnvironmentConfig:
    project = GCP_PROJECTS[name]
    production = name == "production"
    return EnvironmentConfig(
        name=name,
        purpose=PURPOSES[name],
        access=Access(groups=["operations"]) if production else Access(operators=["*"]),
        infrastructure=InfrastructureSettings(
            gcp_project=project,
            region="us-central1",
            service_name="websocket-server",
            min_instances=SIZES[name][0],
            max_instances=SIZES[name][1],
            cpu_target=70,
            cpu_limit="1",
            memory_limit="512Mi",
        ),
        application=ApplicationSettings(
            websocket_url=WEBSOCKET_URLS[name],
            frontend_project=FRONTEND_PROJECTS[name],
            firebase_project_id=project,
            redis_connection=f"sm://projects/{project}/secrets/redis-url/versions/latest",
        ),
        secrets={
            "firebase_api_key": f"sm://projects/{project}/secrets/firebase-api-key/versions/latest",
            "vercel_token": "env:VERCEL_TOKEN",
            "slack_webhook": "env:SLACK_WEBHOOK_URL",
            "pagerduty_routing_key": "env:PAGERDUTY_ROUTING_KEY",
        },
        # A copy: the predefined strategies are shared, and their lists are not frozen.
        strategy=PREDEFINED_STRATEGIES[name].model_copy(deep=True),
        requires_approval=production,
        health=HealthSettings(page_at=PAGE_AT[name]),
        notifications=NOTIFICATIONS[name],
    )


def default_config() -> ConsoleConfig:
    """The configuration the console runs with when no file or variable says otherwise."""
    return ConsoleConfig(
        teams={"operations": []},
        environments={name: _environment(name) for name in ENVIRONMENTS},
    )
