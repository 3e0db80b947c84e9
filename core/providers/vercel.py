"""Vercel adapter: the frontend's deployments over Vercel's REST API with httpx, behind `FrontendProvider`.

The same code talks to api.vercel.com and to the sandbox; only `base_url` and the token differ. The
token is resolved by the caller, sent only in the Authorization header, and never logged or put in an
error message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from core.errors import OperationFailed
from core.model.frontend import VercelDeployment
from core.ports import FrontendProvider
from core.providers.http_retry import DEFAULT_POLICY, RequestRefused, RetryPolicy, send

T = TypeVar("T")

__all__ = ["AliasRequest", "FrontendProvider", "VercelAdapter", "VercelDeployment", "VercelProject",
           "parse_deployment"]

VERCEL_API = "https://api.vercel.com"
FAILED_STATES = frozenset({"ERROR", "CANCELED"})
PROMOTE_TIMEOUT_S = 180.0  # `vercel promote` waits 3 minutes for its own promotion by default


@dataclass(frozen=True)
class AliasRequest:
    """Vercel's record of the project's last promote or rollback (`lastAliasRequest`)."""

    type: str  # "promote" or "rollback"
    from_deployment_id: str
    to_deployment_id: str
    job_status: str  # pending, in-progress, succeeded, failed or skipped
    requested_at: datetime


@dataclass(frozen=True)
class VercelProject:
    id: str
    name: str
    repo_id: str | None
    production: VercelDeployment | None
    last_alias_request: AliasRequest | None
    # After an instant rollback Vercel stops pointing new production builds at the domains until a promote.
    rolled_back: bool


def _when(ms: Any) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def parse_deployment(body: dict[str, Any], project_id: str | None = None) -> VercelDeployment:
    """A deployment from any of Vercel's shapes (v13 `id`, v6 list `uid`, a project's `targets`)."""
    meta = body.get("meta") or {}
    creator = body.get("creator") or {}
    return VercelDeployment(
        id=body.get("id") or body["uid"], url=body["url"], name=body["name"],
        project_id=body.get("projectId") or project_id or "",
        state=body.get("readyState") or body["state"], target=body.get("target"),
        created_at=_when(body.get("createdAt") or body["created"]),
        git_ref=meta.get("githubCommitRef"), git_sha=meta.get("githubCommitSha"),
        aliases=tuple(body.get("alias") or ()), ready_substate=body.get("readySubstate"),
        error_message=body.get("errorMessage"), creator=creator.get("username"),
    )


def _alias_statuses(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(alias, status) of each promote alias: Vercel's OpenAPI gives `alias` as a string, its CLI reads an object."""
    out = []
    for raw in body.get("aliases") or []:
        alias = raw["alias"]
        out.append(((str(alias["alias"]) if isinstance(alias, dict) else str(alias)), str(raw["status"])))
    return out


def _parse_alias_request(raw: dict[str, Any] | None) -> AliasRequest | None:
    if not raw:
        return None
    return AliasRequest(type=raw["type"], from_deployment_id=raw["fromDeploymentId"],
                        to_deployment_id=raw["toDeploymentId"], job_status=raw["jobStatus"],
                        requested_at=_when(raw["requestedAt"]))


