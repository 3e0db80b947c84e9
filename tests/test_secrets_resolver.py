"""SecretResolver: env: references from the environment, sm:// ones through the official Secret Manager client
against the sandbox's Secret Manager API, resolved at each use and never repeated in an error; and the
sandbox wiring, which resolves only sm:// references and never posts to a webhook from the operator's shell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import secretmanager_v1

from console.wiring import Wiring
from core.config import ConsoleConfig, default_config
from core.errors import OperationFailed
from core.providers.notify import Notice
from core.providers.secrets import SecretResolver, crc32c, secretmanager_client
from sandbox.clock import SandboxClock
from sandbox.cloud import SLACK_PATH, SandboxCloud

PROD = "ai-agent-network-prod"
REDIS = f"sm://projects/{PROD}/secrets/redis-url/versions/latest"


@pytest.fixture
def resolver(cloud: SandboxCloud) -> Iterator[SecretResolver]:
    found = SecretResolver({"SLACK_WEBHOOK_URL": "https://hooks.example/T/B/x"}, cloud.endpoints)
    yield found
    found.close()


def test_env_references_come_from_the_environment(resolver: SecretResolver) -> None:
    assert resolver.resolve("env:SLACK_WEBHOOK_URL") == "https://hooks.example/T/B/x"
    with pytest.raises(OperationFailed, match="SLACK_WEBHOOK_URL is unset"):
        SecretResolver({}).resolve("env:SLACK_WEBHOOK_URL")


def test_sm_references_are_read_from_the_sandboxes_secret_manager(cloud: SandboxCloud,
                                                                  resolver: SecretResolver) -> None:
    value = resolver.resolve(REDIS)

    assert value.startswith("redis://default:sandbox-redis-password-") and value in cloud.secret_store.values()
    assert cloud.secret_store.accessed == [f"projects/{PROD}/secrets/redis-url/versions/1"]


def test_each_use_reads_the_current_version_so_a_rotated_secret_is_picked_up(cloud: SandboxCloud,
                                                                             resolver: SecretResolver) -> None:
    before = resolver.resolve(REDIS)
    cloud.secret_store.add_version(PROD, "redis-url", "redis://default:rotated-password@10.0.0.4:6379/0")

    assert resolver.resolve(REDIS) == "redis://default:rotated-password@10.0.0.4:6379/0"
    assert resolver.resolve(REDIS.replace("latest", "1")) == before


def test_a_missing_secret_is_named_by_its_reference(resolver: SecretResolver) -> None:
    with pytest.raises(OperationFailed) as raised:
        resolver.resolve(f"sm://projects/{PROD}/secrets/no-such-secret/versions/3")
    assert str(raised.value) == f"Secret Manager has no secret version sm://projects/{PROD}/secrets/no-such-secret/versions/3."


def test_the_official_client_lists_and_gets_the_seeded_secrets(cloud: SandboxCloud) -> None:
    client = secretmanager_client(cloud.endpoints)
    try:
        names = [s.name for s in client.list_secrets(parent=f"projects/{PROD}")]
        secret = client.get_secret(name=f"projects/{PROD}/secrets/slack-webhook")
        answer = client.access_secret_version(name=f"projects/{PROD}/secrets/vercel-token/versions/latest")
    finally:
        client.transport.close()
    assert {f"projects/{PROD}/secrets/{s}" for s in ("redis-url", "firebase-api-key", "vercel-token",
                                                      "slack-webhook", "pagerduty-routing-key")} <= set(names)
    assert secret.name == f"projects/{PROD}/secrets/slack-webhook"
    assert isinstance(answer, secretmanager_v1.AccessSecretVersionResponse)
    assert answer.payload.data_crc32c == crc32c(answer.payload.data)  # checked by the resolver on every read


def test_secret_values_never_reach_the_sandboxes_state_file(tmp_path: Path, clock: SandboxClock) -> None:
    state = tmp_path / "sandbox.json"
    cloud = SandboxCloud(clock=clock, state_file=state).start()
    try:
        values = cloud.secret_store.values()
        cloud.save()
        saved = state.read_text()
    finally:
        cloud.stop()
    assert values and not [v for v in values if v in saved]


def _with_production_secrets(**secrets: str) -> ConsoleConfig:
    config = default_config()
    production = config.environments["production"]
    changed = production.model_copy(update={"secrets": {**production.secrets, **secrets}})
    return config.model_copy(update={"environments": {**config.environments, "production": changed}})


def test_the_sandbox_never_posts_to_a_webhook_from_the_operators_environment(cloud: SandboxCloud) -> None:
    wiring = Wiring.for_sandbox(default_config(), cloud)  # slack_webhook = "env:SLACK_WEBHOOK_URL"
    wiring.environ = {"SLACK_WEBHOOK_URL": "http://127.0.0.1:9/operators-real-webhook"}
    try:
        for notifier in wiring.notifiers():
            notifier.notify(Notice(summary="sandbox deploy started"))
    finally:
        wiring.close()
    (record,) = cloud.sinks.received("slack")
    assert record.path == SLACK_PATH and record.status == 200


def test_sm_references_send_the_sandbox_notifications_to_the_seeded_webhook(cloud: SandboxCloud) -> None:
    config = _with_production_secrets(slack_webhook=f"sm://projects/{PROD}/secrets/slack-webhook/versions/latest",
                                      pagerduty_routing_key=f"sm://projects/{PROD}/secrets/pagerduty-routing-key"
                                                            "/versions/latest")
    wiring = Wiring.for_sandbox(config, cloud)
    try:
        for notifier in wiring.notifiers():
            notifier.notify(Notice(summary="sandbox deploy started"))
    finally:
        wiring.close()
    webhook = cloud.secret_store.versions[(PROD, "slack-webhook")][-1]
    key = cloud.secret_store.versions[(PROD, "pagerduty-routing-key")][-1]
    (slack,) = cloud.sinks.received("slack")
    assert webhook.endswith(slack.path)
    assert [r.body["routing_key"] for r in cloud.sinks.received() if r.channel.startswith("pagerduty")] == [key]
