"""Project environment variables on the sandbox's Vercel API: create-or-update (upsert) and list.

Routes as Vercel's REST API has them: `POST /v10/projects/{idOrName}/env?upsert=true` with
`{key, value, type, target}` and `GET /v9/projects/{idOrName}/env`. Added to the Vercel app before it
is served, so its auth and fault middlewares apply. Every write is logged for dry-run proofs.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from aiohttp import web

ENV_KEY = web.AppKey("vercel_env", object)


class VercelEnvStore:
    """Variables by project name: key -> {"value", "type", "target"}; `writes` logs every POST."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.projects: dict[str, dict[str, dict[str, Any]]] = {}
        self.writes: list[dict[str, Any]] = []

    def value(self, project: str, key: str) -> str | None:
        with self.lock:
            found = self.projects.get(project, {}).get(key)
            return None if found is None else str(found["value"])

    def variables(self, project: str) -> dict[str, str]:
        """Every variable of a project by key (what a build of it is given)."""
        with self.lock:
            return {key: str(found["value"]) for key, found in self.projects.get(project, {}).items()}

    def seed(self, project: str, key: str, value: str) -> None:
        """Set a variable the project's Terraform would have set, unless it is set already."""
        with self.lock:
            self.projects.setdefault(project, {}).setdefault(key, {"value": value, "type": "plain",
                                                                   "target": ["production", "preview"]})

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return json.loads(json.dumps(self.projects))

    def load(self, data: dict[str, Any] | None) -> None:
        with self.lock:
            self.projects = dict(data or {})


def _project(request: web.Request) -> str:
    return request.match_info["idOrName"]


async def upsert_env(request: web.Request) -> web.Response:
    store: VercelEnvStore = request.app[ENV_KEY]  # type: ignore[assignment]
    try:
        body = json.loads(await request.text() or "null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("key") or "value" not in body:
        return web.json_response({"error": {"code": "bad_request", "message": "key and value are required."}},
                                 status=400)
    project, key = _project(request), str(body["key"])
    with store.lock:
        envs = store.projects.setdefault(project, {})
        if key in envs and request.query.get("upsert") != "true":
            return web.json_response({"error": {"code": "ENV_ALREADY_EXISTS",
                                                "message": f"A variable named {key} already exists."}}, status=400)
        envs[key] = {"value": str(body["value"]), "type": body.get("type", "plain"),
                     "target": list(body.get("target") or ["production"])}
        store.writes.append({"project": project, "key": key, "value": str(body["value"])})
    return web.json_response({"created": {"key": key, **envs[key]}}, status=201)


async def list_env(request: web.Request) -> web.Response:
    store: VercelEnvStore = request.app[ENV_KEY]  # type: ignore[assignment]
    with store.lock:
        envs = store.projects.get(_project(request), {})
        return web.json_response({"envs": [{"key": k, **v} for k, v in sorted(envs.items())]})


def add_env_routes(app: web.Application, store: VercelEnvStore) -> None:
    app[ENV_KEY] = store
    app.router.add_post("/v10/projects/{idOrName}/env", upsert_env)
    app.router.add_get("/v9/projects/{idOrName}/env", list_env)