class VercelAdapter:
    """`FrontendProvider` over Vercel's REST API; every call goes through the shared retry policy."""

    def __init__(self, client: httpx.Client, token: str, team_id: str | None = None, *,
                 base_url: str = VERCEL_API, retry: RetryPolicy = DEFAULT_POLICY,
                 clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        self._client = client
        self._token = token
        self._team_id = team_id
        self._base = base_url.rstrip("/")
        self._retry = retry
        # Waiting for a build uses the same clock as the retries unless told otherwise.
        self._clock = clock or retry.clock
        self._sleep = sleep or retry.sleep
        self._projects: dict[str, VercelProject] = {}

    def __repr__(self) -> str:
        return f"VercelAdapter(base_url={self._base!r}, team_id={self._team_id!r})"

    def _call(self, method: str, path: str, operation: str, *, idempotent: bool = True,
              params: dict[str, str | int] | None = None, json: Any = None) -> httpx.Response:
        query: dict[str, str | int] = dict(params or {})
        if self._team_id:
            query["teamId"] = self._team_id
        return send(self._client, method, f"{self._base}{path}", operation=f"Vercel: {operation}",
                    policy=self._retry, idempotent=idempotent, secrets=(self._token,),
                    headers={"Authorization": f"Bearer {self._token}"}, params=query, json=json)

    @staticmethod
    def _parse(operation: str, parse: Callable[[], T]) -> T:
        try:
            return parse()
        except (KeyError, TypeError, ValueError) as exc:
            raise OperationFailed(f"Vercel: {operation} returned an answer the console does not "
                                  f"understand (missing or bad field {exc})") from exc

    # -- projects ----------------------------------------------------------------------------------

    def get_project(self, project: str) -> VercelProject:
        """The project (by id or name) with its current production deployment."""
        operation = f"reading project {project}"
        body = self._call("GET", f"/v9/projects/{project}", operation).json()

        def parse() -> VercelProject:
            production = (body.get("targets") or {}).get("production")
            link = body.get("link") or {}
            return VercelProject(
                id=body["id"], name=body["name"],
                repo_id=str(link["repoId"]) if link.get("repoId") else None,
                production=parse_deployment(production, body["id"]) if production else None,
                last_alias_request=_parse_alias_request(body.get("lastAliasRequest")),
                rolled_back=bool(body.get("lastRollbackTarget")),
            )

        found: VercelProject = self._parse(operation, parse)
        self._projects[project] = found
        return found

    def _known_project(self, project: str) -> VercelProject:
        """Id, name and repository of a project: they never change, so one read is enough."""
        return self._projects.get(project) or self.get_project(project)

    def production_deployment(self, project: str) -> VercelDeployment | None:
        return self.get_project(project).production

    # -- deployments -------------------------------------------------------------------------------

    def list_deployments(self, project: str, limit: int = 20, target: str | None = None,
                         rollback_candidate: bool | None = None) -> list[VercelDeployment]:
        """The project's newest deployments first; `target` is "production" or "preview"; `rollback_candidate`
        keeps only those Vercel would (True) or would not (False) roll back to."""
        operation = f"listing deployments of project {project}"
        params: dict[str, str | int] = {"projectId": project, "limit": limit}
        if target:
            params["target"] = target
        if rollback_candidate is not None:
            params["rollbackCandidate"] = "true" if rollback_candidate else "false"
        body = self._call("GET", "/v6/deployments", operation, params=params).json()
        return self._parse(operation, lambda: [parse_deployment(d) for d in body["deployments"]])

    def create_deployment(self, project: str, git_ref: str, sha: str | None = None,
                          target: str | None = None) -> VercelDeployment:
        """Build `git_ref` (at `sha`) of the project's linked repository.

        A production build is created staged (`autoAssignCustomDomains: false`): the engine decides
        when it takes the production domains, by promoting it.
        """
        known = self._known_project(project)
        if known.repo_id is None:
            raise OperationFailed(f"Vercel: project {project} is not linked to a Git repository, so the "
                                  f"console cannot deploy {git_ref} to it")
        git_source: dict[str, Any] = {"type": "github", "ref": git_ref, "repoId": known.repo_id}
        if sha:
            git_source["sha"] = sha
        body: dict[str, Any] = {"name": known.name, "project": known.id, "gitSource": git_source}
        if target:
            body["target"] = target
        if target == "production":
            body["autoAssignCustomDomains"] = False
        operation = f"creating a deployment of project {project} from {git_ref}"
        # Not idempotent: a POST that may have reached Vercel is not sent again (it would build twice).
        answer = self._call("POST", "/v13/deployments", operation, idempotent=False, json=body).json()
        return self._parse(operation, lambda: parse_deployment(answer))

    def get_deployment(self, deployment_id: str) -> VercelDeployment:
        operation = f"reading deployment {deployment_id}"
        body = self._call("GET", f"/v13/deployments/{deployment_id}", operation).json()
        return self._parse(operation, lambda: parse_deployment(body))

    def wait_ready(self, deployment_id: str, timeout: float, poll: float = 5.0) -> VercelDeployment:
        """Poll until the deployment is READY; a failed build or the timeout is an `OperationFailed`."""
        deadline = self._clock() + timeout
        while True:
            dep = self.get_deployment(deployment_id)
            if dep.ready:
                return dep
            if dep.state in FAILED_STATES:
                what = "was canceled" if dep.state == "CANCELED" else "failed to build"
                reason = f": {dep.error_message}" if dep.error_message else ""
                raise OperationFailed(
                    f"Vercel: deployment {deployment_id} of project {dep.name} {what}{reason}")
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise OperationFailed(f"Vercel: deployment {deployment_id} of project {dep.name} did not "
                                      f"become ready within {timeout:g} s (it is still {dep.state})")
            self._sleep(min(poll, remaining))

    def promote(self, project: str, deployment_id: str, timeout: float = PROMOTE_TIMEOUT_S,
                poll: float = 2.0) -> bool:
        """Point the production domains at a READY production deployment, and return (True) once they point there.

        Vercel answers 201 when the domains moved within the request and 202 while it is still aliasing; then
        the promote's aliases are polled (GET /v1/projects/{projectId}/promote/aliases, as `vercel promote`
        follows its own request) until every one is completed. An alias that failed, or aliasing still going
        on after `timeout` seconds, is an OperationFailed naming the aliases.
        """
        known = self._known_project(project)
        operation = f"promoting deployment {deployment_id} of project {known.name}"
        answer = self._call("POST", f"/v10/projects/{known.id}/promote/{deployment_id}", operation)
        if answer.status_code != 202:
            return True
        deadline = self._clock() + timeout
        while True:
            listed = self._call("GET", f"/v1/projects/{known.id}/promote/aliases", operation).json()
            aliases = self._parse(operation, functools.partial(_alias_statuses, listed))
            failed = sorted(name for name, status in aliases if status == "failed")
            if failed:
                raise OperationFailed(f"Vercel: {operation} failed: Vercel could not point {', '.join(failed)} "
                                      "at it")
            if aliases and all(status == "completed" for _, status in aliases):
                return True
            remaining = deadline - self._clock()
            if remaining <= 0:
                waiting = ", ".join(f"{name} {status}" for name, status in sorted(aliases)) or "no alias listed yet"
                raise OperationFailed(f"Vercel: {operation} was still aliasing after {timeout:g} s ({waiting})")
            self._sleep(min(poll, remaining))

    def rollback(self, project: str, deployment_id: str, timeout: float = PROMOTE_TIMEOUT_S,
                 poll: float = 2.0) -> bool:
        """Instant rollback: point the production domains back at a deployment that served before, and return (True)
        once they point there.

        Vercel moves the domains after answering; the project's `lastAliasRequest` says how far it got, and it is
        polled until its job succeeded, as `vercel rollback` waits for its own request (3 minutes by default,
        https://vercel.com/docs/cli/rollback). A job that failed, or one still running after `timeout` seconds, is
        an OperationFailed. Asking again for a rollback that already happened (e.g. a retry after a lost answer) is
        a success, not an error.
        """
        known = self._known_project(project)
        operation = f"rolling back project {known.name} to deployment {deployment_id}"
        try:
            self._call("POST", f"/v1/projects/{known.id}/rollback/{deployment_id}", operation)
        except RequestRefused as refused:
            current = self.production_deployment(project) if refused.status == 409 else None
            if current is not None and current.id == deployment_id:
                return True
            raise
        deadline = self._clock() + timeout
        while True:
            job = self.get_project(project).last_alias_request
            if job is None or job.to_deployment_id != deployment_id or job.job_status in ("succeeded", "skipped"):
                return True
            if job.job_status == "failed":
                raise OperationFailed(f"Vercel: {operation} failed: Vercel could not point the production domains "
                                      "at it")
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise OperationFailed(f"Vercel: {operation} was still {job.job_status} after {timeout:g} s")
            self._sleep(min(poll, remaining))
