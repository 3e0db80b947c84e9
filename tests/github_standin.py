"""A local stand-in for the GitHub REST endpoints that PyGithub calls to configure deployment environments.

It serves exactly: get a repository, get a commit (of those in `commits`), get/put an environment (required
reviewers as protection rules), the environment's secrets public key, list/put environment secrets,
list/create/update environment variables, and the user and team look-ups that reviewers need. It checks the
token and the payloads' shapes as GitHub does, keeps its own libsodium key pair (so a test can decrypt what was
stored), and logs every request.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from nacl.public import PrivateKey, SealedBox

from sandbox.serving import LoopThread, ServedApp

TOKEN = "ghp_standin0token0for0tests0only000000000"  # accepted by the stand-in only; not a credential
USERS = {"alice": 1001, "bob": 1002}
TEAMS = {("acme", "operations"): 2001}
_REPO = "/repos/{owner}/{repo}"
_ENV = _REPO + "/environments/{env}"


@dataclass
class Logged:
    method: str
    path: str
    body: Any


@dataclass
class StandInEnvironment:
    reviewers: list[dict[str, Any]] = field(default_factory=list)  # [{"type": "User", "id": 1001}]
    variables: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (key_id, encrypted_value)


class GitHubStandIn:
    """One repository, owner/name, with its environments."""

    def __init__(self, repo: str = "acme/agent-network") -> None:
        self.repo = repo
        self.private_key = PrivateKey.generate()
        self.key_id = "568250167242549743"
        self.environments: dict[str, StandInEnvironment] = {}
        self.commits: dict[str, str] = {}  # sha -> committer date (ISO 8601, as GitHub writes it)
        self.log: list[Logged] = []
        self._ids = itertools.count(5000)
        self._loop: LoopThread | None = None
        self._served: ServedApp | None = None
        self.url = ""

    # -- what tests read -------------------------------------------------------------------------

    def writes(self) -> list[Logged]:
        return [entry for entry in self.log if entry.method != "GET"]

    def decrypt(self, env: str, name: str) -> str:
        _, encrypted = self.environments[env].secrets[name]
        return SealedBox(self.private_key).decrypt(base64.b64decode(encrypted)).decode()

    # -- serving ---------------------------------------------------------------------------------

    def start(self) -> GitHubStandIn:
        self._loop = LoopThread(name="github-standin")
        self._served = ServedApp(self._loop, self._app())
        self.url = self._served.url
        return self

    def stop(self) -> None:
        if self._served is not None and self._loop is not None:
            self._served.stop()
            self._loop.stop()
        self._served = self._loop = None

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth_and_log])
        r = app.router
        r.add_get(_REPO, self._get_repo)
        r.add_get(_REPO + "/commits/{ref}", self._get_commit)
        r.add_get(_ENV, self._get_environment)
        r.add_put(_ENV, self._put_environment)
        r.add_get(_ENV + "/secrets/public-key", self._public_key)
        r.add_get(_ENV + "/secrets", self._list_secrets)
        r.add_put(_ENV + "/secrets/{name}", self._put_secret)
        r.add_get(_ENV + "/variables", self._list_variables)
        r.add_post(_ENV + "/variables", self._create_variable)
        r.add_get(_ENV + "/variables/{name}", self._get_variable)
        r.add_patch(_ENV + "/variables/{name}", self._update_variable)
        r.add_get("/users/{login}", self._get_user)
        r.add_get("/orgs/{org}", self._get_org)
        r.add_get("/orgs/{org}/teams/{slug}", self._get_team)
        return app

    @web.middleware
    async def _auth_and_log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.log.append(Logged(request.method, request.path, body))
        if request.headers.get("Authorization") not in (f"token {TOKEN}", f"Bearer {TOKEN}"):
            return web.json_response({"message": "Bad credentials"}, status=401)
        if request.path.startswith("/repos/") and not request.path.startswith(f"/repos/{self.repo}"):
            return web.json_response({"message": "Not Found"}, status=404)
        return await handler(request)

    def _env_json(self, name: str) -> dict[str, Any]:
        env = self.environments[name]
        rules: list[dict[str, Any]] = []
        if env.reviewers:
            reviewers = [self._reviewer_json(r) for r in env.reviewers]
            rules.append({"id": 1, "node_id": "R1", "type": "required_reviewers", "prevent_self_review": False,
                          "reviewers": reviewers})
        base = f"{self.url}/repos/{self.repo}"
        return {"id": 100, "node_id": "E1", "name": name, "url": f"{base}/environments/{name}",
                "html_url": f"https://github.com/{self.repo}/deployments/activity_log?environments_filter={name}",
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                "protection_rules": rules, "deployment_branch_policy": None}

    def _reviewer_json(self, reviewer: dict[str, Any]) -> dict[str, Any]:
        if reviewer["type"] == "User":
            login = next(k for k, v in USERS.items() if v == reviewer["id"])
            return {"type": "User", "reviewer": {"login": login, "id": reviewer["id"], "type": "User"}}
        (_org, slug) = next(k for k, v in TEAMS.items() if v == reviewer["id"])
        return {"type": "Team", "reviewer": {"id": reviewer["id"], "slug": slug, "name": slug}}

    async def _get_repo(self, request: web.Request) -> web.Response:
        owner, name = self.repo.split("/")
        return web.json_response({"id": 42, "name": name, "full_name": self.repo,
                                  "url": f"{self.url}/repos/{self.repo}", "owner": {"login": owner, "id": 7}})

    async def _get_commit(self, request: web.Request) -> web.Response:
        sha = request.match_info["ref"]
        if sha not in self.commits:  # GitHub answers an unknown SHA with 422, not 404
            return web.json_response({"message": f"No commit found for SHA: {sha}"}, status=422)
        who = {"name": "Alice", "email": "alice@example.com", "date": self.commits[sha]}
        return web.json_response({"sha": sha, "url": f"{self.url}/repos/{self.repo}/commits/{sha}",
                                  "commit": {"author": who, "committer": who, "message": "a change",
                                             "tree": {"sha": "0" * 40}}, "parents": [], "files": []})

    async def _get_environment(self, request: web.Request) -> web.Response:
        name = request.match_info["env"]
        if name not in self.environments:
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response(self._env_json(name))

    async def _put_environment(self, request: web.Request) -> web.Response:
        body = await request.json()
        reviewers = body.get("reviewers") or []
        known = set(USERS.values()) | set(TEAMS.values())
        if any(set(r) != {"type", "id"} or r["type"] not in ("User", "Team") or r["id"] not in known
               for r in reviewers):
            return web.json_response({"message": "Validation Failed"}, status=422)
        env = self.environments.setdefault(request.match_info["env"], StandInEnvironment())
        env.reviewers = list(reviewers)
        return web.json_response(self._env_json(request.match_info["env"]))

    def _environment(self, request: web.Request) -> StandInEnvironment | None:
        return self.environments.get(request.match_info["env"])

    async def _public_key(self, request: web.Request) -> web.Response:
        if self._environment(request) is None:
            return web.json_response({"message": "Not Found"}, status=404)
        key = base64.b64encode(bytes(self.private_key.public_key)).decode()
        return web.json_response({"key_id": self.key_id, "key": key})

    async def _list_secrets(self, request: web.Request) -> web.Response:
        env = self._environment(request)
        if env is None:
            return web.json_response({"message": "Not Found"}, status=404)
        listed = [{"name": n, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
                  for n in sorted(env.secrets)]
        return web.json_response({"total_count": len(listed), "secrets": listed})

    async def _put_secret(self, request: web.Request) -> web.Response:
        env = self._environment(request)
        body = await request.json()
        if env is None:
            return web.json_response({"message": "Not Found"}, status=404)
        if set(body) != {"encrypted_value", "key_id"} or body["key_id"] != self.key_id:
            return web.json_response({"message": "Validation Failed"}, status=422)
        name = request.match_info["name"]
        existed = name in env.secrets
        env.secrets[name] = (body["key_id"], body["encrypted_value"])
        return web.Response(status=204) if existed else web.json_response({}, status=201)

    async def _list_variables(self, request: web.Request) -> web.Response:
        env = self._environment(request)
        if env is None:
            return web.json_response({"message": "Not Found"}, status=404)
        listed = [{"name": n, "value": v, "created_at": "2026-01-01T00:00:00Z",
                   "updated_at": "2026-01-01T00:00:00Z"} for n, v in sorted(env.variables.items())]
        return web.json_response({"total_count": len(listed), "variables": listed})

    async def _create_variable(self, request: web.Request) -> web.Response:
        env = self._environment(request)
        body = await request.json()
        if env is None:
            return web.json_response({"message": "Not Found"}, status=404)
        if set(body) != {"name", "value"} or body["name"] in env.variables:
            return web.json_response({"message": "Validation Failed"}, status=422)
        env.variables[body["name"]] = body["value"]
        return web.json_response({}, status=201)

    async def _get_variable(self, request: web.Request) -> web.Response:
        env = self._environment(request)
        name = request.match_info["name"]
        if env is None or name not in env.variables:
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response({"name": name, "value": env.variables[name]})

    async def _update_variable(self, request: web.Request) -> web.Response:
        env = self._environment(request)
        body = await request.json()
        name = request.match_info["name"]
        if env is None or name not in env.variables:
            return web.json_response({"message": "Not Found"}, status=404)
        if not set(body) <= {"name", "value"} or body.get("name", name) != name:
            return web.json_response({"message": "Validation Failed"}, status=422)
        env.variables[name] = body["value"]
        return web.Response(status=204)

    async def _get_user(self, request: web.Request) -> web.Response:
        login = request.match_info["login"]
        if login not in USERS:
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response({"login": login, "id": USERS[login], "type": "User",
                                  "url": f"{self.url}/users/{login}"})

    async def _get_org(self, request: web.Request) -> web.Response:
        org = request.match_info["org"]
        if not any(o == org for o, _ in TEAMS):
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response({"login": org, "id": 9, "url": f"{self.url}/orgs/{org}"})

    async def _get_team(self, request: web.Request) -> web.Response:
        key = (request.match_info["org"], request.match_info["slug"])
        if key not in TEAMS:
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response({"id": TEAMS[key], "slug": key[1], "name": key[1],
                                  "url": f"{self.url}/teams/{TEAMS[key]}"})
