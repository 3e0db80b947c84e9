"""State of the sandbox's Vercel: projects, deployments, builds and alias jobs, advanced on the sandbox clock.

Nothing here runs on a timer. Every read first replays the transitions whose time has come (a build
leaving QUEUED, finishing, an alias job completing) in time order, so a state driven by a clock that
jumps forward in a test, or reloaded from a file hours later, ends up exactly where Vercel would be.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
ALIAS_SUFFIX = ".vercel.app"
_ID_ALPHABET = string.ascii_letters + string.digits
_URL_ALPHABET = string.ascii_lowercase + string.digits
TERMINAL_STATES = frozenset({"READY", "ERROR", "CANCELED"})


class VercelApiError(Exception):
    """An answer the sandbox refuses with, rendered by the app as Vercel's `{"error": {code, message}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class HttpFaults:
    """A seeded share of requests answered with an error status instead of being served.

    Shared by the Vercel app and the Slack/PagerDuty sinks. `retry_after` (seconds) is sent with 429s.
    """

    share: float = 0.0
    statuses: tuple[int, ...] = (429, 500, 503)
    seed: int = 0
    retry_after: float = 1.0
    latency_s: float = 0.0  # added before every answer (real seconds), to exercise client timeouts
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"fault share must be between 0 and 1, got {self.share}")
        if self.latency_s < 0:
            raise ValueError(f"added latency must be zero or positive, got {self.latency_s}")
        self.statuses = tuple(self.statuses)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> int | None:
        """The status to fail this request with, or None to serve it."""
        if self.share <= 0.0 or not self.statuses:
            return None
        with self._lock:
            if self._rng.random() >= self.share:
                return None
            return self._rng.choice(self.statuses)

    def to_dict(self) -> dict[str, Any]:
        return {"share": self.share, "statuses": list(self.statuses), "seed": self.seed,
                "retry_after": self.retry_after, "latency_s": self.latency_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HttpFaults:
        return cls(share=data["share"], statuses=tuple(data["statuses"]), seed=data["seed"],
                   retry_after=data["retry_after"], latency_s=data.get("latency_s", 0.0))


@dataclass
class Timings:
    """How long things take on the sandbox clock, in seconds."""

    queued_seconds: float = 2.0
    build_seconds: float = 40.0
    # 0 completes promote/rollback within the request (HTTP 201); more answers 202 and finishes later. Vercel moves
    # the domains asynchronously: a promote may answer 202 with the aliases still "pending"/"in-progress" (its OpenAPI,
    # `listPromoteAliases`; the CLI polls them, waiting up to 3 minutes by default: https://vercel.com/docs/cli/promote),
    # and the move itself is what Vercel sells as instant (https://vercel.com/docs/instant-rollback), so seconds, not
    # minutes. 2 s makes the 202 path the one every sandbox promote and rollback takes, while a test on a frozen clock
    # advances it in one poll (the adapter sleeps on the sandbox's clock).
    alias_seconds: float = 2.0


@dataclass
class Deployment:
    id: str
    name: str
    project_id: str
    url: str
    target: str | None
    created_at: int
    ready_state: str
    git_ref: str
    git_sha: str
    repo_id: str
    creator_uid: str
    creator_username: str
    auto_assign: bool
    will_fail: bool
    building_at: int | None = None
    ready: int | None = None
    aliases: list[str] = field(default_factory=list)
    alias_assigned_at: int | None = None
    served_production: bool = False
    error_message: str | None = None
    # The project's environment variables when the build started: Next.js inlines NEXT_PUBLIC_ ones (vercel_pages).
    build_env: dict[str, str] = field(default_factory=dict)
    page_fault: str | None = None  # what breaks this build's pages (vercel_pages.PAGE_FAULTS), baked in


@dataclass
class Project:
    id: str
    name: str
    created_at: int
    updated_at: int
    repo_id: str
    auto_assign_custom_domains: bool = True
    production_deployment_id: str | None = None
    fail_builds: bool = False
    page_fault: str | None = None  # baked into the builds made while set (vercel_pages.PAGE_FAULTS)
    last_alias_request: dict[str, Any] | None = None
    last_rollback_target: dict[str, Any] | None = None

    @property
    def production_alias(self) -> str:
        return f"{self.name}{ALIAS_SUFFIX}"


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(28))


