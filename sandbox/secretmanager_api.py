"""The sandbox's Secret Manager API v1 over REST (aiohttp): access a secret version, get and list secrets.

Paths and bodies are those of google-cloud-secret-manager's REST transport (its `rest_base.py`), so the
official SecretManagerServiceClient reads sandbox secrets exactly as it reads Google's. Each project
the sandbox serves is seeded with the platform's secrets, their values random per sandbox start and
shaped like the real ones ("sandbox-redis-password-..."), so a test can look for them where they
must never appear. Values live in memory only: they are never written to the sandbox's state file.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.providers.secrets import crc32c
from sandbox.cloudrun_api import error_body

SLACK_WEBHOOK_PATH = "/slack/services/T0SANDBOX/B0SANDBOX/"
STORE_KEY = web.AppKey("secret_store", "SecretStore")


def _seed_values(slack_base: str) -> dict[str, str]:
    """The platform's secrets as the seed names them, each with a fresh random sandbox value."""
    return {
        "redis-url": f"redis://default:sandbox-redis-password-{secrets.token_hex(8)}@10.0.0.3:6379/0",
        "firebase-api-key": f"sandbox-firebase-api-key-{secrets.token_hex(8)}",
        "vercel-token": f"sandbox-vercel-token-{secrets.token_hex(8)}",
        "slack-webhook": f"{slack_base}{SLACK_WEBHOOK_PATH}sandbox-slack-webhook-{secrets.token_hex(8)}",
        "pagerduty-routing-key": f"sandboxpd{secrets.token_hex(12)}"[:32].ljust(32, "0"),
    }


@dataclass
class SecretStore:
    """Secrets by project and id, each a list of versions (version n is index n - 1)."""

    versions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    accessed: list[str] = field(default_factory=list)  # version names read, for tests (never the values)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def seeded(cls, projects: Iterable[str], slack_base: str = "") -> SecretStore:
        store = cls()
        for project in sorted(projects):
            for secret, value in _seed_values(slack_base).items():
                store.add_version(project, secret, value)
        return store

    def add_version(self, project: str, secret: str, value: str) -> int:
        with self._lock:
            found = self.versions.setdefault((project, secret), [])
            found.append(value)
            return len(found)

    def values(self) -> list[str]:
        """Every value of every version: what must never show up anywhere but at its destination."""
        with self._lock:
            return [value for found in self.versions.values() for value in found]

    def value(self, project: str, secret: str, version: str) -> tuple[int, str] | None:
        with self._lock:
            found = self.versions.get((project, secret))
            if not found:
                return None
            number = len(found) if version == "latest" else int(version) if version.isdigit() else 0
            if not 1 <= number <= len(found):
                return None
            self.accessed.append(f"projects/{project}/secrets/{secret}/versions/{number}")
            return number, found[number - 1]


def _not_found(what: str) -> web.Response:
    return web.json_response(error_body("NOT_FOUND", f"{what} not found or has no versions.", 404), status=404)


def _secret_json(project: str, secret: str) -> dict[str, Any]:
    return {"name": f"projects/{project}/secrets/{secret}", "replication": {"automatic": {}},
            "createTime": "2026-01-01T00:00:00Z"}


async def access_version(request: web.Request) -> web.Response:
    project, secret, version = (request.match_info[k] for k in ("project", "secret", "version"))
    found = request.app[STORE_KEY].value(project, secret, version)
    if found is None:
        return _not_found(f"Secret [projects/{project}/secrets/{secret}/versions/{version}]")
    number, value = found
    data = value.encode()
    return web.json_response({
        "name": f"projects/{project}/secrets/{secret}/versions/{number}",
        "payload": {"data": base64.b64encode(data).decode(), "dataCrc32c": str(crc32c(data))},
    })


async def get_secret(request: web.Request) -> web.Response:
    project, secret = request.match_info["project"], request.match_info["secret"]
    if (project, secret) not in request.app[STORE_KEY].versions:
        return _not_found(f"Secret [projects/{project}/secrets/{secret}]")
    return web.json_response(_secret_json(project, secret))


async def list_secrets(request: web.Request) -> web.Response:
    project = request.match_info["project"]
    names = sorted(s for p, s in list(request.app[STORE_KEY].versions) if p == project)
    return web.json_response({"secrets": [_secret_json(project, s) for s in names], "totalSize": len(names)})


async def _unknown(request: web.Request) -> web.Response:
    return web.json_response(error_body("NOT_FOUND", f"The sandbox's Secret Manager does not serve "
                                                     f"{request.method} {request.path}.", 404), status=404)


def secretmanager_app(store: SecretStore) -> web.Application:
    app = web.Application()
    app[STORE_KEY] = store
    base = "/v1/projects/{project}/secrets"
    app.router.add_get(base + "/{secret}/versions/{version:[^/:]+}:access", access_version)
    app.router.add_get(base + "/{secret}", get_secret)
    app.router.add_get(base, list_secrets)
    app.router.add_route("*", "/{tail:.*}", _unknown)
    return app

