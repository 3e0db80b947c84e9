"""Which plain environment variables the security check calls leaked secrets, and which it leaves alone."""

from __future__ import annotations

import pytest

from core.verify.secret_scan import find_leaks, leak_in
from core.verify.websocket import websocket_url


@pytest.mark.parametrize(("name", "value", "why"), [
    ("FIREBASE_API_KEY", "AIzaSyD4-not-a-real-key-but-shaped-12345", "has the shape of a Google API key"),
    ("REDIS_URL", "redis://default:s3cr3t@10.0.0.3:6379/0", "is a URL with a password in it"),
    ("REDIS_URL", "rediss://:s3cr3t@redis.internal:6380", "is a URL with a password in it"),
    ("DATABASE", "postgres://app:pw@db/app", "is a URL with a password in it"),
    ("SESSION_SECRET", "hunter2", "is named as a secret and holds a literal value"),
    ("DB_PASSWORD", "correct horse battery staple", "is named as a secret and holds a literal value"),
    ("vercel-token", "aBcD1234", "is named as a secret and holds a literal value"),
    ("SIGNING_KEY", "5f2b9c0e7d4a1b3c8e6f", "is named as a key and holds a long literal value"),
    ("NOTES", "xoxb-1234567890-abcdefghij", "has the shape of a Slack token"),
    ("ALERTS", "https://hooks.slack.com/services/T000/B000/XXXX", "is a Slack webhook URL"),
    ("GITHUB", "ghp_" + "a" * 36, "has the shape of a GitHub token"),
    ("SA_JSON", '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMII..."}', "holds a private key"),
])
def test_literal_secrets_are_found_and_said_why(name: str, value: str, why: str) -> None:
    assert leak_in(name, value) == why


@pytest.mark.parametrize(("name", "value"), [
    ("LOG_LEVEL", "debug"),
    ("REDIS_URL", "redis://10.0.0.3:6379/0"),  # no credentials: the password comes from a secret
    ("REDIS_URL", "redis://reader@10.0.0.3:6379"),  # a user name alone is not a secret
    ("REDIS_CONNECTION", "sm://projects/ai-agent-network-prod/secrets/redis-url/versions/latest"),
    ("API_TOKEN", "env:API_TOKEN"),
    ("API_TOKEN", "projects/p/secrets/api-token/versions/3"),
    ("TOKEN_URL", "https://securetoken.googleapis.com/v1/token"),
    ("GOOGLE_APPLICATION_CREDENTIALS", "/var/secrets/google/key.json"),
    ("CACHE_KEY_PREFIX", "v1"),
    ("PRIVATE_NETWORK", "true"),
    ("SECRET_ROTATION_DAYS", "30"),
    ("EMPTY_SECRET", ""),
])
def test_references_urls_paths_and_flags_are_not_leaks(name: str, value: str) -> None:
    assert leak_in(name, value) is None


def test_leaks_are_listed_by_variable_name_in_order() -> None:
    leaks = find_leaks({"Z_TOKEN": "abcdefgh", "A_PASSWORD": "pw-123456", "LOG_LEVEL": "info"})
    assert [leak.variable for leak in leaks] == ["A_PASSWORD", "Z_TOKEN"]
    assert "pw-123456" not in repr(leaks) and "abcdefgh" not in repr(leaks)


@pytest.mark.parametrize(("http", "ws"), [
    ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws"),
    ("https://canary---websocket-server-abc-uc.a.run.app/", "wss://canary---websocket-server-abc-uc.a.run.app/ws"),
    ("https://example.test/base", "wss://example.test/base/ws"),
])
def test_the_websocket_endpoint_is_derived_from_the_revision_url(http: str, ws: str) -> None:
    assert websocket_url(http) == ws