def _fake_sha(ref: str, salt: str) -> str:
    return hashlib.sha1(f"{ref}:{salt}".encode()).hexdigest()


class VercelState:
    """Projects and deployments of the sandbox's Vercel; thread-safe, persisted with to_dict/from_dict."""

    def __init__(self, clock: Callable[[], float] = time.time, timings: Timings | None = None,
                 faults: HttpFaults | None = None, team_id: str | None = None) -> None:
        self.clock = clock
        self.timings = timings or Timings()
        self.faults = faults or HttpFaults()
        # When set, requests must carry this teamId, as a team-scoped Vercel token would require.
        self.team_id = team_id
        self.plan = "pro"  # "hobby" may roll back only to the previous production deployment (vercel_rollback)
        self.lock = threading.RLock()
        # A project's environment variables by project name (the cloud's VercelEnvStore), read when a build starts.
        self.env_source: Callable[[str], dict[str, str]] = lambda _project: {}
        self.projects: dict[str, Project] = {}
        self.deployments: dict[str, Deployment] = {}

    # -- time --------------------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def advance(self) -> None:
        """Apply, in time order, every transition whose time has come on the clock."""
        with self.lock:
            now = self.now_ms()
            while True:
                due = [(at, order, action) for at, order, action in self._pending() if at <= now]
                if not due:
                    return
                at, _, action = min(due, key=lambda item: (item[0], item[1]))
                action(at)

    def _pending(self) -> Iterable[tuple[int, int, Callable[[int], None]]]:
        queued_ms = int(self.timings.queued_seconds * 1000)
        build_ms = int(self.timings.build_seconds * 1000)
        alias_ms = int(self.timings.alias_seconds * 1000)
        for order, dep in enumerate(self.deployments.values()):
            if dep.ready_state == "QUEUED":
                yield dep.created_at + queued_ms, order, self._start_build(dep)
            elif dep.ready_state == "BUILDING" and dep.building_at is not None:
                yield dep.building_at + build_ms, order, self._finish_build(dep)
        for project in self.projects.values():
            job = project.last_alias_request
            if job and job["jobStatus"] == "in-progress":
                yield int(job["requestedAt"]) + alias_ms, -1, self._finish_alias_job(project)

    def _start_build(self, dep: Deployment) -> Callable[[int], None]:
        def apply(at: int) -> None:
            dep.ready_state = "BUILDING"
            dep.building_at = at
        return apply

    def _finish_build(self, dep: Deployment) -> Callable[[int], None]:
        def apply(at: int) -> None:
            dep.ready = at
            if dep.will_fail:
                dep.ready_state = "ERROR"
                dep.error_message = 'Command "npm run build" exited with 1'
                return
            dep.ready_state = "READY"
            project = self.projects[dep.project_id]
            # Vercel points the production domains at a new production build unless the build was
            # staged, the project turned auto-assignment off, or a rollback is in effect.
            if (dep.target == "production" and dep.auto_assign and project.auto_assign_custom_domains
                    and project.last_rollback_target is None):
                self._point_production(project, dep, at)
        return apply

    def _finish_alias_job(self, project: Project) -> Callable[[int], None]:
        def apply(at: int) -> None:
            job = project.last_alias_request
            assert job is not None
            self._point_production(project, self.deployments[job["toDeploymentId"]], at)
            job["jobStatus"] = "succeeded"
            if project.last_rollback_target is not None and job["type"] == "rollback":
                project.last_rollback_target["jobStatus"] = "succeeded"
        return apply

    def _point_production(self, project: Project, dep: Deployment, at: int) -> None:
        alias = project.production_alias
        previous = self.deployments.get(project.production_deployment_id or "")
        if previous is not None and alias in previous.aliases:
            previous.aliases.remove(alias)
        dep.aliases.append(alias)
        dep.alias_assigned_at = at
        dep.served_production = True
        project.production_deployment_id = dep.id
        project.updated_at = at

    # -- reads -------------------------------------------------------------------------------------

    def project(self, id_or_name: str) -> Project:
        with self.lock:
            self.advance()
            found = self.projects.get(id_or_name) or next(
                (p for p in self.projects.values() if p.name == id_or_name), None)
            if found is None:
                raise VercelApiError(404, "not_found", f"Project {id_or_name!r} was not found.")
            return found

    def project_by_id(self, project_id: str) -> Project:
        """Promote and rollback address a project by id only, as Vercel's path parameter says."""
        with self.lock:
            if project_id not in self.projects:
                raise VercelApiError(404, "not_found", f"Project with id {project_id!r} was not found.")
            return self.projects[project_id]

    def deployment(self, id_or_url: str) -> Deployment:
        with self.lock:
            self.advance()
            key = id_or_url.removeprefix("https://").removeprefix("http://").rstrip("/")
            found = self.deployments.get(key) or next(
                (d for d in self.deployments.values() if d.url == key or key in d.aliases), None)
            if found is None:
                raise VercelApiError(404, "not_found", f"Deployment {id_or_url!r} was not found.")
            return found

    def list_deployments(self, project: str | None = None, target: str | None = None,
                         states: set[str] | None = None, limit: int = 20, until: int | None = None,
                         since: int | None = None) -> tuple[list[Deployment], bool]:
        """Newest first; returns the page and whether older deployments remain."""
        with self.lock:
            self.advance()
            project_id = self.project(project).id if project else None
            matching = [
                d for d in sorted(self.deployments.values(), key=lambda d: d.created_at, reverse=True)
                if (project_id is None or d.project_id == project_id)
                and (target is None or (d.target or "preview") == target)
                and (states is None or d.ready_state in states)
                and (until is None or d.created_at < until)
                and (since is None or d.created_at > since)
            ]
            return matching[:limit], len(matching) > limit

    # -- writes ------------------------------------------------------------------------------------

    def seed(self, projects: list[str]) -> None:
        """Create each project with a READY production deployment holding its production alias."""
        with self.lock:
            day_ago = self.now_ms() - 86_400_000
            for name in projects:
                if any(p.name == name for p in self.projects.values()):
                    continue
                project = Project(id=_new_id("prj_"), name=name, created_at=day_ago - 86_400_000,
                                  updated_at=day_ago, repo_id=str(100_000_000 + len(self.projects)))
                self.projects[project.id] = project
                dep = self._new_deployment(project, target="production", git_ref="main",
                                           git_sha=None, created_at=day_ago, auto_assign=True)
                dep.ready_state = "READY"
                dep.building_at = day_ago + 2_000
                dep.ready = day_ago + 42_000
                self._point_production(project, dep, dep.ready)

    def set_page_fault(self, project: str, fault: str | None, *, existing: bool = False) -> None:
        """Break the pages of new builds of a project (`existing`: of every build it has, too); None heals new ones."""
        from sandbox.vercel_pages import PAGE_FAULTS  # the pages define the faults they serve

        if fault is not None and fault not in PAGE_FAULTS:
            raise ValueError(f"unknown page fault {fault!r}; known: {', '.join(PAGE_FAULTS)}")
        with self.lock:
            found = self.project(project)
            found.page_fault = fault
            if existing:
                for dep in self.deployments.values():
                    if dep.project_id == found.id:
                        dep.page_fault = fault

    def set_fail_builds(self, project: str, fail: bool) -> None:
        """Make new builds of a project end in ERROR (a scenario's broken frontend)."""
        with self.lock:
            self.project(project).fail_builds = fail

    def create_deployment(self, *, name: str, project: str | None, target: str | None, git_ref: str,
                          git_sha: str | None, repo_id: str, auto_assign: bool = True) -> Deployment:
        with self.lock:
            self.advance()
            found = self.project(project or name)
            if repo_id != found.repo_id:
                raise VercelApiError(400, "incorrect_git_source_info",
                                     f"The repoId {repo_id!r} is not the repository linked to project "
                                     f"{found.name!r}.")
            dep = self._new_deployment(found, target=target, git_ref=git_ref, git_sha=git_sha,
                                       created_at=self.now_ms(), auto_assign=auto_assign)
            dep.will_fail = found.fail_builds
            dep.page_fault = found.page_fault
            return dep

    def _new_deployment(self, project: Project, *, target: str | None, git_ref: str,
                        git_sha: str | None, created_at: int, auto_assign: bool) -> Deployment:
        dep_id = _new_id("dpl_")
        suffix = "".join(secrets.choice(_URL_ALPHABET) for _ in range(9))
        dep = Deployment(
            id=dep_id, name=project.name, project_id=project.id,
            url=f"{project.name}-{suffix}-sandbox{ALIAS_SUFFIX}", target=target, created_at=created_at,
            ready_state="QUEUED", git_ref=git_ref, git_sha=git_sha or _fake_sha(git_ref, dep_id),
            repo_id=project.repo_id, creator_uid="usr_sandbox0operator000000000",
            creator_username="opsconsole",
            auto_assign=auto_assign, will_fail=False, build_env=dict(self.env_source(project.name)),
        )
        self.deployments[dep.id] = dep
        return dep

    def promote(self, project_id: str, deployment_id: str) -> bool:
        """Point the production domains at a READY production deployment; True if done already."""
        with self.lock:
            self.advance()
            project = self.project_by_id(project_id)
            dep = self._own_deployment(project, deployment_id)
            if dep.ready_state != "READY":
                raise VercelApiError(400, "deployment_not_ready",
                                     f"Deployment {dep.id} is {dep.ready_state}, only READY deployments "
                                     f"can be promoted.")
            if dep.target != "production":
                raise VercelApiError(400, "invalid_deployment_target",
                                     f"Deployment {dep.id} is a preview build; promoting it needs a new "
                                     f"production deployment.")
            done = self._alias_job(project, dep, "promote")
            # Promoting undoes a rollback: new production builds are auto-assigned again.
            project.last_rollback_target = None
            return done

    def rollback(self, project_id: str, deployment_id: str, description: str | None = None) -> bool:
        """Point the production domains back at a deployment that served production before."""
        with self.lock:
            self.advance()
            project = self.project_by_id(project_id)
            dep = self._own_deployment(project, deployment_id)
            from sandbox.vercel_rollback import rollback_refusal  # the rules import this module's records

            refusal = rollback_refusal(self, project, dep)
            if refusal is not None:
                raise refusal
            done = self._alias_job(project, dep, "rollback")
            project.last_rollback_target = {
                "fromDeploymentId": project.last_alias_request["fromDeploymentId"],  # type: ignore[index]
                "toDeploymentId": dep.id,
                "jobStatus": "succeeded" if done else "in-progress",
                "requestedAt": project.last_alias_request["requestedAt"],  # type: ignore[index]
                "description": description,
            }
            return done

    def _own_deployment(self, project: Project, deployment_id: str) -> Deployment:
        dep = self.deployments.get(deployment_id)
        if dep is None or dep.project_id != project.id:
            raise VercelApiError(404, "not_found",
                                 f"Deployment {deployment_id!r} was not found in project {project.name!r}.")
        return dep

    def _alias_job(self, project: Project, dep: Deployment, kind: str) -> bool:
        job = project.last_alias_request
        if job and job["jobStatus"] == "in-progress":
            raise VercelApiError(409, "alias_request_in_progress",
                                 f"A {job['type']} of project {project.name!r} is still in progress.")
        now = self.now_ms()
        project.last_alias_request = {
            "fromDeploymentId": project.production_deployment_id or "", "toDeploymentId": dep.id,
            "jobStatus": "in-progress", "requestedAt": now, "type": kind,
        }
        self.advance()
        return project.last_alias_request["jobStatus"] == "succeeded"

    # -- persistence -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": SCHEMA_VERSION,
                "team_id": self.team_id,
                "plan": self.plan,
                "timings": asdict(self.timings),
                "faults": self.faults.to_dict(),
                "projects": [asdict(p) for p in self.projects.values()],
                "deployments": [asdict(d) for d in self.deployments.values()],
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any], clock: Callable[[], float] = time.time) -> VercelState:
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"Vercel sandbox state has version {data.get('version')!r}, "
                             f"expected {SCHEMA_VERSION}")
        state = cls(clock=clock, timings=Timings(**data["timings"]),
                    faults=HttpFaults.from_dict(data["faults"]), team_id=data.get("team_id"))
        state.plan = data.get("plan", "pro")
        for raw in data["projects"]:
            project = Project(**raw)
            state.projects[project.id] = project
        for raw in data["deployments"]:
            dep = Deployment(**raw)
            state.deployments[dep.id] = dep
        return state
